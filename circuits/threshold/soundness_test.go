package threshold

import (
	"fmt"
	"math/big"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark-crypto/ecc/bn254/twistededwards"
	"github.com/consensys/gnark/frontend"
	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/circuits/persona"
	"github.com/mustard-id/mustard/zk"
)

// Every constraint of the threshold circuit has a witness here, forged on
// purpose, that breaks exactly that property and nothing else (the
// credential is re-signed by every provider whenever the forgery touches
// it, unless a signature is the property under test). Each forged witness
// must be refused three times: by Check (the wallet's early error, which
// must agree with the circuit), by gnark's test engine, and by the compiled
// R1CS's solver. Assign builds the assignment directly, bypassing Check.
// As for the persona circuit, test.IsSolved runs with honest hints: the
// tests show what the statement enforces, not that gnark's hinted gadgets
// are sound (an assumption listed in docs/circuits.md).

// solveBoth reports whether the assignment satisfies New(k), by the test
// engine and by the R1CS solver; the two must agree.
func solveBoth(t *testing.T, k int, w *Circuit) error {
	t.Helper()
	engine := engineSolved(New(k), w)
	full, err := frontend.NewWitness(w, ecc.BN254.ScalarField())
	require.NoError(t, err)
	r1cs := compiled(t, k).IsSolved(full)
	require.Equal(t, engine == nil, r1cs == nil, "test engine (%v) and R1CS solver (%v) disagree", engine, r1cs)
	return engine
}

// assignNoPanic calls Assign, turning a panic into an error.
func assignNoPanic(pub *Public, priv *Private) (w *Circuit, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("Assign panicked: %v", r)
		}
	}()
	return Assign(pub, priv)
}

// forceAssign returns the assignment of a statement Check refuses. For a
// malformed statement Assign may refuse; then the witness is built for the
// statement with the malformed slots emptied and the malformed public
// inputs are put back, as a malicious prover would.
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
		if q.Slot < 0 || q.Slot > NumAttrs || q.Op > persona.OpIn || q.Op == persona.OpIn && len(q.Set) > 1<<SetDepth {
			clean.Predicates[i] = persona.Predicate{}
		}
	}
	for i, d := range clean.Disclosures {
		if d.Slot < 0 || d.Slot > NumAttrs {
			clean.Disclosures[i] = persona.Disclosure{}
		}
	}
	w, err = assignNoPanic(&clean, priv)
	require.NoError(t, err)
	pw := PublicAssignment(len(priv.Endorsements), pub)
	w.RegistryRoot, w.RevocationRoot, w.Scope, w.Pseudonym = pw.RegistryRoot, pw.RevocationRoot, pw.Scope, pw.Pseudonym
	w.Now, w.MinGrade, w.HolderBinding, w.Nonce = pw.Now, pw.MinGrade, pw.HolderBinding, pw.Nonce
	w.Predicates, w.Disclosures = pw.Predicates, pw.Disclosures
	return w
}

// requireRefused asserts that Check refuses the statement with want (and a
// message containing msg), and that New(k) is not solved; it returns the
// test engine's error, which names the first constraint that fails.
func requireRefused(t *testing.T, k int, pub *Public, priv *Private, want error, msg string) error {
	t.Helper()
	err := Check(k, pub, priv)
	require.ErrorIs(t, err, want, "Check must refuse")
	require.ErrorContains(t, err, msg, "Check must refuse for the property under test")
	solveErr := solveBoth(t, k, forceAssign(t, pub, priv, want))
	require.Error(t, solveErr, "the circuit must not be solved")
	return solveErr
}

// requireAccepted asserts that both Check and the circuit accept.
func requireAccepted(t *testing.T, k int, pub *Public, priv *Private) {
	t.Helper()
	require.NoError(t, Check(k, pub, priv))
	w, err := assignNoPanic(pub, priv)
	require.NoError(t, err)
	require.NoError(t, solveBoth(t, k, w))
}

func addInt(a fr.Element, n int64) fr.Element {
	d := zk.Int64(n)
	a.Add(&a, &d)
	return a
}

// forgeS returns sig with S replaced by S + the curve's prime order: only
// the range check on S refuses it (gnark's eddsa test).
func forgeS(sig []byte) []byte {
	order := twistededwards.GetEdwardsCurve().Order
	s := new(big.Int).SetBytes(sig[32:])
	s.Add(s, &order)
	out := append([]byte(nil), sig...)
	s.FillBytes(out[32:])
	return out
}

