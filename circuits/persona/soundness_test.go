package persona

import (
	"crypto/rand"
	"fmt"
	"math/big"
	"sync"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr/poseidon2"
	"github.com/consensys/gnark-crypto/ecc/bn254/twistededwards"
	"github.com/consensys/gnark/constraint"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/test"
	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/zk"
)

// Every constraint of the persona circuit has a witness here, forged on
// purpose, that breaks exactly that property and nothing else (the
// credential is re-signed whenever the forgery touches it, unless the
// signature is the property under test). Each forged witness must be
// refused three times: by Check (the wallet's early error, which must agree
// with the circuit), by gnark's test engine, and by the compiledCircuit R1CS's
// solver. Assign builds the assignment directly, bypassing Check.
//
// test.IsSolved runs the circuit with honest hints, so these tests show that
// the statement is enforced for every witness value an honest solver
// computes from; they do not replace the review of hint-constrained gadgets
// (those are gnark's: bits.ToBinary with its modulus check, api.Cmp,
// api.IsZero), which docs/circuits.md lists as an assumption.

// engineMu serializes gnark's test engine: test.IsSolved counts operations
// in package-level variables, written atomically but read without
// synchronization, so concurrent calls trip the race detector.
var engineMu sync.Mutex

func engineSolved(circuit, assignment frontend.Circuit) error {
	engineMu.Lock()
	defer engineMu.Unlock()
	return test.IsSolved(circuit, assignment, ecc.BN254.ScalarField())
}

var compiledCircuit = sync.OnceValues(func() (constraint.ConstraintSystem, error) {
	return zk.Compile(&Circuit{})
})

// solveBoth reports whether the assignment satisfies the circuit, by the test
// engine and by the R1CS solver; the two must agree.
func solveBoth(t *testing.T, w *Circuit) error {
	t.Helper()
	engine := engineSolved(&Circuit{}, w)
	ccs, err := compiledCircuit()
	require.NoError(t, err)
	full, err := frontend.NewWitness(w, ecc.BN254.ScalarField())
	require.NoError(t, err)
	r1cs := ccs.IsSolved(full)
	require.Equal(t, engine == nil, r1cs == nil, "test engine (%v) and R1CS solver (%v) disagree", engine, r1cs)
	return engine
}

// assignNoPanic calls Assign, turning a panic into an error: Assign is documented
// to fail, not panic, on malformed input.
func assignNoPanic(pub *Public, priv *Private) (w *Circuit, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("Assign panicked: %v", r)
		}
	}()
	return Assign(pub, priv)
}

// requireRefused asserts that Check refuses the statement with want (and
// a message containing msg), and that the circuit is not solved.
func requireRefused(t *testing.T, pub *Public, priv *Private, want error, msg string) {
	t.Helper()
	err := Check(pub, priv)
	require.ErrorIs(t, err, want, "Check must refuse")
	require.ErrorContains(t, err, msg, "Check must refuse for the property under test")
	require.Error(t, solveBoth(t, forceAssign(t, pub, priv, want)), "the circuit must not be solved")
}

// forceAssign returns the assignment of a statement Check refuses. Assign
// must build it for a false statement (ErrStatement). For a malformed one
// (ErrShape) Assign may refuse; then the witness is built for the statement
// with the malformed predicates emptied, and the malformed public inputs
// are put back, as a malicious prover would.
func forceAssign(t *testing.T, pub *Public, priv *Private, want error) *Circuit {
	t.Helper()
	w, err := assignNoPanic(pub, priv)
	if err == nil {
		return w
	}
	require.ErrorIs(t, want, ErrShape, "Assign must build a witness for a well-formed statement: %v", err)
	require.ErrorIs(t, err, ErrShape)
	clean := *pub
	for i, q := range clean.Predicates {
		if q.Slot < 0 || q.Slot > NumAttrs || q.Op >= numOps || q.Op == OpIn && len(q.Set) > 1<<SetDepth {
			clean.Predicates[i] = Predicate{}
		}
	}
	for i, d := range clean.Disclosures {
		if d.Slot < 0 || d.Slot > NumAttrs {
			clean.Disclosures[i] = Disclosure{}
		}
	}
	w, err = assignNoPanic(&clean, priv)
	require.NoError(t, err)
	pw := PublicAssignment(pub)
	w.RegistryRoot, w.RevocationRoot, w.Scope, w.Pseudonym = pw.RegistryRoot, pw.RevocationRoot, pw.Scope, pw.Pseudonym
	w.Now, w.MinGrade, w.HolderBinding, w.Nonce = pw.Now, pw.MinGrade, pw.HolderBinding, pw.Nonce
	w.Predicates, w.Disclosures = pw.Predicates, pw.Disclosures
	return w
}

// requireAccepted asserts that both Check and the circuit accept.
func requireAccepted(t *testing.T, pub *Public, priv *Private) {
	t.Helper()
	require.NoError(t, Check(pub, priv))
	w, err := assignNoPanic(pub, priv)
	require.NoError(t, err)
	require.NoError(t, solveBoth(t, w))
}

func randElement(t testing.TB) fr.Element {
	e, err := zk.RandomElement()
	require.NoError(t, err)
	return e
}

func feOne() fr.Element { return fr.NewElement(1) }

func addInt(a fr.Element, n int64) fr.Element {
	d := zk.Int64(n)
	a.Add(&a, &d)
	return a
}

func bigElem(t testing.TB, x *big.Int) fr.Element {
	x = new(big.Int).Mod(x, fr.Modulus())
	e, err := zk.Element(x)
	require.NoError(t, err)
	return e
}

var (
	two63      = new(big.Int).Lsh(big.NewInt(1), 63)
	maxInt64   = zk.Int64(1<<63 - 1)
	minInt64   = zk.Int64(-1 << 63)
	pMinus1    = zk.Int64(-1)
	fieldTwo63 = func() fr.Element { var e fr.Element; e.SetBigInt(two63); return e }() // 2^63 as a positive field element
)

