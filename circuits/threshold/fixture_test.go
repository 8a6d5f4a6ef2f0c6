package threshold

import (
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/backend/groth16"
	"github.com/consensys/gnark/constraint"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/test"
	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/circuits/persona"
	"github.com/mustard-id/mustard/zk"
)

// fixture is a small world: n+1 registered providers (n = max(3, k)),
// the first n of which signed the holder's credential, a few revoked
// entries, and a statement proven with the first k of the n signatures.
type fixture struct {
	k, n   int
	pub    Public
	priv   Private
	keys   []*zk.PrivateKey // n+1 registered keys; keys[n] signed nothing
	grades []uint64         // their registry leaves' maximum grades
	valid  []int64          // and validities
	orgs   []fr.Element     // and organisations (zk.OrgID), one each
	all    []Endorsement    // the n endorsements, in key order
	// stranger is registry leaf 0, a key no test uses.
	stranger fr.Element
	reg      *zk.Tree
	rev      *zk.IndexedTree
	now      int64
}

func attrOf(t testing.TB, name, v string) (int, fr.Element) {
	a, ok := zk.AttrByName(name)
	require.True(t, ok, name)
	e, err := a.Encode(v)
	require.NoError(t, err)
	return persona.SlotOf(a.Index), e
}

func randElement(t testing.TB) fr.Element {
	e, err := zk.RandomElement()
	require.NoError(t, err)
	return e
}

func newKey(t testing.TB) *zk.PrivateKey {
	k, err := zk.GenerateKey(nil)
	require.NoError(t, err)
	return k
}

func newFixture(t testing.TB, k int) *fixture {
	t.Helper()
	f := &fixture{k: k, n: max(3, k), now: time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC).Unix()}
	f.stranger = zk.ProviderOrgLeaf(newKey(t).Public(), zk.GradeHigh, f.now+365*86400, zk.OrgID("stranger"))
	for i := range f.n + 1 {
		f.keys = append(f.keys, newKey(t))
		f.grades = append(f.grades, zk.GradeHigh)
		f.valid = append(f.valid, f.now+365*86400)
		f.orgs = append(f.orgs, zk.OrgID(fmt.Sprintf("https://core%d.example", i)))
	}

	secret := randElement(t)
	cred := zk.CoreCredential{
		Commitment:    zk.Commit(secret),
		Grade:         zk.GradeHigh,
		Expiry:        f.now + 30*86400,
		RevNonce:      randElement(t),
		DeviceKeyHash: fr.NewElement(42),
	}
	for _, kv := range [][2]string{{"birth_date", "1990-04-12"}, {"nationality", "NL"}, {"residence_country", "DE"}, {"family_name", "Jansen"}} {
		i, e := attrOf(t, kv[0], kv[1])
		cred.Attrs[i-1] = e
	}

	f.rev = zk.NewIndexedTree(RevocationDepth)
	for range 5 {
		require.NoError(t, f.rev.Insert(zk.CredentialRevocationEntry(randElement(t))))
	}

	scope := zk.Scope("shop.example")
	birth, _ := attrOf(t, "birth_date", "1990-04-12")
	nat, natValue := attrOf(t, "nationality", "NL")
	cutoff := zk.Days(time.Unix(f.now, 0).AddDate(-18, 0, 0))
	eu := []fr.Element{zk.Int64(276), zk.Int64(528), zk.Int64(250), zk.Int64(56)}
	euTree, err := zk.SetTree(SetDepth, eu)
	require.NoError(t, err)
	f.pub = Public{
		RevocationRoot: f.rev.Root(),
		Scope:          scope,
		Pseudonym:      zk.Pseudonym(secret, scope),
		Now:            f.now,
		MinGrade:       zk.GradeSubstantial,
		HolderBinding:  fr.NewElement(7),
		Nonce:          zk.Nonce("n-0S6_WzA2Mj"),
	}
	f.pub.Predicates[0] = persona.Predicate{Slot: birth, Op: persona.OpLe, Value: zk.Int64(cutoff)}
	f.pub.Predicates[1] = persona.Predicate{Slot: nat, Op: persona.OpIn, Value: euTree.Root(), Set: eu}
	f.pub.Disclosures[0] = persona.Disclosure{Slot: nat, Value: natValue}
	f.priv = Private{Secret: secret, Credential: cred}
	f.register(t)
	f.proveAbsent(t)
	return f
}