func (f *fixture) slot(t testing.TB, name string) (int, fr.Element) {
	a, ok := zk.AttrByName(name)
	require.True(t, ok, name)
	return persona.SlotOf(a.Index), f.priv.Credential.Attrs[a.Index]
}

func (f *fixture) revEntry() fr.Element {
	return zk.CredentialRevocationEntry(f.priv.Credential.RevNonce)
}

// assertDifferent is the test engine's name for the distinctness
// constraint (api.AssertIsDifferent: x - x' has an inverse).
const assertDifferent = "[assertIsDifferent]"

// TestSoundness is the table of forged witnesses: one row per property,
// at K = 2 unless the row says otherwise. Rows that break one signer break
// the second (the first stays valid: K-1 valid endorsements and one bad).
func TestSoundness(t *testing.T) {
	cases := []struct {
		name   string
		k      int // 0: 2
		forge  func(t *testing.T, f *fixture)
		want   error  // ErrStatement or ErrShape
		msg    string // what Check must name
		engine string // what the test engine's error must name, if set
	}{
		// Distinctness: the new constraint of this profile.
		{"one provider's signature twice (same key, same leaf)", 0, func(t *testing.T, f *fixture) {
			f.priv.Endorsements[1] = f.priv.Endorsements[0]
		}, ErrStatement, "same provider key", assertDifferent},
		{"one provider's signature twice, slots 0 and 2 of 3", 3, func(t *testing.T, f *fixture) {
			f.priv.Endorsements[2] = f.priv.Endorsements[0]
		}, ErrStatement, "signers 0 and 2 are the same", assertDifferent},
		{"one provider's signature twice, slots 1 and 2 of 3", 3, func(t *testing.T, f *fixture) {
			f.priv.Endorsements[2] = f.priv.Endorsements[1]
		}, ErrStatement, "signers 1 and 2 are the same", assertDifferent},
		{"one provider's signature five times", 5, func(t *testing.T, f *fixture) {
			for i := range f.priv.Endorsements {
				f.priv.Endorsements[i] = f.priv.Endorsements[3]
			}
		}, ErrStatement, "same provider key", assertDifferent},
		{"one key registered twice (renewed validity), one leaf per slot", 0, func(t *testing.T, f *fixture) {
			// Two different registry leaves, both honest, for one key:
			// comparing leaves would count it twice; comparing keys does not.
			renewed := zk.ProviderOrgLeaf(f.keys[0].Public(), zk.GradeHigh, f.now+2*365*86400, f.orgs[0])
			i, err := f.reg.Append(renewed)
			require.NoError(t, err)
			f.pub.RegistryRoot = f.reg.Root()
			f.priv.Endorsements[0].Registry = f.reg.Path(1)
			f.priv.Endorsements[1] = f.priv.Endorsements[0]
			f.priv.Endorsements[1].ValidUntil = f.now + 2*365*86400
			f.priv.Endorsements[1].Registry = f.reg.Path(i)
		}, ErrStatement, "same provider key", assertDifferent},

		// K-1 valid endorsements and one bad signature.
		{"second signature over another credential", 0, func(t *testing.T, f *fixture) {
			other := f.priv.Credential
			other.Commitment = zk.Commit(randElement(t))
			sig, err := f.keys[1].Sign(other.Message())
			require.NoError(t, err)
			f.priv.Endorsements[1].Signature = sig
		}, ErrStatement, "signer 1: the signature", "eddsa"},
		{"second signature S + curve order", 0, func(t *testing.T, f *fixture) {
			f.priv.Endorsements[1].Signature = forgeS(f.priv.Endorsements[1].Signature)
		}, ErrStatement, "signer 1: the signature", "eddsa"},
		{"second signature S + 1", 0, func(t *testing.T, f *fixture) {
			sig := f.priv.Endorsements[1].Signature
			s := new(big.Int).SetBytes(sig[32:])
			s.Add(s, big.NewInt(1))
			s.FillBytes(sig[32:])
		}, ErrStatement, "signer 1: the signature", "eddsa"},
		{"second signature's R replaced by the base point", 0, func(t *testing.T, f *fixture) {
			base := twistededwards.GetEdwardsCurve().Base
			b := base.Bytes()
			copy(f.priv.Endorsements[1].Signature[:32], b[:])
		}, ErrStatement, "signer 1: the signature", "eddsa"},
		{"second slot: the first provider's signature under the second key", 0, func(t *testing.T, f *fixture) {
			f.priv.Endorsements[1].Signature = f.priv.Endorsements[0].Signature
		}, ErrStatement, "signer 1: the signature", "eddsa"},
		{"first slot bad, second good", 0, func(t *testing.T, f *fixture) {
			f.priv.Endorsements[0].Signature = forgeS(f.priv.Endorsements[0].Signature)
		}, ErrStatement, "signer 0: the signature", "eddsa"},
		{"K=3: two valid signatures and one over another credential", 3, func(t *testing.T, f *fixture) {
			other := f.priv.Credential
			other.Expiry++
			sig, err := f.keys[2].Sign(other.Message())
			require.NoError(t, err)
			f.priv.Endorsements[2].Signature = sig
		}, ErrStatement, "signer 2: the signature", "eddsa"},
		{"a registered provider that did not sign, with a signer's signature", 0, func(t *testing.T, f *fixture) {
			n := f.n // keys[n] is registered and signed nothing
			f.priv.Endorsements[1] = Endorsement{
				Key: f.keys[n].Public(), Signature: f.priv.Endorsements[0].Signature,
				MaxGrade: f.grades[n], ValidUntil: f.valid[n], Org: f.orgs[n], Registry: f.reg.Path(uint64(n + 1)),
			}
		}, ErrStatement, "signer 1: the signature", "eddsa"},
		{"attribute tampered without re-signing (every signature fails)", 0, func(t *testing.T, f *fixture) {
			_, e := attrOf(t, "family_name", "Smith")
			a, _ := zk.AttrByName("family_name")
			f.priv.Credential.Attrs[a.Index] = e
		}, ErrStatement, "signer 0: the signature", "eddsa"},
		{"grade changed without re-signing", 0, func(t *testing.T, f *fixture) {
			f.priv.Credential.Grade = zk.GradeSubstantial
		}, ErrStatement, "signature", ""},
		{"revocation nonce changed without re-signing", 0, func(t *testing.T, f *fixture) {
			f.priv.Credential.RevNonce = randElement(t)
			f.proveAbsent(t)
		}, ErrStatement, "signature", ""},
		{"device key hash changed without re-signing", 0, func(t *testing.T, f *fixture) {
			f.priv.Credential.DeviceKeyHash = fr.NewElement(43)
		}, ErrStatement, "signature", ""},

		// The registry, per signer.
		{"second key not in the registry", 0, func(t *testing.T, f *fixture) {
			k := newKey(t)
			sig, err := k.Sign(f.priv.Credential.Message())
			require.NoError(t, err)
			e := &f.priv.Endorsements[1]
			e.Key, e.Signature = k.Public(), sig // path stays keys[1]'s
		}, ErrStatement, "signer 1: the key is not in the registry", ""},
		{"second key from another framework's registry", 0, func(t *testing.T, f *fixture) {
			k := newKey(t)
			other := zk.NewTree(RegistryDepth)
			i, err := other.Append(zk.ProviderOrgLeaf(k.Public(), zk.GradeHigh, f.valid[0], zk.OrgID("elsewhere")))
			require.NoError(t, err)
			sig, err := k.Sign(f.priv.Credential.Message())
			require.NoError(t, err)
			f.priv.Endorsements[1] = Endorsement{Key: k.Public(), Signature: sig, MaxGrade: zk.GradeHigh, ValidUntil: f.valid[0], Org: zk.OrgID("elsewhere"), Registry: other.Path(i)}
		}, ErrStatement, "signer 1: the key is not in the registry", ""},
		{"second signer: the stranger's leaf index", 0, func(t *testing.T, f *fixture) {
			f.priv.Endorsements[1].Registry = f.reg.Path(0)
		}, ErrStatement, "signer 1: the key is not in the registry", ""},
		{"second signer: wrong registry path sibling", 0, func(t *testing.T, f *fixture) {
			s := f.priv.Endorsements[1].Registry.Siblings
			s[5] = addInt(s[5], 1)
		}, ErrStatement, "signer 1: the key is not in the registry", ""},
		{"wrong registry root", 0, func(t *testing.T, f *fixture) {
			f.pub.RegistryRoot = addInt(f.pub.RegistryRoot, 1)
		}, ErrStatement, "signer 0: the key is not in the registry", ""},
		{"second signer: MaxGrade lied about", 0, func(t *testing.T, f *fixture) {
			f.grades[1] = zk.GradeSubstantial
			f.register(t)
			f.priv.Endorsements[1].MaxGrade = zk.GradeHigh
		}, ErrStatement, "signer 1: the key is not in the registry", ""},
		{"second signer: ValidUntil lied about", 0, func(t *testing.T, f *fixture) {
			f.valid[1] = f.now - 1
			f.register(t)
			f.priv.Endorsements[1].ValidUntil = f.now + 86400
		}, ErrStatement, "signer 1: the key is not in the registry", ""},

		// Grades.
		{"grade above the second signer's maximum", 0, func(t *testing.T, f *fixture) {
			f.grades[1] = zk.GradeSubstantial // the credential stays high
			f.register(t)
		}, ErrStatement, "signer 1: the grade is above", "gadget.RangeCheck"},
		{"grade above every signer's maximum, K=3", 3, func(t *testing.T, f *fixture) {
			f.grades[2] = zk.GradeLow
			f.register(t)
		}, ErrStatement, "signer 2: the grade is above", "gadget.RangeCheck"},
		{"second signer's maximum grade 256 + high", 0, func(t *testing.T, f *fixture) {
			f.grades[1] = 1<<GradeBits + zk.GradeHigh
			f.register(t)
		}, ErrStatement, "signer 1: the grade is above", "gadget.RangeCheck"},
		{"grade below MinGrade", 0, func(t *testing.T, f *fixture) {
			f.priv.Credential.Grade = zk.GradeLow
			f.resign(t)
		}, ErrStatement, "grade", "gadget.RangeCheck"},
		{"MinGrade above every grade", 0, func(t *testing.T, f *fixture) {
			f.pub.MinGrade = zk.GradeHigh + 1
		}, ErrStatement, "grade", ""},
		{"MinGrade = 256", 0, func(t *testing.T, f *fixture) {
			f.pub.MinGrade = 1 << GradeBits
		}, ErrShape, "grade", ""},
		{"grade 256 + high", 0, func(t *testing.T, f *fixture) {
			f.priv.Credential.Grade = 1<<GradeBits + zk.GradeHigh
			f.resign(t)
		}, ErrStatement, "grade", "gadget.RangeCheck"},

		// Time.
		{"second signer's key past ValidUntil", 0, func(t *testing.T, f *fixture) {
			f.valid[1] = f.now - 1
			f.register(t)
		}, ErrStatement, "signer 1: the provider key is no longer valid", "gadget.RangeCheck"},
		{"second signer's ValidUntil negative", 0, func(t *testing.T, f *fixture) {
			f.valid[1] = -1
			f.register(t)
		}, ErrStatement, "signer 1: the provider key is no longer valid", "gadget.RangeCheck"},
		{"second signer's ValidUntil >= 2^40", 0, func(t *testing.T, f *fixture) {
			f.valid[1] = 1 << TimeBits
			f.register(t)
		}, ErrStatement, "signer 1: the provider key is no longer valid", "gadget.RangeCheck"},
		{"expired credential", 0, func(t *testing.T, f *fixture) {
			f.priv.Credential.Expiry = f.now - 1
			f.resign(t)
		}, ErrStatement, "expired", "gadget.RangeCheck"},
		{"expiry negative", 0, func(t *testing.T, f *fixture) {
			f.priv.Credential.Expiry = -1
			f.resign(t)
		}, ErrStatement, "expired", "gadget.RangeCheck"},
		{"expiry >= 2^40", 0, func(t *testing.T, f *fixture) {
			f.priv.Credential.Expiry = 1 << TimeBits
			f.resign(t)
		}, ErrStatement, "expired", "gadget.RangeCheck"},
		{"Now >= 2^40", 0, func(t *testing.T, f *fixture) {
			f.pub.Now = 1 << TimeBits
		}, ErrShape, "time", ""},
		{"Now = -1, which would make every credential look unexpired", 0, func(t *testing.T, f *fixture) {
			f.priv.Credential.Expiry = 0
			f.resign(t)
			f.pub.Now = -1
		}, ErrShape, "time", ""},

		// Revocation: the credential's own entry.
		{"revoked as a whole, stale witness", 0, func(t *testing.T, f *fixture) {
			require.NoError(t, f.rev.Insert(f.revEntry()))
			f.pub.RevocationRoot = f.rev.Root()
		}, ErrStatement, "revoked", ""},
		{"revoked, proven with the other two signers, K=2 of 3", 0, func(t *testing.T, f *fixture) {
			// A revocation names the credential, not a signer: no choice of
			// k of its signers escapes it.
			require.NoError(t, f.rev.Insert(f.revEntry()))
			f.pub.RevocationRoot = f.rev.Root()
			f.priv.Endorsements = []Endorsement{f.all[1], f.all[2]}
		}, ErrStatement, "revoked", ""},
		{"revoked, own leaf as low leaf (lowValue = x)", 0, func(t *testing.T, f *fixture) {
			x := f.revEntry()
			require.NoError(t, f.rev.Insert(x))
			nm, err := f.rev.ProveAbsent(addInt(x, 1))
			require.NoError(t, err)
			require.Equal(t, x, nm.LowValue)
			f.priv.Revocation, f.pub.RevocationRoot = nm, f.rev.Root()
		}, ErrStatement, "revoked", ""},
		{"revoked, predecessor as low leaf (lowNext = x)", 0, func(t *testing.T, f *fixture) {
			x := f.revEntry()
			require.NoError(t, f.rev.Insert(x))
			nm, err := f.rev.ProveAbsent(addInt(x, -1))
			require.NoError(t, err)
			require.Equal(t, x, nm.LowNext)
			f.priv.Revocation, f.pub.RevocationRoot = nm, f.rev.Root()
		}, ErrStatement, "revoked", ""},
		{"revoked, last leaf above x as low leaf (lowValue > x, lowNext = 0)", 0, func(t *testing.T, f *fixture) {
			x := f.revEntry()
			require.NoError(t, f.rev.Insert(x))
			require.NoError(t, f.rev.Insert(zk.Int64(-2))) // p - 2: the largest entry
			nm, err := f.rev.ProveAbsent(zk.Int64(-1))
			require.NoError(t, err)
			require.True(t, nm.LowNext.IsZero())
			f.priv.Revocation, f.pub.RevocationRoot = nm, f.rev.Root()
		}, ErrStatement, "revoked", ""},
		{"revoked, forged low leaf around x", 0, func(t *testing.T, f *fixture) {
			x := f.revEntry()
			require.NoError(t, f.rev.Insert(x))
			f.pub.RevocationRoot = f.rev.Root()
			f.priv.Revocation.LowValue, f.priv.Revocation.LowNext = addInt(x, -1), addInt(x, 1)
		}, ErrStatement, "revoked", ""},
		{"not revoked, low leaf next set to zero", 0, func(t *testing.T, f *fixture) {
			require.NoError(t, f.rev.Insert(zk.Int64(-1)))
			f.proveAbsent(t)
			require.False(t, f.priv.Revocation.LowNext.IsZero())
			f.priv.Revocation.LowNext = fr.Element{}
		}, ErrStatement, "revoked", ""},
		{"not revoked, wrong revocation path sibling", 0, func(t *testing.T, f *fixture) {
			f.priv.Revocation.Path.Siblings[31] = addInt(f.priv.Revocation.Path.Siblings[31], 1)
		}, ErrStatement, "revoked", ""},
		{"not revoked, witness from an older snapshot", 0, func(t *testing.T, f *fixture) {
			require.NoError(t, f.rev.Insert(randElement(t)))
			f.pub.RevocationRoot = f.rev.Root()
		}, ErrStatement, "revoked", ""},

		// Holder secret and pseudonym.
		{"wrong secret", 0, func(t *testing.T, f *fixture) {
			f.priv.Secret = randElement(t)
			f.pub.Pseudonym = zk.Pseudonym(f.priv.Secret, f.pub.Scope)
		}, ErrStatement, "secret", ""},
		{"other scope", 0, func(t *testing.T, f *fixture) {
			f.pub.Scope = zk.Scope("forum.example")
		}, ErrStatement, "pseudonym", ""},
		{"pseudonym altered", 0, func(t *testing.T, f *fixture) {
			f.pub.Pseudonym = addInt(f.pub.Pseudonym, 1)
		}, ErrStatement, "pseudonym", ""},

		// Predicates and disclosures.
		{"= false", 0, func(t *testing.T, f *fixture) {
			slot, _ := f.slot(t, "nationality")
			f.pub.Predicates[2] = persona.Predicate{Slot: slot, Op: persona.OpEq, Value: zk.Int64(276)}
		}, ErrStatement, "predicate 2", ""},
		{"!= false", 0, func(t *testing.T, f *fixture) {
			slot, v := f.slot(t, "nationality")
			f.pub.Predicates[2] = persona.Predicate{Slot: slot, Op: persona.OpNe, Value: v}
		}, ErrStatement, "predicate 2", ""},
		{"<= false", 0, func(t *testing.T, f *fixture) {
			slot, v := f.slot(t, "birth_date")
			f.pub.Predicates[0] = persona.Predicate{Slot: slot, Op: persona.OpLe, Value: addInt(v, -1)}
		}, ErrStatement, "predicate 0", ""},
		{">= false", 0, func(t *testing.T, f *fixture) {
			slot, v := f.slot(t, "birth_date")
			f.pub.Predicates[7] = persona.Predicate{Slot: slot, Op: persona.OpGe, Value: addInt(v, 1)}
		}, ErrStatement, "predicate 7", ""},
		{"<= on a string attribute", 0, func(t *testing.T, f *fixture) {
			slot, _ := f.slot(t, "family_name")
			f.pub.Predicates[3] = persona.Predicate{Slot: slot, Op: persona.OpLe, Value: zk.Int64(1<<63 - 1)}
		}, ErrStatement, "predicate 3", ""},
		{"in-set with a value not in the set", 0, func(t *testing.T, f *fixture) {
			set := []fr.Element{zk.Int64(276), zk.Int64(250)}
			tr, err := zk.SetTree(SetDepth, set)
			require.NoError(t, err)
			f.pub.Predicates[1] = persona.Predicate{Slot: f.pub.Predicates[1].Slot, Op: persona.OpIn, Value: tr.Root(), Set: set}
		}, ErrStatement, "predicate 1", ""},
		{"in-set with a wrong set root", 0, func(t *testing.T, f *fixture) {
			tr, err := zk.SetTree(SetDepth, []fr.Element{zk.Int64(276)})
			require.NoError(t, err)
			f.pub.Predicates[1].Value = tr.Root() // the set still lists NL
		}, ErrShape, "set root", ""},
		{"in-set on the NoAttr slot: zero is in no set", 0, func(t *testing.T, f *fixture) {
			f.pub.Predicates[1].Slot = persona.NoAttr
		}, ErrStatement, "predicate 1", ""},
		{"predicate slot negative", 0, func(t *testing.T, f *fixture) {
			f.pub.Predicates[2] = persona.Predicate{Slot: -1, Op: persona.OpEq}
		}, ErrShape, "predicate 2", ""},
		{"operator out of range (255)", 0, func(t *testing.T, f *fixture) {
			f.pub.Predicates[4].Op = 255
		}, ErrShape, "operator", ""},
		{"disclosed value of another attribute", 0, func(t *testing.T, f *fixture) {
			slot, _ := f.slot(t, "residence_country")
			f.pub.Disclosures[0].Slot = slot
		}, ErrStatement, "disclosure 0", ""},
		{"disclosure slot negative", 0, func(t *testing.T, f *fixture) {
			f.pub.Disclosures[1] = persona.Disclosure{Slot: -1}
		}, ErrShape, "disclosure 1", ""},
		{"predicate slot out of range (17)", 0, func(t *testing.T, f *fixture) {
			f.pub.Predicates[0].Slot = NumAttrs + 1
		}, ErrShape, "predicate 0", ""},
		{"operator out of range (6)", 0, func(t *testing.T, f *fixture) {
			f.pub.Predicates[0].Op = persona.OpIn + 1
		}, ErrShape, "operator", ""},
		{"disclosed value altered", 0, func(t *testing.T, f *fixture) {
			f.pub.Disclosures[0].Value = zk.Int64(276)
		}, ErrStatement, "disclosure 0", ""},
		{"NoAttr disclosure with a non-zero value", 0, func(t *testing.T, f *fixture) {
			f.pub.Disclosures[3] = persona.Disclosure{Slot: persona.NoAttr, Value: fr.NewElement(1)}
		}, ErrStatement, "disclosure 3", ""},
		{"disclosure slot out of range (17)", 0, func(t *testing.T, f *fixture) {
			f.pub.Disclosures[1] = persona.Disclosure{Slot: NumAttrs + 1}
		}, ErrShape, "disclosure 1", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			k := tc.k
			if k == 0 {
				k = 2
			}
			f := newFixture(t, k)
			tc.forge(t, f)
			err := requireRefused(t, k, &f.pub, &f.priv, tc.want, tc.msg)
			if tc.engine != "" {
				require.ErrorContains(t, err, tc.engine, "the circuit must refuse at the property under test")
			}
		})
	}
}
