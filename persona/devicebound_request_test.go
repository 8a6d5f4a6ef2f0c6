package persona

import (
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/internal/keystore"
	"github.com/mustard-id/mustard/verifier"
)

// CanDeriveDeviceBound refuses, before any PIN or proof, a wallet that is
// not enrolled, whose credential commits no device key, or whose keystore
// has no TPM device key; Answers lets only a device-bound persona answer
// a device-bound request.
func TestDeviceBoundRequest(t *testing.T) {
	w, err := Create(keystore.NewSoftware(), []byte("1234"))
	require.NoError(t, err)
	require.ErrorIs(t, w.CanDeriveDeviceBound(), ErrNotEnrolled)
	w.Core = &Core{}
	err = w.CanDeriveDeviceBound()
	require.ErrorIs(t, err, ErrNotDeviceBound)
	require.Contains(t, err.Error(), "commits no device key")
	w.Core.Credential.DeviceKeyHash = fr.NewElement(42)
	err = w.CanDeriveDeviceBound()
	require.ErrorIs(t, err, ErrNotDeviceBound)
	require.Contains(t, err.Error(), "no TPM device key")

	strict := &verifier.PresentationRequest{DeviceBound: true}
	plain := &verifier.PresentationRequest{}
	require.False(t, Answers(&Record{}, strict))
	require.True(t, Answers(&Record{DeviceBound: true}, strict))
	require.True(t, Answers(&Record{}, plain))
	require.True(t, Answers(&Record{DeviceBound: true}, plain))
	require.False(t, Answers(nil, plain))
}
