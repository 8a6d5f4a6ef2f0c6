package zk

import (
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/stretchr/testify/require"
)

func TestCredentialRevocationEntry(t *testing.T) {
	tags := []uint64{TagHolder, TagCore, TagProvider, TagRevoked, TagRevLeaf, TagPseudonym, TagScope, TagString, TagHolderKey, TagDevice, TagNonce}
	for _, tag := range tags {
		require.NotEqual(t, uint64(TagRevokedCredential), tag, "tags must be distinct")
	}
	n, err := RandomElement()
	require.NoError(t, err)
	x := CredentialRevocationEntry(n)
	require.Equal(t, Hash(TagRevokedCredential, n), x)
	// Not a single-provider entry, whatever the key's x.
	require.NotEqual(t, Hash(TagRevoked, fr.Element{}, n), x)
	require.NotEqual(t, Hash(TagRevoked, n), x)
	// One entry per nonce.
	m, err := RandomElement()
	require.NoError(t, err)
	require.NotEqual(t, CredentialRevocationEntry(m), x)
}

func TestProviderOrgLeaf(t *testing.T) {
	pk, err := GenerateKey(nil)
	require.NoError(t, err)
	org := OrgID("https://core.example")
	require.Equal(t, HashBytes(TagOrg, []byte("https://core.example")), org)
	require.NotEqual(t, OrgID("https://core.example/"), org)
	leaf := ProviderOrgLeaf(pk.Public(), GradeHigh, 1<<40-1, org)
	require.Equal(t, Hash(TagProviderOrg, pk.Public().A.X, pk.Public().A.Y, fr.NewElement(GradeHigh), fr.NewElement(1<<40-1), org), leaf)
	// Never the persona circuit's leaf of the same key.
	require.NotEqual(t, ProviderLeaf(pk.Public(), GradeHigh, 1<<40-1), leaf)
	require.NotEqual(t, ProviderOrgLeaf(pk.Public(), GradeHigh, 1<<40-1, OrgID("other")), leaf)
}

func TestThresholdNonce(t *testing.T) {
	seen := map[fr.Element]bool{}
	for range 64 {
		c, err := RandomElement()
		require.NoError(t, err)
		s, err := RandomElement()
		require.NoError(t, err)
		salt := ThresholdSalt(s)
		require.Equal(t, Hash(TagThresholdSalt, s), salt)
		n := ThresholdNonce(c, salt)
		require.True(t, IsThresholdNonce(n))
		require.Equal(t, n, ThresholdNonce(c, salt), "deterministic")
		require.NotEqual(t, n, ThresholdNonce(Commit(s), salt), "bound to the commitment")
		require.False(t, seen[n])
		seen[n] = true
		h := Hash(TagThresholdNonce, c, salt)
		hb, nb := h.Bytes(), n.Bytes()
		require.Equal(t, hb[2:], nb[2:])
	}
	require.False(t, IsThresholdNonce(fr.Element{}))
	require.False(t, IsThresholdNonce(fr.NewElement(0x2a4b)))
}

// A single-provider nonce never carries the k-of-n mark (a marked draw,
// about one in 12,400, is drawn again), so revocation and rebinding never
// take it for a k-of-n credential.
func TestRevocationNonceUnmarked(t *testing.T) {
	seen := map[fr.Element]bool{}
	for range 50_000 {
		n, err := RevocationNonce()
		require.NoError(t, err)
		require.False(t, IsThresholdNonce(n))
		require.False(t, seen[n])
		seen[n] = true
	}
}
