package server

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/mustard-id/mustard/internal/keystore"
)

// hostTPM opens the host's TPM, or fails with keystore.ErrNoTPM where
// there is none. Tests replace it with the simulator.
var hostTPM = func() (keystore.Sealer, error) {
	if _, err := os.Stat(keystore.DefaultDevice); errors.Is(err, fs.ErrNotExist) {
		return nil, keystore.ErrNoTPM
	}
	return keystore.OpenTPM(keystore.DefaultDevice)
}

// sealDEK seals the data key that encrypts the server's key bundle (the
// provider's signing key among them): by the host TPM when there is one,
// with the passphrase as the sealed object's authValue (so the TPM's
// dictionary-attack lockout limits guessing and the blob is useless off
// this machine); by the passphrase alone (Argon2id) otherwise.
func sealDEK(dek, pass []byte) ([]byte, keystore.Kind, error) {
	ks, err := hostTPM()
	if errors.Is(err, keystore.ErrNoTPM) {
		ks, err = keystore.NewSoftware(), nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("server: open the host TPM: %w", err)
	}
	defer ks.Close()
	blob, err := ks.Seal(dek, pass)
	if err != nil {
		return nil, "", err
	}
	return blob, ks.Kind(), nil
}

// unsealDEK opens a sealed data key with the kind of sealer that sealed
// it: a TPM-sealed key needs that TPM, never a passphrase alone.
func unsealDEK(blob, pass []byte) ([]byte, error) {
	kind, err := keystore.BlobKind(blob)
	if err != nil {
		return nil, err
	}
	var ks keystore.Sealer
	if kind == keystore.KindSoftware {
		ks = keystore.NewSoftware()
	} else if ks, err = hostTPM(); err != nil {
		return nil, fmt.Errorf("server: the keys are sealed by a TPM: %w", err)
	}
	defer ks.Close()
	return ks.Unseal(blob, pass)
}
