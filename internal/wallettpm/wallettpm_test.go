package wallettpm

import (
	"bytes"
	"net"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/persona"
)

// TestImport wraps a secret in software for the simulator's storage root
// key and imports it in the TPM; an altered duplicate, and another TPM
// (another hierarchy seed), cannot open it.
func TestImport(t *testing.T) {
	secret := bytes.Repeat([]byte{0x5a}, 32)
	imp, err := OpenSimulator(1)
	require.NoError(t, err)
	sk, err := imp.StorageKey()
	require.NoError(t, err)
	w, err := persona.WrapForTPM(sk, secret)
	require.NoError(t, err)
	require.False(t, bytes.Contains(w.Duplicate, secret), "the duplicate is encrypted")

	got, err := imp.Import(w.Public, w.Duplicate, w.Seed)
	require.NoError(t, err)
	require.Equal(t, secret, got)

	bad := bytes.Clone(w.Duplicate)
	bad[len(bad)-1] ^= 1
	_, err = imp.Import(w.Public, bad, w.Seed)
	require.Error(t, err)
	badSeed := bytes.Clone(w.Seed)
	badSeed[10] ^= 1
	_, err = imp.Import(w.Public, w.Duplicate, badSeed)
	require.Error(t, err)
	_, err = imp.Import([]byte{1, 2, 3}, w.Duplicate, w.Seed)
	require.Error(t, err)
	require.NoError(t, imp.Close())

	other, err := OpenSimulator(2)
	require.NoError(t, err)
	defer other.Close()
	_, err = other.Import(w.Public, w.Duplicate, w.Seed)
	require.Error(t, err, "another TPM cannot import it")
	osk, _ := other.StorageKey()
	require.NotEqual(t, sk, osk)

	// Not a storage key: refused by the sender.
	_, err = persona.WrapForTPM([]byte{0, 1}, secret)
	require.ErrorIs(t, err, persona.ErrTransfer)
}

// TestTransferToTPM runs the transfer protocol with this TPM as the
// receiver: the sender wraps the secret for the TPM's storage key, and the
// TPM imports it.
func TestTransferToTPM(t *testing.T) {
	imp, err := OpenSimulator(3)
	require.NoError(t, err)
	defer imp.Close()
	secret := bytes.Repeat([]byte{0x42}, 32)
	code := persona.NewTransferCode()
	c1, c2 := net.Pipe()
	defer c1.Close()
	defer c2.Close()
	type sent struct {
		res *persona.SendResult
		err error
	}
	done := make(chan sent, 1)
	go func() {
		res, err := persona.SendTransfer(c1, code, &persona.TransferPayload{Secret: secret, Check: "x"}, nil)
		done <- sent{res, err}
	}()
	var got []byte
	err = persona.ReceiveTransfer(c2, code, persona.ReceiveOptions{Importer: imp}, func(p *persona.TransferPayload) error {
		got = bytes.Clone(p.Secret)
		require.Nil(t, p.TPMImport)
		return nil
	})
	require.NoError(t, err)
	s := <-done
	require.NoError(t, s.err)
	require.True(t, s.res.TPM, "the secret went wrapped for the TPM")
	require.Equal(t, secret, got)
}