func (f *fixture) attr(t testing.TB, name string) (int, fr.Element) {
	a, ok := zk.AttrByName(name)
	require.True(t, ok, name)
	return SlotOf(a.Index), f.priv.Credential.Attrs[a.Index]
}

// setAttr changes a signed attribute and re-signs.
func (f *fixture) setAttr(t testing.TB, name string, v fr.Element) int {
	a, ok := zk.AttrByName(name)
	require.True(t, ok, name)
	f.priv.Credential.Attrs[a.Index] = v
	f.resign(t)
	return SlotOf(a.Index)
}

// register replaces the registry by one holding another key's leaf and then
// leaf, and points the statement and the witness at leaf.
func (f *fixture) register(t testing.TB, leaf fr.Element) {
	reg := zk.NewTree(RegistryDepth)
	_, err := reg.Append(randElement(t))
	require.NoError(t, err)
	i, err := reg.Append(leaf)
	require.NoError(t, err)
	f.reg, f.regLeaf = reg, i
	f.pub.RegistryRoot = reg.Root()
	f.priv.Registry = reg.Path(i)
}

// useKey makes k the credential's signer and a registered provider with
// the given maximum grade and validity, and rebuilds the revocation witness
// for the new revocation entry.
func (f *fixture) useKey(t testing.TB, k *zk.PrivateKey, maxGrade uint64, validUntil int64) {
	f.key = k
	f.priv.ProviderKey = k.Public()
	f.priv.MaxGrade, f.priv.ValidUntil = maxGrade, validUntil
	f.register(t, zk.ProviderLeaf(k.Public(), maxGrade, validUntil))
	f.resign(t)
	f.proveAbsent(t)
}

func (f *fixture) revEntry() fr.Element {
	return zk.RevocationEntry(f.priv.ProviderKey, f.priv.Credential.RevNonce)
}

// proveAbsent rebuilds the revocation witness from f.rev.
func (f *fixture) proveAbsent(t testing.TB) {
	nm, err := f.rev.ProveAbsent(f.revEntry())
	require.NoError(t, err)
	f.priv.Revocation = nm
	f.pub.RevocationRoot = f.rev.Root()
}

// forgeS returns sig with S replaced by S + the curve's prime order l, the
// forgery of gnark's eddsa test: [S+l]G = [S]G, so only a range check on S
// refuses it.
func forgeS(sig []byte) []byte {
	order := twistededwards.GetEdwardsCurve().Order
	s := new(big.Int).SetBytes(sig[32:])
	s.Add(s, &order)
	out := append([]byte(nil), sig...)
	s.FillBytes(out[32:])
	return out
}

func newKey(t testing.TB) *zk.PrivateKey {
	k, err := zk.GenerateKey(nil)
	require.NoError(t, err)
	return k
}

