package persona

import (
	"crypto/hpke"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/internal/keystore"
)

func guardians(t *testing.T, n int) ([]*GuardianKey, []*GuardianPublic) {
	t.Helper()
	var keys []*GuardianKey
	var pubs []*GuardianPublic
	for range n {
		k, err := NewGuardianKey()
		require.NoError(t, err)
		// Through the files, as guardians hand them over.
		priv, err := k.MarshalPrivate()
		require.NoError(t, err)
		k, err = ParseGuardianPrivate(priv)
		require.NoError(t, err)
		pub, err := k.Public().Marshal()
		require.NoError(t, err)
		p, err := ParseGuardianPublic(pub)
		require.NoError(t, err)
		keys, pubs = append(keys, k), append(pubs, p)
	}
	return keys, pubs
}

// TestRecovery3of5: three guardians of five recover the wallet on a new
// device; two cannot; an altered share is caught.
func TestRecovery3of5(t *testing.T) {
	_, u, pin := newTestStore(t)
	gks, gpubs := guardians(t, 5)
	shares, err := u.Split(pin, 3, gpubs)
	require.NoError(t, err)
	require.Len(t, shares, 5)
	for i, s := range shares {
		b, err := s.Marshal()
		require.NoError(t, err)
		shares[i], err = ParseSealedShare(b)
		require.NoError(t, err)
	}
	device, err := NewGuardianKey()
	require.NoError(t, err)
	reenc := func(i int) *SealedShare {
		s, err := shares[i].Reencrypt(gks[i], device.Public())
		require.NoError(t, err)
		return s
	}
	// A guardian cannot open another's share.
	_, err = shares[0].Reencrypt(gks[1], device.Public())
	require.ErrorIs(t, err, ErrShares)

	three := []*SealedShare{reenc(0), reenc(2), reenc(4)}
	secret, kit, check, err := Recover(three, device)
	require.NoError(t, err)
	want, err := u.coreSecret(pin)
	require.NoError(t, err)
	require.Equal(t, want, secret)

	newPin := []byte("new device pin")
	dir := filepath.Join(t.TempDir(), "restored")
	st, err := RestoreStore(dir, keystore.NewSoftware(), newPin, secret, kit, check, Meta{})
	require.NoError(t, err)
	u2, err := st.Unlock(keystore.NewSoftware(), newPin)
	require.NoError(t, err)
	require.Equal(t, u.Wallet.Core.Credential, u2.Wallet.Core.Credential)
	require.Equal(t, u.Meta.Server, u2.Meta.Server)

	// Two shares are not enough.
	_, _, _, err = Recover(three[:2], device)
	require.ErrorContains(t, err, "needs 3")
	// Claiming a lower threshold changes the HPKE info: the share no
	// longer opens.
	low := []*SealedShare{three[0], three[1]}
	for i := range low {
		c := *low[i]
		c.Threshold = 2
		low[i] = &c
	}
	_, _, _, err = Recover(low, device)
	require.ErrorContains(t, err, "altered")
	// A flipped ciphertext byte.
	bad := *three[1]
	bad.Sealed = append([]byte{}, bad.Sealed...)
	bad.Sealed[len(bad.Sealed)-1] ^= 1
	_, _, _, err = Recover([]*SealedShare{three[0], &bad, three[2]}, device)
	require.ErrorContains(t, err, "altered")
	// A changed kit (a guardian pointing the wallet at another server).
	kitBad := *three[1]
	kitBad.Kit = []byte(`{"server":"https://evil.example"}`)
	_, _, _, err = Recover([]*SealedShare{three[0], &kitBad, three[2]}, device)
	require.ErrorIs(t, err, ErrShares)
	// The same share twice.
	_, _, _, err = Recover([]*SealedShare{three[0], three[0], three[2]}, device)
	require.ErrorIs(t, err, ErrShares)
}

func FuzzParseSealedShare(f *testing.F) {
	f.Add([]byte(`{"format":"mustard-recovery-share/v1","wallet":"0000000000000000000000000000000000000000000000000000000000000000","threshold":3,"count":5,"x":1,"kit":"e30=","recipient":"00","sealed":"AA=="}`))
	f.Add([]byte(`{"format":"mustard-recovery-share/v1","threshold":1,"count":0,"x":9}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseSealedShare(b)
		if err != nil {
			return
		}
		if s.Threshold < 2 || s.X < 1 || s.X > s.Count || s.Count > 255 {
			t.Fatalf("accepted %+v", s)
		}
	})
}

func BenchmarkRecover3of5(b *testing.B) {
	secret := make([]byte, 32)
	secret[31] = 7
	ys, _ := shamirSplit(secret, 3, 5)
	device, _ := NewGuardianKey()
	var shares []*SealedShare
	for i := range 3 {
		s := &SealedShare{Format: ShareFormat, Wallet: "00", Threshold: 3, Count: 5, X: i + 1, Kit: []byte("{}"), Recipient: device.Public().ID()}
		s.Sealed, _ = hpke.Seal(device.Public().pub, hpkeKDF, hpkeAEAD, s.info(), ys[i])
		shares = append(shares, s)
	}
	for b.Loop() {
		// The check value does not match ("00"): the benchmark measures
		// opening and combining, which happen before the check.
		_, _, _, _ = Recover(shares, device)
	}
}

func BenchmarkSealShare(b *testing.B) {
	g, _ := NewGuardianKey()
	y := make([]byte, 32)
	for b.Loop() {
		_, _ = hpke.Seal(g.Public().pub, hpkeKDF, hpkeAEAD, []byte("info"), y)
	}
}

// FuzzParseGuardianKey: key files from outside never panic the parsers.
func FuzzParseGuardianKey(f *testing.F) {
	k, _ := NewGuardianKey()
	priv, _ := k.MarshalPrivate()
	pub, _ := k.Public().Marshal()
	f.Add(priv)
	f.Add(pub)
	f.Add([]byte(`{"format":"mustard-guardian-key/v1","kem":25722,"public":"AAAA"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = ParseGuardianPrivate(b)
		_, _ = ParseGuardianPublic(b)
	})
}
