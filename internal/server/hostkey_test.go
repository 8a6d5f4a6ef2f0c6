package server

import (
	"crypto/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/internal/keystore"
)

// With a host TPM (here the simulator standing in for /dev/tpmrm0), the
// data key that encrypts the provider's keys is sealed by the TPM under
// the passphrase; without one, by the passphrase alone. Each blob opens
// only with the sealer that made it, and only with the passphrase.
func TestDataKeySealedByHostTPM(t *testing.T) {
	dek := make([]byte, 32)
	_, _ = rand.Read(dek)
	pass := []byte("correct horse")

	orig := hostTPM
	t.Cleanup(func() { hostTPM = orig })
	hostTPM = func() (keystore.Sealer, error) { return keystore.OpenSimulator(11) }
	blob, kind, err := sealDEK(dek, pass)
	require.NoError(t, err)
	require.Equal(t, keystore.KindSimulator, kind)
	got, err := unsealDEK(blob, pass)
	require.NoError(t, err)
	require.Equal(t, dek, got)
	_, err = unsealDEK(blob, []byte("wrong"))
	require.ErrorIs(t, err, keystore.ErrWrongPIN)

	// The TPM gone: its blob does not fall back to the passphrase.
	hostTPM = func() (keystore.Sealer, error) { return nil, keystore.ErrNoTPM }
	_, err = unsealDEK(blob, pass)
	require.ErrorIs(t, err, keystore.ErrNoTPM)

	soft, kind, err := sealDEK(dek, pass)
	require.NoError(t, err)
	require.Equal(t, keystore.KindSoftware, kind)
	got, err = unsealDEK(soft, pass)
	require.NoError(t, err)
	require.Equal(t, dek, got)
	_, err = unsealDEK(soft[:len(soft)-1], pass)
	require.ErrorIs(t, err, keystore.ErrCorrupt)
}