// TestSoundness is the table of forged witnesses: one row per property.
func TestSoundness(t *testing.T) {
	cases := []struct {
		name  string
		forge func(t *testing.T, f *fixture)
		want  error  // ErrStatement or ErrShape
		msg   string // what Check must name
	}{
		// Holder secret and pseudonym.
		{"wrong secret", func(t *testing.T, f *fixture) {
			f.priv.Secret = randElement(t)
			f.pub.Pseudonym = zk.Pseudonym(f.priv.Secret, f.pub.Scope) // only the commitment is wrong
		}, ErrStatement, "secret"},
		{"other scope", func(t *testing.T, f *fixture) {
			f.pub.Scope = zk.Scope("forum.example") // pseudonym still for shop.example
		}, ErrStatement, "pseudonym"},
		{"pseudonym altered", func(t *testing.T, f *fixture) {
			f.pub.Pseudonym = addInt(f.pub.Pseudonym, 1)
		}, ErrStatement, "pseudonym"},
		{"pseudonym of another secret", func(t *testing.T, f *fixture) {
			f.pub.Pseudonym = zk.Pseudonym(randElement(t), f.pub.Scope)
		}, ErrStatement, "pseudonym"},
		{"pseudonym is the holder commitment", func(t *testing.T, f *fixture) {
			f.pub.Pseudonym = f.priv.Credential.Commitment
		}, ErrStatement, "pseudonym"},

		// The core credential's signature.
		{"attribute tampered without re-signing", func(t *testing.T, f *fixture) {
			_, e := attrOf(t, "family_name", "Smith")
			a, _ := zk.AttrByName("family_name")
			f.priv.Credential.Attrs[a.Index] = e
		}, ErrStatement, "signature"},
		{"unused attribute set without re-signing", func(t *testing.T, f *fixture) {
			f.priv.Credential.Attrs[NumAttrs-1] = feOne()
		}, ErrStatement, "signature"},
		{"grade changed without re-signing", func(t *testing.T, f *fixture) {
			f.priv.Credential.Grade = zk.GradeSubstantial
		}, ErrStatement, "signature"},
		{"expiry extended without re-signing", func(t *testing.T, f *fixture) {
			f.priv.Credential.Expiry += 86400
		}, ErrStatement, "signature"},
		{"device key hash changed without re-signing", func(t *testing.T, f *fixture) {
			f.priv.Credential.DeviceKeyHash = feOne()
		}, ErrStatement, "signature"},
		{"revocation nonce changed without re-signing", func(t *testing.T, f *fixture) {
			// A fresh nonce would escape a revoked entry; the revocation
			// witness is rebuilt for it so only the signature fails.
			f.priv.Credential.RevNonce = randElement(t)
			f.proveAbsent(t)
		}, ErrStatement, "signature"},
		{"S + curve order", func(t *testing.T, f *fixture) {
			f.priv.Signature = forgeS(f.priv.Signature)
		}, ErrStatement, "signature"},
		{"S + 1", func(t *testing.T, f *fixture) {
			s := new(big.Int).SetBytes(f.priv.Signature[32:])
			s.Add(s, big.NewInt(1))
			s.FillBytes(f.priv.Signature[32:])
		}, ErrStatement, "signature"},
		{"R replaced by the base point", func(t *testing.T, f *fixture) {
			base := twistededwards.GetEdwardsCurve().Base
			b := base.Bytes()
			copy(f.priv.Signature[:32], b[:])
		}, ErrStatement, "signature"},
		{"R not on the curve", func(t *testing.T, f *fixture) {
			f.priv.Signature = offCurveR(t, f.priv.Signature)
		}, ErrStatement, "signature"},
		{"signature of another credential", func(t *testing.T, f *fixture) {
			other := f.priv.Credential
			other.Commitment = zk.Commit(randElement(t))
			sig, err := f.key.Sign(other.Message())
			require.NoError(t, err)
			f.priv.Signature = sig
		}, ErrStatement, "signature"},
		{"signed by a key not in the registry", func(t *testing.T, f *fixture) {
			sig, err := newKey(t).Sign(f.priv.Credential.Message())
			require.NoError(t, err)
			f.priv.Signature = sig // ProviderKey stays the registered key
		}, ErrStatement, "signature"},
		{"signed by another registered key, this key's leaf", func(t *testing.T, f *fixture) {
			k2 := newKey(t)
			_, err := f.reg.Append(zk.ProviderLeaf(k2.Public(), zk.GradeHigh, f.priv.ValidUntil))
			require.NoError(t, err)
			f.pub.RegistryRoot = f.reg.Root()
			f.priv.Registry = f.reg.Path(f.regLeaf)
			sig, err := k2.Sign(f.priv.Credential.Message())
			require.NoError(t, err)
			f.priv.Signature = sig
		}, ErrStatement, "signature"},

		// The registry.
		{"key not in the registry", func(t *testing.T, f *fixture) {
			f.useKey(t, newKey(t), zk.GradeHigh, f.priv.ValidUntil)
			reg := zk.NewTree(RegistryDepth) // the framework's tree, without the key
			_, err := reg.Append(randElement(t))
			require.NoError(t, err)
			f.pub.RegistryRoot = reg.Root()
			f.priv.Registry = reg.Path(1)
		}, ErrStatement, "registry"},
		{"unregistered key in a registered key's place", func(t *testing.T, f *fixture) {
			// The key signs correctly; the registry path is the honest
			// key's, whose leaf holds another key.
			f.key = newKey(t)
			f.priv.ProviderKey = f.key.Public()
			f.resign(t)
			f.proveAbsent(t)
		}, ErrStatement, "registry"},
		{"another registered key's leaf index", func(t *testing.T, f *fixture) {
			f.priv.Registry = f.reg.Path(0)
		}, ErrStatement, "registry"},
		{"wrong registry path sibling", func(t *testing.T, f *fixture) {
			f.priv.Registry.Siblings[3] = addInt(f.priv.Registry.Siblings[3], 1)
		}, ErrStatement, "registry"},
		{"wrong registry root", func(t *testing.T, f *fixture) {
			f.pub.RegistryRoot = addInt(f.pub.RegistryRoot, 1)
		}, ErrStatement, "registry"},
		{"MaxGrade lied about", func(t *testing.T, f *fixture) {
			// The registry says substantial; the witness claims high.
			f.register(t, zk.ProviderLeaf(f.key.Public(), zk.GradeSubstantial, f.priv.ValidUntil))
			f.priv.MaxGrade = zk.GradeHigh
		}, ErrStatement, "registry"},
		{"ValidUntil lied about", func(t *testing.T, f *fixture) {
			f.register(t, zk.ProviderLeaf(f.key.Public(), zk.GradeHigh, f.now-1))
		}, ErrStatement, "registry"},

		// Grades.
		{"grade above the provider's maximum", func(t *testing.T, f *fixture) {
			f.useKey(t, f.key, zk.GradeSubstantial, f.priv.ValidUntil) // grade stays high
		}, ErrStatement, "grade"},
		{"grade below MinGrade", func(t *testing.T, f *fixture) {
			f.priv.Credential.Grade = zk.GradeLow
			f.resign(t)
		}, ErrStatement, "grade"},
		{"MinGrade above every grade", func(t *testing.T, f *fixture) {
			f.pub.MinGrade = zk.GradeHigh + 1
		}, ErrStatement, "grade"},
		{"MinGrade = 256", func(t *testing.T, f *fixture) {
			f.pub.MinGrade = 1 << GradeBits
		}, ErrShape, "grade"},
		{"grade 256 + high", func(t *testing.T, f *fixture) {
			f.priv.Credential.Grade = 1<<GradeBits + zk.GradeHigh
			f.resign(t)
		}, ErrStatement, "grade"},

		// Time.
		{"expired credential", func(t *testing.T, f *fixture) {
			f.priv.Credential.Expiry = f.now - 1
			f.resign(t)
		}, ErrStatement, "expired"},
		{"expiry negative", func(t *testing.T, f *fixture) {
			f.priv.Credential.Expiry = -1
			f.resign(t)
		}, ErrStatement, "expired"},
		{"expiry >= 2^40", func(t *testing.T, f *fixture) {
			f.priv.Credential.Expiry = 1 << TimeBits
			f.resign(t)
		}, ErrStatement, "expired"},
		{"provider key past ValidUntil", func(t *testing.T, f *fixture) {
			f.useKey(t, f.key, zk.GradeHigh, f.now-1)
		}, ErrStatement, "no longer valid"},
		{"ValidUntil negative", func(t *testing.T, f *fixture) {
			f.useKey(t, f.key, zk.GradeHigh, -1)
		}, ErrStatement, "no longer valid"},
		{"ValidUntil >= 2^40", func(t *testing.T, f *fixture) {
			f.useKey(t, f.key, zk.GradeHigh, 1<<TimeBits)
		}, ErrStatement, "no longer valid"},
		{"Now >= 2^40", func(t *testing.T, f *fixture) {
			f.pub.Now = 1 << TimeBits
		}, ErrShape, "time"},
		{"Now = -1, which would make every credential look unexpired", func(t *testing.T, f *fixture) {
			// Only Now's own range check stands in the way: Expiry - (-1)
			// and ValidUntil - (-1) are small.
			f.priv.Credential.Expiry = 0
			f.resign(t)
			f.pub.Now = -1
		}, ErrShape, "time"},

		// Revocation.
		{"revoked, stale witness", func(t *testing.T, f *fixture) {
			require.NoError(t, f.rev.Insert(f.revEntry()))
			f.pub.RevocationRoot = f.rev.Root()
		}, ErrStatement, "revoked"},
		{"revoked, own leaf as low leaf (lowValue = x)", func(t *testing.T, f *fixture) {
			x := f.revEntry()
			require.NoError(t, f.rev.Insert(x))
			nm, err := f.rev.ProveAbsent(addInt(x, 1))
			require.NoError(t, err)
			require.Equal(t, x, nm.LowValue)
			f.priv.Revocation, f.pub.RevocationRoot = nm, f.rev.Root()
		}, ErrStatement, "revoked"},
		{"revoked, predecessor as low leaf (lowNext = x)", func(t *testing.T, f *fixture) {
			x := f.revEntry()
			require.NoError(t, f.rev.Insert(x))
			nm, err := f.rev.ProveAbsent(addInt(x, -1))
			require.NoError(t, err)
			require.Equal(t, x, nm.LowNext)
			f.priv.Revocation, f.pub.RevocationRoot = nm, f.rev.Root()
		}, ErrStatement, "revoked"},
		{"revoked, last leaf above x as low leaf (lowValue > x, lowNext = 0)", func(t *testing.T, f *fixture) {
			x := f.revEntry()
			require.NoError(t, f.rev.Insert(x))
			require.NoError(t, f.rev.Insert(zk.Int64(-2))) // p - 2: the largest entry
			nm, err := f.rev.ProveAbsent(pMinus1)
			require.NoError(t, err)
			require.True(t, nm.LowNext.IsZero())
			f.priv.Revocation, f.pub.RevocationRoot = nm, f.rev.Root()
		}, ErrStatement, "revoked"},
		{"revoked, forged low leaf around x", func(t *testing.T, f *fixture) {
			x := f.revEntry()
			require.NoError(t, f.rev.Insert(x))
			f.pub.RevocationRoot = f.rev.Root()
			f.priv.Revocation.LowValue, f.priv.Revocation.LowNext = addInt(x, -1), addInt(x, 1)
		}, ErrStatement, "revoked"},
		{"not revoked, low leaf value altered", func(t *testing.T, f *fixture) {
			f.priv.Revocation.LowValue = addInt(f.priv.Revocation.LowValue, 1)
		}, ErrStatement, "revoked"},
		{"not revoked, low leaf next set to zero", func(t *testing.T, f *fixture) {
			require.NoError(t, f.rev.Insert(pMinus1)) // so that x's low leaf has a next
			f.proveAbsent(t)
			require.False(t, f.priv.Revocation.LowNext.IsZero())
			f.priv.Revocation.LowNext = fr.Element{}
		}, ErrStatement, "revoked"},
		{"not revoked, wrong revocation path sibling", func(t *testing.T, f *fixture) {
			f.priv.Revocation.Path.Siblings[31] = addInt(f.priv.Revocation.Path.Siblings[31], 1)
		}, ErrStatement, "revoked"},
		{"not revoked, witness from an older snapshot", func(t *testing.T, f *fixture) {
			require.NoError(t, f.rev.Insert(randElement(t)))
			f.pub.RevocationRoot = f.rev.Root()
		}, ErrStatement, "revoked"},
		{"revocation root of another framework", func(t *testing.T, f *fixture) {
			f.pub.RevocationRoot = zk.NewIndexedTree(RevocationDepth).Root()
		}, ErrStatement, "revoked"},

		// Predicates, each false.
		{"= false", func(t *testing.T, f *fixture) {
			slot, _ := f.attr(t, "nationality")
			f.pub.Predicates[2] = Predicate{Slot: slot, Op: OpEq, Value: zk.Int64(276)}
		}, ErrStatement, "predicate 2"},
		{"!= false", func(t *testing.T, f *fixture) {
			slot, v := f.attr(t, "nationality")
			f.pub.Predicates[2] = Predicate{Slot: slot, Op: OpNe, Value: v}
		}, ErrStatement, "predicate 2"},
		{"<= false", func(t *testing.T, f *fixture) {
			slot, v := f.attr(t, "birth_date")
			f.pub.Predicates[0] = Predicate{Slot: slot, Op: OpLe, Value: addInt(v, -1)}
		}, ErrStatement, "predicate 0"},
		{">= false", func(t *testing.T, f *fixture) {
			slot, v := f.attr(t, "birth_date")
			f.pub.Predicates[7] = Predicate{Slot: slot, Op: OpGe, Value: addInt(v, 1)}
		}, ErrStatement, "predicate 7"},
		{"in-set with a value not in the set", func(t *testing.T, f *fixture) {
			set := []fr.Element{zk.Int64(276), zk.Int64(250)}
			f.pub.Predicates[1] = inSet(t, f.pub.Predicates[1].Slot, set)
		}, ErrStatement, "predicate 1"},
		{"in-set with a wrong set root", func(t *testing.T, f *fixture) {
			// The set lists the value, the root is of a set without it.
			f.pub.Predicates[1].Value = inSet(t, 0, []fr.Element{zk.Int64(276)}).Value
		}, ErrShape, "set root"},
		{"in-set with 33 values", func(t *testing.T, f *fixture) {
			set := make([]fr.Element, 33)
			for i := range set {
				set[i] = zk.Int64(int64(i + 1))
			}
			set[32] = zk.Int64(528)
			q := Predicate{Slot: f.pub.Predicates[1].Slot, Op: OpIn, Set: set}
			// The root a truncating builder would give: the 33rd value is
			// in no tree of depth 5.
			tr, err := zk.SetTree(SetDepth, set[:32])
			require.NoError(t, err)
			q.Value = tr.Root()
			f.pub.Predicates[1] = q
		}, ErrShape, "set"},
		{"in-set on the NoAttr slot: zero is in no set", func(t *testing.T, f *fixture) {
			f.pub.Predicates[1].Slot = NoAttr
		}, ErrStatement, "predicate 1"},
		{"<= on a string attribute", func(t *testing.T, f *fixture) {
			slot, _ := f.attr(t, "family_name")
			f.pub.Predicates[3] = Predicate{Slot: slot, Op: OpLe, Value: maxInt64}
		}, ErrStatement, "predicate 3"},
		{"predicate slot out of range (17)", func(t *testing.T, f *fixture) {
			f.pub.Predicates[0].Slot = NumAttrs + 1
		}, ErrShape, "predicate 0"},
		{"predicate slot negative", func(t *testing.T, f *fixture) {
			f.pub.Predicates[2] = Predicate{Slot: -1, Op: OpEq}
		}, ErrShape, "predicate 2"},
		{"operator out of range (6)", func(t *testing.T, f *fixture) {
			f.pub.Predicates[0].Op = numOps
		}, ErrShape, "operator"},
		{"operator out of range (255)", func(t *testing.T, f *fixture) {
			f.pub.Predicates[4].Op = 255
		}, ErrShape, "operator"},

		// Disclosures.
		{"disclosed value altered", func(t *testing.T, f *fixture) {
			f.pub.Disclosures[0].Value = zk.Int64(276)
		}, ErrStatement, "disclosure 0"},
		{"disclosed value of another attribute", func(t *testing.T, f *fixture) {
			slot, _ := f.attr(t, "residence_country")
			f.pub.Disclosures[0].Slot = slot // value stays NL's
		}, ErrStatement, "disclosure 0"},
		{"NoAttr disclosure with a non-zero value", func(t *testing.T, f *fixture) {
			f.pub.Disclosures[3] = Disclosure{Slot: NoAttr, Value: feOne()}
		}, ErrStatement, "disclosure 3"},
		{"disclosure slot out of range (17)", func(t *testing.T, f *fixture) {
			f.pub.Disclosures[1] = Disclosure{Slot: NumAttrs + 1}
		}, ErrShape, "disclosure 1"},
		{"disclosure slot negative", func(t *testing.T, f *fixture) {
			f.pub.Disclosures[1] = Disclosure{Slot: -1}
		}, ErrShape, "disclosure 1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			tc.forge(t, f)
			requireRefused(t, &f.pub, &f.priv, tc.want, tc.msg)
		})
	}
}

