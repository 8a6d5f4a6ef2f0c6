package keystore

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// The attestation keys are primaries: the same TPM (the same seed) gives
// the same EK, AK and device key on every call and every open; Activate
// refuses garbage and a closed TPM. The full protocol (MakeCredential on
// the provider's side) is tested in coreid.
func TestAttestationKeysStable(t *testing.T) {
	tpm, err := OpenSimulator(7)
	require.NoError(t, err)
	a, err := tpm.AttestationKeys()
	require.NoError(t, err)
	b, err := tpm.AttestationKeys()
	require.NoError(t, err)
	require.Equal(t, a, b)
	require.NotEqual(t, a.EK, a.AK)
	_, err = tpm.Activate(nil, []byte{1})
	require.ErrorIs(t, err, ErrInvalidInput)
	_, err = tpm.Activate([]byte{0, 1, 2}, []byte{0, 1, 2})
	require.Error(t, err)
	// The device key still signs after Activate flushed and re-created it.
	pub, err := tpm.DevicePublicKey()
	require.NoError(t, err)
	require.NoError(t, tpm.Close())

	tpm, err = OpenSimulator(7)
	require.NoError(t, err)
	c, err := tpm.AttestationKeys()
	require.NoError(t, err)
	require.Equal(t, a, c)
	pub2, err := tpm.DevicePublicKey()
	require.NoError(t, err)
	require.True(t, pub.Equal(pub2))
	require.NoError(t, tpm.Close())
	_, err = tpm.AttestationKeys()
	require.ErrorIs(t, err, ErrClosed)
}
