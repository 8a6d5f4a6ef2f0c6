package persona

import (
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/zk"
)

// fixture is a small world: two registered providers, a few revoked
// entries, and one holder whose credential the second provider signed.
type fixture struct {
	pub     Public
	priv    Private
	key     *zk.PrivateKey
	reg     *zk.Tree
	rev     *zk.IndexedTree
	now     int64
	regLeaf uint64
}

func attrOf(t testing.TB, name, v string) (int, fr.Element) {
	a, ok := zk.AttrByName(name)
	require.True(t, ok, name)
	e, err := a.Encode(v)
	require.NoError(t, err)
	return SlotOf(a.Index), e
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{now: time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC).Unix()}
	other, err := zk.GenerateKey(nil)
	require.NoError(t, err)
	f.key, err = zk.GenerateKey(nil)
	require.NoError(t, err)
	validUntil := f.now + 365*86400

	f.reg = zk.NewTree(RegistryDepth)
	_, err = f.reg.Append(zk.ProviderLeaf(other.Public(), zk.GradeHigh, validUntil))
	require.NoError(t, err)
	f.regLeaf, err = f.reg.Append(zk.ProviderLeaf(f.key.Public(), zk.GradeHigh, validUntil))
	require.NoError(t, err)

	secret, err := zk.RandomElement()
	require.NoError(t, err)
	revNonce, err := zk.RandomElement()
	require.NoError(t, err)
	cred := zk.CoreCredential{
		Commitment:    zk.Commit(secret),
		Grade:         zk.GradeHigh,
		Expiry:        f.now + 30*86400,
		RevNonce:      revNonce,
		DeviceKeyHash: fr.NewElement(42),
	}
	for _, kv := range [][2]string{{"birth_date", "1990-04-12"}, {"nationality", "NL"}, {"residence_country", "DE"}, {"family_name", "Jansen"}} {
		i, e := attrOf(t, kv[0], kv[1])
		cred.Attrs[i-1] = e
	}
	sig, err := f.key.Sign(cred.Message())
	require.NoError(t, err)

	f.rev = zk.NewIndexedTree(RevocationDepth)
	for i := 0; i < 5; i++ {
		n, err := zk.RandomElement()
		require.NoError(t, err)
		require.NoError(t, f.rev.Insert(zk.RevocationEntry(other.Public(), n)))
	}
	x := zk.RevocationEntry(f.key.Public(), revNonce)
	nm, err := f.rev.ProveAbsent(x)
	require.NoError(t, err)

	scope := zk.Scope("shop.example")
	birthIdx, _ := attrOf(t, "birth_date", "1990-04-12")
	natIdx, nat := attrOf(t, "nationality", "NL")
	cutoff := zk.Days(time.Unix(f.now, 0).AddDate(-18, 0, 0))
	eu := []fr.Element{zk.Int64(276), zk.Int64(528), zk.Int64(250), zk.Int64(56)}
	euTree, err := zk.SetTree(SetDepth, eu)
	require.NoError(t, err)

	f.pub = Public{
		RegistryRoot:   f.reg.Root(),
		RevocationRoot: f.rev.Root(),
		Scope:          scope,
		Pseudonym:      zk.Pseudonym(secret, scope),
		Now:            f.now,
		MinGrade:       zk.GradeSubstantial,
		HolderBinding:  fr.NewElement(7),
		Nonce:          zk.Nonce("n-0S6_WzA2Mj"),
	}
	f.pub.Predicates[0] = Predicate{Slot: birthIdx, Op: OpLe, Value: zk.Int64(cutoff)}
	f.pub.Predicates[1] = Predicate{Slot: natIdx, Op: OpIn, Value: euTree.Root(), Set: eu}
	f.pub.Disclosures[0] = Disclosure{Slot: natIdx, Value: nat}
	f.priv = Private{
		Secret:      secret,
		Credential:  cred,
		Signature:   sig,
		ProviderKey: f.key.Public(),
		MaxGrade:    zk.GradeHigh,
		ValidUntil:  validUntil,
		Registry:    f.reg.Path(f.regLeaf),
		Revocation:  nm,
	}
	return f
}

// resign re-signs the credential after a test changed it, so that only the
// property under test is broken.
func (f *fixture) resign(t testing.TB) {
	sig, err := f.key.Sign(f.priv.Credential.Message())
	require.NoError(t, err)
	f.priv.Signature = sig
}