// register rebuilds the registry from the keys' grades and validities
// (leaf 0 a stranger, key i at leaf i+1), and the endorsements with it.
func (f *fixture) register(t testing.TB) {
	f.reg = zk.NewTree(RegistryDepth)
	_, err := f.reg.Append(f.stranger)
	require.NoError(t, err)
	for i, k := range f.keys {
		_, err := f.reg.Append(zk.ProviderOrgLeaf(k.Public(), f.grades[i], f.valid[i], f.orgs[i]))
		require.NoError(t, err)
	}
	f.pub.RegistryRoot = f.reg.Root()
	f.resign(t)
}

// endorse returns key i's endorsement of the fixture's credential.
func (f *fixture) endorse(t testing.TB, i int) Endorsement {
	sig, err := f.keys[i].Sign(f.priv.Credential.Message())
	require.NoError(t, err)
	return Endorsement{
		Key:        f.keys[i].Public(),
		Signature:  sig,
		MaxGrade:   f.grades[i],
		ValidUntil: f.valid[i],
		Org:        f.orgs[i],
		Registry:   f.reg.Path(uint64(i + 1)),
	}
}

// resign has the n providers sign the credential again after a test
// changed it, and takes the first k endorsements, so that only the
// property under test is broken.
func (f *fixture) resign(t testing.TB) {
	f.all = f.all[:0]
	for i := range f.n {
		f.all = append(f.all, f.endorse(t, i))
	}
	f.priv.Endorsements = append([]Endorsement(nil), f.all[:f.k]...)
}

// proveAbsent rebuilds the revocation witness for the credential's entry.
func (f *fixture) proveAbsent(t testing.TB) {
	nm, err := f.rev.ProveAbsent(zk.CredentialRevocationEntry(f.priv.Credential.RevNonce))
	require.NoError(t, err)
	f.priv.Revocation = nm
	f.pub.RevocationRoot = f.rev.Root()
}

// engineMu serializes gnark's test engine (see circuits/persona).
var engineMu sync.Mutex

func engineSolved(circuit, assignment frontend.Circuit) error {
	engineMu.Lock()
	defer engineMu.Unlock()
	return test.IsSolved(circuit, assignment, ecc.BN254.ScalarField())
}

// TestMain compiles the circuits before any test runs: zk.Compile writes
// gnark's global logger, which the test engine and the R1CS solver read,
// so no compilation may run beside the parallel subtests.
func TestMain(m *testing.M) {
	for _, k := range []int{1, 2, 3, 5} {
		if _, err := compileOnce(k)(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	os.Exit(m.Run())
}

// compiled compiles New(k) once per test binary.
var compiledOnce sync.Map // int -> func() (constraint.ConstraintSystem, error)

func compileOnce(k int) func() (constraint.ConstraintSystem, error) {
	f, _ := compiledOnce.LoadOrStore(k, sync.OnceValues(func() (constraint.ConstraintSystem, error) {
		return zk.Compile(New(k))
	}))
	return f.(func() (constraint.ConstraintSystem, error))
}

func compiled(t testing.TB, k int) constraint.ConstraintSystem {
	ccs, err := compileOnce(k)()
	require.NoError(t, err)
	return ccs
}

// thresholdKeys returns development keys for New(k).
func thresholdKeys(t testing.TB, k int) *zk.Keys {
	return setupKeys(t, fmt.Sprintf("threshold-%d", k), compileOnce(k))
}

// keysOnce runs one development Groth16 setup per circuit per test binary.
var keysOnce sync.Map // string -> func() (*zk.Keys, error)

func setupKeys(t testing.TB, name string, compile func() (constraint.ConstraintSystem, error)) *zk.Keys {
	f, _ := keysOnce.LoadOrStore(name, sync.OnceValues(func() (*zk.Keys, error) {
		ccs, err := compile()
		if err != nil {
			return nil, err
		}
		pk, vk, err := groth16.Setup(ccs)
		if err != nil {
			return nil, err
		}
		id, err := zk.VerifyingKeyID(vk)
		if err != nil {
			return nil, err
		}
		return &zk.Keys{Name: name, CCS: ccs, PK: pk, VK: vk, VKID: id, Development: true}, nil
	}))
	k, err := f.(func() (*zk.Keys, error))()
	require.NoError(t, err)
	return k
}