func inSet(t testing.TB, slot int, set []fr.Element) Predicate {
	tr, err := zk.SetTree(SetDepth, set)
	require.NoError(t, err)
	return Predicate{Slot: slot, Op: OpIn, Value: tr.Root(), Set: set}
}

// TestComparisonEdges puts <= and >= at the edges of the signed 64-bit
// domain, on both sides. Values inside [-2^63, 2^63) compare as signed
// integers up to the boundaries; anything outside (2^63 as a positive field
// element, p - 2^63 - 1, a hash) makes every comparison false, so no
// comparison can wrap around the field.
func TestComparisonEdges(t *testing.T) {
	minMinus1 := bigElem(t, new(big.Int).Sub(new(big.Int).Neg(two63), big.NewInt(1))) // p - 2^63 - 1
	two64m1 := bigElem(t, new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 64), big.NewInt(1)))
	cases := []struct {
		name   string
		attr   fr.Element
		op     Op
		value  fr.Element
		holds  bool
		native bool // the attribute is written into the credential (source_kind) and re-signed
	}{
		// Public value at the edges; the attribute is the birth date (7406).
		{"birth <= 2^63-1", fr.Element{}, OpLe, maxInt64, true, false},
		{"birth >= 2^63-1", fr.Element{}, OpGe, maxInt64, false, false},
		{"birth <= -2^63", fr.Element{}, OpLe, minInt64, false, false},
		{"birth >= -2^63", fr.Element{}, OpGe, minInt64, true, false},
		{"birth <= 2^63 (out of domain: unsigned it would hold)", fr.Element{}, OpLe, fieldTwo63, false, false},
		{"birth >= 2^63 (out of domain)", fr.Element{}, OpGe, fieldTwo63, false, false},
		{"birth <= p-1 (= -1: unsigned it would hold)", fr.Element{}, OpLe, pMinus1, false, false},
		{"birth >= p-1 (= -1)", fr.Element{}, OpGe, pMinus1, true, false},
		{"birth <= p-2^63-1 (out of domain)", fr.Element{}, OpLe, minMinus1, false, false},
		{"birth >= p-2^63-1 (out of domain: signed it would hold)", fr.Element{}, OpGe, minMinus1, false, false},
		{"birth <= 2^64-1 (out of domain)", fr.Element{}, OpLe, two64m1, false, false},

		// Attribute at the edges (an integer attribute the provider signed).
		{"2^63-1 <= 2^63-1", maxInt64, OpLe, maxInt64, true, true},
		{"2^63-1 >= 2^63-1", maxInt64, OpGe, maxInt64, true, true},
		{"2^63-1 <= 2^63-2", maxInt64, OpLe, zk.Int64(1<<63 - 2), false, true},
		{"2^63-1 >= -2^63", maxInt64, OpGe, minInt64, true, true},
		{"-2^63 <= -2^63", minInt64, OpLe, minInt64, true, true},
		{"-2^63 >= -2^63", minInt64, OpGe, minInt64, true, true},
		{"-2^63 >= -2^63+1", minInt64, OpGe, zk.Int64(-1<<63 + 1), false, true},
		{"-2^63 <= 2^63-1", minInt64, OpLe, maxInt64, true, true},
		{"-1 <= 0", pMinus1, OpLe, fr.Element{}, true, true},
		{"-1 >= 0 (p-1 >= 0 unsigned)", pMinus1, OpGe, fr.Element{}, false, true},
		{"-1 >= -1", pMinus1, OpGe, pMinus1, true, true},
		{"2^63 >= -2^63 (attribute out of domain)", fieldTwo63, OpGe, minInt64, false, true},
		{"2^63 <= 2^63-1 (attribute out of domain)", fieldTwo63, OpLe, maxInt64, false, true},
		{"p-2^63-1 <= 2^63-1 (attribute out of domain)", minMinus1, OpLe, maxInt64, false, true},
		{"p-2^63-1 >= -2^63 (attribute out of domain)", minMinus1, OpGe, minInt64, false, true},
		{"2^64-1 >= 0 (attribute out of domain)", two64m1, OpGe, fr.Element{}, false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			slot, _ := f.attr(t, "birth_date")
			if tc.native {
				slot = f.setAttr(t, "source_kind", tc.attr)
			}
			f.pub.Predicates[5] = Predicate{Slot: slot, Op: tc.op, Value: tc.value}
			if tc.holds {
				requireAccepted(t, &f.pub, &f.priv)
			} else {
				requireRefused(t, &f.pub, &f.priv, ErrStatement, "predicate 5")
			}
		})
	}
}

