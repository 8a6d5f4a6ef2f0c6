package devicebound

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/circuits/persona"
	"github.com/mustard-id/mustard/zk"
)

// fixture is circuits/persona's test world (two registered providers, a
// few revoked entries, one holder) whose credential commits a software
// P-256 device key, and that key's signature on the nonce's digest.
type fixture struct {
	pub  persona.Public
	priv persona.Private
	key  *zk.PrivateKey
	dev  *ecdsa.PrivateKey
	sig  *Signed
	now  int64
}

func attrOf(t testing.TB, name, v string) (int, fr.Element) {
	a, ok := zk.AttrByName(name)
	require.True(t, ok, name)
	e, err := a.Encode(v)
	require.NoError(t, err)
	return persona.SlotOf(a.Index), e
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	dev, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	f := newFixtureFor(t, &dev.PublicKey)
	f.dev = dev
	f.sig = signNonce(t, dev, f.pub.Nonce)
	return f
}

// newFixtureFor builds the world around the device key devKey; the
// caller signs the nonce.
func newFixtureFor(t testing.TB, devKey *ecdsa.PublicKey) *fixture {
	t.Helper()
	f := &fixture{now: time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC).Unix()}
	other, err := zk.GenerateKey(nil)
	require.NoError(t, err)
	f.key, err = zk.GenerateKey(nil)
	require.NoError(t, err)
	validUntil := f.now + 365*86400

	reg := zk.NewTree(persona.RegistryDepth)
	_, err = reg.Append(zk.ProviderLeaf(other.Public(), zk.GradeHigh, validUntil))
	require.NoError(t, err)
	regLeaf, err := reg.Append(zk.ProviderLeaf(f.key.Public(), zk.GradeHigh, validUntil))
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
		DeviceKeyHash: KeyHash(devKey),
	}
	natIdx, nat := attrOf(t, "nationality", "NL")
	cred.Attrs[natIdx-1] = nat
	birthIdx, birth := attrOf(t, "birth_date", "1990-04-12")
	cred.Attrs[birthIdx-1] = birth
	sig, err := f.key.Sign(cred.Message())
	require.NoError(t, err)

	rev := zk.NewIndexedTree(persona.RevocationDepth)
	for i := 0; i < 3; i++ {
		n, err := zk.RandomElement()
		require.NoError(t, err)
		require.NoError(t, rev.Insert(zk.RevocationEntry(other.Public(), n)))
	}
	nm, err := rev.ProveAbsent(zk.RevocationEntry(f.key.Public(), revNonce))
	require.NoError(t, err)

	scope := zk.Scope("shop.example")
	cutoff := zk.Days(time.Unix(f.now, 0).AddDate(-18, 0, 0))
	f.pub = persona.Public{
		RegistryRoot:   reg.Root(),
		RevocationRoot: rev.Root(),
		Scope:          scope,
		Pseudonym:      zk.Pseudonym(secret, scope),
		Now:            f.now,
		MinGrade:       zk.GradeSubstantial,
		HolderBinding:  fr.NewElement(7),
		Nonce:          zk.Nonce("n-0S6_WzA2Mj"),
	}
	f.pub.Predicates[0] = persona.Predicate{Slot: birthIdx, Op: persona.OpLe, Value: zk.Int64(cutoff)}
	f.pub.Disclosures[0] = persona.Disclosure{Slot: natIdx, Value: nat}
	f.priv = persona.Private{
		Secret:      secret,
		Credential:  cred,
		Signature:   sig,
		ProviderKey: f.key.Public(),
		MaxGrade:    zk.GradeHigh,
		ValidUntil:  validUntil,
		Registry:    reg.Path(regLeaf),
		Revocation:  nm,
	}
	return f
}

// signNonce signs Digest(nonce) with key, as the TPM does.
func signNonce(t testing.TB, key *ecdsa.PrivateKey, nonce fr.Element) *Signed {
	t.Helper()
	d := Digest(nonce)
	der, err := ecdsa.SignASN1(rand.Reader, key, d[:])
	require.NoError(t, err)
	s, err := ParseSignature(&key.PublicKey, der)
	require.NoError(t, err)
	return s
}

// resign re-signs the credential after a test changed it.
func (f *fixture) resign(t testing.TB) {
	sig, err := f.key.Sign(f.priv.Credential.Message())
	require.NoError(t, err)
	f.priv.Signature = sig
}