// TestAcceptedEdges are valid statements at the edges of every range.
func TestAcceptedEdges(t *testing.T) {
	cases := []struct {
		name string
		edit func(t *testing.T, f *fixture)
	}{
		{"birth_date <= cutoff where equal", func(t *testing.T, f *fixture) {
			slot, v := f.attr(t, "birth_date")
			f.pub.Predicates[0] = Predicate{Slot: slot, Op: OpLe, Value: v}
		}},
		{"birth_date >= itself, and a range of one day", func(t *testing.T, f *fixture) {
			slot, v := f.attr(t, "birth_date")
			f.pub.Predicates[2] = Predicate{Slot: slot, Op: OpGe, Value: v}
			f.pub.Predicates[3] = Predicate{Slot: slot, Op: OpLe, Value: v}
		}},
		{"= and != on a string attribute", func(t *testing.T, f *fixture) {
			slot, v := f.attr(t, "family_name")
			_, other := attrOf(t, "family_name", "Smith")
			f.pub.Predicates[2] = Predicate{Slot: slot, Op: OpEq, Value: v}
			f.pub.Predicates[3] = Predicate{Slot: slot, Op: OpNe, Value: other}
		}},
		{"in-set with a 1-element set", func(t *testing.T, f *fixture) {
			slot, v := f.attr(t, "nationality")
			f.pub.Predicates[1] = inSet(t, slot, []fr.Element{v})
		}},
		{"in-set with exactly 32 elements, value last", func(t *testing.T, f *fixture) {
			slot, v := f.attr(t, "nationality")
			set := make([]fr.Element, 1<<SetDepth)
			for i := range set {
				set[i] = zk.Int64(int64(i + 1))
			}
			set[31] = v
			f.pub.Predicates[1] = inSet(t, slot, set)
		}},
		{"in-set with exactly 32 elements, value first", func(t *testing.T, f *fixture) {
			slot, v := f.attr(t, "nationality")
			set := make([]fr.Element, 1<<SetDepth)
			for i := range set {
				set[i] = zk.Int64(int64(i + 1))
			}
			set[0] = v
			f.pub.Predicates[1] = inSet(t, slot, set)
		}},
		{"in-set on every predicate slot", func(t *testing.T, f *fixture) {
			slot, v := f.attr(t, "nationality")
			for i := range f.pub.Predicates {
				f.pub.Predicates[i] = inSet(t, slot, []fr.Element{zk.Int64(1), v, zk.Int64(2)})
			}
		}},
		{"in-set containing zero on the NoAttr slot", func(t *testing.T, f *fixture) {
			f.pub.Predicates[1] = inSet(t, NoAttr, []fr.Element{zk.Int64(5), {}})
		}},
		{"NoAttr disclosure slots", func(t *testing.T, f *fixture) {
			for i := range f.pub.Disclosures {
				f.pub.Disclosures[i] = Disclosure{Slot: NoAttr}
			}
		}},
		{"every disclosure slot used", func(t *testing.T, f *fixture) {
			for i, name := range []string{"birth_date", "nationality", "residence_country", "family_name"} {
				slot, v := f.attr(t, name)
				f.pub.Disclosures[i] = Disclosure{Slot: slot, Value: v}
			}
		}},
		{"disclosure of the last attribute slot (16), zero", func(t *testing.T, f *fixture) {
			f.pub.Disclosures[2] = Disclosure{Slot: NumAttrs}
		}},
		{"OpNone ignores its slot and value", func(t *testing.T, f *fixture) {
			f.pub.Predicates[6] = Predicate{Slot: NumAttrs, Op: OpNone, Value: randElement(t)}
		}},
		{"no predicates, no disclosures", func(t *testing.T, f *fixture) {
			f.pub.Predicates = [NumPredicates]Predicate{}
			f.pub.Disclosures = [NumDisclosures]Disclosure{}
		}},
		{"Expiry = ValidUntil = Now", func(t *testing.T, f *fixture) {
			f.priv.Credential.Expiry = f.now
			f.useKey(t, f.key, zk.GradeHigh, f.now)
		}},
		{"Now = Expiry = ValidUntil = 2^40-1", func(t *testing.T, f *fixture) {
			f.pub.Now = 1<<TimeBits - 1
			f.priv.Credential.Expiry = f.pub.Now
			f.useKey(t, f.key, zk.GradeHigh, f.pub.Now)
		}},
		{"Now = 0", func(t *testing.T, f *fixture) {
			f.pub.Now = 0
		}},
		{"Grade = MinGrade = MaxGrade = 255", func(t *testing.T, f *fixture) {
			f.priv.Credential.Grade = 1<<GradeBits - 1
			f.pub.MinGrade = 1<<GradeBits - 1
			f.useKey(t, f.key, 1<<GradeBits-1, f.priv.ValidUntil)
		}},
		{"Grade = MinGrade = 0", func(t *testing.T, f *fixture) {
			f.priv.Credential.Grade = 0
			f.pub.MinGrade = 0
			f.resign(t)
		}},
		{"another registered key, its own leaf", func(t *testing.T, f *fixture) {
			f.useKey(t, newKey(t), zk.GradeHigh, f.priv.ValidUntil)
		}},
		{"registry leaf at the last index", func(t *testing.T, f *fixture) {
			// The zk.Tree would need 2^16 appends; a path built by hand
			// against a tree whose other leaves are empty is the same.
			leaf := zk.ProviderLeaf(f.key.Public(), f.priv.MaxGrade, f.priv.ValidUntil)
			empty := zk.NewTree(RegistryDepth).Path(0).Siblings
			p := zk.Path{Index: 1<<RegistryDepth - 1, Siblings: empty}
			f.pub.RegistryRoot, f.priv.Registry = p.Root(leaf), p
		}},
		{"empty revocation tree", func(t *testing.T, f *fixture) {
			f.rev = zk.NewIndexedTree(RevocationDepth)
			f.proveAbsent(t)
			require.True(t, f.priv.Revocation.LowValue.IsZero())
			require.True(t, f.priv.Revocation.LowNext.IsZero())
		}},
		{"revocation: x below every entry (sentinel is the low leaf)", func(t *testing.T, f *fixture) {
			f.rev = zk.NewIndexedTree(RevocationDepth)
			for i := int64(1); i <= 3; i++ {
				require.NoError(t, f.rev.Insert(zk.Int64(-i)))
			}
			f.proveAbsent(t)
			require.True(t, f.priv.Revocation.LowValue.IsZero())
		}},
		{"revocation: x above every entry (lowNext = 0)", func(t *testing.T, f *fixture) {
			f.rev = zk.NewIndexedTree(RevocationDepth)
			for i := uint64(1); i <= 3; i++ {
				require.NoError(t, f.rev.Insert(fr.NewElement(i)))
			}
			f.proveAbsent(t)
			require.True(t, f.priv.Revocation.LowNext.IsZero())
		}},
		{"revocation: x's neighbours x-1 and x+1 revoked", func(t *testing.T, f *fixture) {
			x := f.revEntry()
			require.NoError(t, f.rev.Insert(addInt(x, -1)))
			require.NoError(t, f.rev.Insert(addInt(x, 1)))
			f.proveAbsent(t)
			require.Equal(t, addInt(x, -1), f.priv.Revocation.LowValue)
			require.Equal(t, addInt(x, 1), f.priv.Revocation.LowNext)
		}},
		{"holder binding and nonce at p-1", func(t *testing.T, f *fixture) {
			f.pub.HolderBinding, f.pub.Nonce = pMinus1, pMinus1
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			tc.edit(t, f)
			requireAccepted(t, &f.pub, &f.priv)
		})
	}
}

// TestCheckAgreesWithCircuit covers inputs on which Check and the circuit
// could disagree because Check computes natively what the circuit
// constrains bit by bit. Each must be accepted by both or refused by both.
func TestCheckAgreesWithCircuit(t *testing.T) {
	cases := []struct {
		name   string
		edit   func(t *testing.T, f *fixture)
		guards string // the fixed mismatch this case guards against (docs/circuits.md), if any
	}{
		{"registry index aliased above 2^16", func(t *testing.T, f *fixture) {
			// zk.Path.Root reads only the low RegistryDepth bits of Index;
			// the circuit decomposes Index into exactly that many bits.
			f.priv.Registry.Index += 1 << RegistryDepth
		}, "K1"},
		{"revocation index aliased above 2^32", func(t *testing.T, f *fixture) {
			f.priv.Revocation.Path.Index += 1 << RevocationDepth
		}, "K1"},
		{"provider maximum grade 300 (beyond GradeBits)", func(t *testing.T, f *fixture) {
			f.useKey(t, f.key, 300, f.priv.ValidUntil)
		}, "K2"},
		{"grade 300 under maximum grade 300", func(t *testing.T, f *fixture) {
			f.priv.Credential.Grade = 300
			f.useKey(t, f.key, 300, f.priv.ValidUntil)
		}, "K2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			tc.edit(t, f)
			checkErr := Check(&f.pub, &f.priv)
			w, err := assignNoPanic(&f.pub, &f.priv)
			require.NoError(t, err)
			solveErr := solveBoth(t, w)
			if (checkErr == nil) != (solveErr == nil) {
				t.Fatalf("Check and the circuit disagree: Check: %v; circuit: %v", checkErr, solveErr)
			}
		})
	}
}

// TestAssignMalformed: Assign must return an error, never panic, on input
// it cannot encode (Check refuses all of them first).
func TestAssignMalformed(t *testing.T) {
	cases := []struct {
		name   string
		edit   func(t *testing.T, f *fixture)
		guards string // the fixed mismatch this case guards against (docs/circuits.md), if any
	}{
		{"short signature", func(t *testing.T, f *fixture) { f.priv.Signature = f.priv.Signature[:63] }, ""},
		{"no provider key", func(t *testing.T, f *fixture) { f.priv.ProviderKey = nil }, ""},
		{"short registry path", func(t *testing.T, f *fixture) {
			f.priv.Registry.Siblings = f.priv.Registry.Siblings[:RegistryDepth-1]
		}, ""},
		{"long revocation path", func(t *testing.T, f *fixture) {
			f.priv.Revocation.Path.Siblings = append(f.priv.Revocation.Path.Siblings, fr.Element{})
		}, ""},
		{"in-set without its set", func(t *testing.T, f *fixture) { f.pub.Predicates[1].Set = nil }, ""},
		{"in-set on slot 17", func(t *testing.T, f *fixture) { f.pub.Predicates[1].Slot = NumAttrs + 1 }, "K3"},
		{"in-set on slot -1", func(t *testing.T, f *fixture) { f.pub.Predicates[1].Slot = -1 }, "K3"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			tc.edit(t, f)
			require.Error(t, Check(&f.pub, &f.priv))
			_, err := assignNoPanic(&f.pub, &f.priv)
			require.Error(t, err)
			require.NotContains(t, err.Error(), "panicked")
		})
	}
}

// offCurveR replaces sig's R by a compressed y with no point on the curve
// (the decompressed x then fails the curve equation).
func offCurveR(t testing.TB, sig []byte) []byte {
	out := append([]byte(nil), sig...)
	for y := uint64(2); ; y++ {
		var e fr.Element
		e.SetUint64(y)
		b := e.Bytes() // big-endian; the compressed form is little-endian
		var r [32]byte
		for i := range b {
			r[i] = b[31-i]
		}
		var p twistededwards.PointAffine
		if _, err := p.SetBytes(r[:]); err == nil && !p.IsOnCurve() {
			copy(out[:32], r[:])
			return out
		}
		require.Less(t, y, uint64(1000))
	}
}

// TestRegistryMustHoldValidKeys: the circuit does not check the provider
// key (on the curve, in the prime-order subgroup, not the identity); the
// registry leaf vouches for it. With the identity as a key, anyone can
// forge a credential: [8]([S]G - [h]A - R) = [8]([S]G - R) = 0 for R = [S]G.
// So the trust framework must only register keys that zk.ParsePublicKey
// accepts, and ParsePublicKey must refuse the identity.
func TestRegistryMustHoldValidKeys(t *testing.T) {
	f := newFixture(t)
	var id twistededwards.PointAffine
	id.X.SetZero()
	id.Y.SetOne()
	idBytes := id.Bytes()
	_, err := zk.ParsePublicKey(idBytes[:])
	require.Error(t, err, "the identity must never become a provider key")

	// What the guard prevents: a forged credential with any attributes.
	pk := &zk.PublicKey{}
	pk.A = id
	f.priv.ProviderKey = pk
	f.priv.Credential.Attrs[0] = zk.Int64(-30000) // born in 1887
	base := twistededwards.GetEdwardsCurve().Base
	rb := base.Bytes()
	sig := make([]byte, 64)
	copy(sig, rb[:])
	sig[63] = 1 // S = 1, R = G
	f.priv.Signature = sig
	f.register(t, zk.ProviderLeaf(pk, f.priv.MaxGrade, f.priv.ValidUntil))
	f.proveAbsent(t)
	require.ErrorContains(t, Check(&f.pub, &f.priv), "signature")
	w, err := assignNoPanic(&f.pub, &f.priv)
	require.NoError(t, err)
	require.NoError(t, solveBoth(t, w), "documented: the circuit trusts the registry for the key's validity")
}

// TestCofactoredSignature documents a known divergence: the circuit's
// EdDSA check is cofactored ([8]·(...) = 0, as gnark's std/signature/eddsa
// and RFC 8032 allow) while the native check refuses an R outside the
// prime-order subgroup. Only the holder of the provider's private key can
// make such a signature, so it forges nothing; Check refusing it only
// means a wallet would not prove with it.
func TestCofactoredSignature(t *testing.T) {
	f := newFixture(t)
	f.priv.Signature = smallOrderR(t, f.key, f.priv.Credential.Message())
	require.ErrorContains(t, Check(&f.pub, &f.priv), "signature")
	w, err := assignNoPanic(&f.pub, &f.priv)
	require.NoError(t, err)
	require.NoError(t, solveBoth(t, w))
}

// smallOrderR signs m with R = [r]G + T, T = (0, -1) of order 2, using the
// key's scalar (PrivateKey.Bytes is A || scalar || randSrc, big-endian).
func smallOrderR(t testing.TB, k *zk.PrivateKey, m fr.Element) []byte {
	curve := twistededwards.GetEdwardsCurve()
	scalar := new(big.Int).SetBytes(k.Bytes()[32:64])
	r, err := rand.Int(rand.Reader, &curve.Order)
	require.NoError(t, err)
	var R, T twistededwards.PointAffine
	R.ScalarMultiplicationBase(r)
	T.X.SetZero()
	T.Y.SetOne()
	T.Y.Neg(&T.Y)
	R.Add(&R, &T)
	require.True(t, R.IsOnCurve())
	require.False(t, R.IsInSubGroup())

	a := k.Public().A
	h := poseidon2.NewMerkleDamgardHasher()
	for _, e := range []fr.Element{R.X, R.Y, a.X, a.Y, m} {
		b := e.Bytes()
		_, err := h.Write(b[:])
		require.NoError(t, err)
	}
	hram := new(big.Int).SetBytes(h.Sum(nil))
	s := new(big.Int).Mul(hram, scalar)
	s.Add(s, r).Mod(s, &curve.Order)
	sig := make([]byte, 64)
	rb := R.Bytes()
	copy(sig, rb[:])
	s.FillBytes(sig[32:])
	return sig
}
