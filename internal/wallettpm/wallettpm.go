// Package wallettpm is the receiving side of a TPM-to-TPM wallet
// transfer: it offers the TPM's storage key and imports a secret wrapped
// for it (TPM2_Import, TPM2_Load, TPM2_Unseal), on a TPM device or on the
// go-tpm-tools simulator.
package wallettpm

import (
	"errors"
	"fmt"

	"github.com/google/go-tpm-tools/simulator"
	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport"
	"github.com/google/go-tpm/tpm2/transport/linuxtpm"

	"github.com/mustard-id/mustard/persona"
)

var _ persona.TPMImporter = (*Importer)(nil)

// maxField bounds each imported field.
const maxField = 4 << 10

// Importer is an open TPM with its storage root key (the ECC SRK template,
// the same key internal/keystore seals under).
type Importer struct {
	t      transport.TPMCloser
	srk    tpm2.NamedHandle
	srkPub []byte
}

// OpenDevice opens the TPM at path (for example /dev/tpmrm0).
func OpenDevice(path string) (*Importer, error) {
	t, err := linuxtpm.Open(path)
	if err != nil {
		return nil, fmt.Errorf("wallettpm: open %s: %w", path, err)
	}
	return open(t)
}

// OpenSimulator starts the go-tpm-tools simulator (one per process: close
// it before the keystore opens its own).
func OpenSimulator(seed int64) (*Importer, error) {
	sim, err := simulator.GetWithFixedSeedInsecure(seed)
	if err != nil {
		return nil, fmt.Errorf("wallettpm: open simulator: %w", err)
	}
	return open(transport.FromReadWriteCloser(sim))
}

func open(t transport.TPMCloser) (*Importer, error) {
	rsp, err := tpm2.CreatePrimary{PrimaryHandle: tpm2.TPMRHOwner, InPublic: tpm2.New2B(tpm2.ECCSRKTemplate)}.Execute(t)
	if err != nil {
		t.Close()
		return nil, fmt.Errorf("wallettpm: storage root key: %w", err)
	}
	pub, err := rsp.OutPublic.Contents()
	if err != nil {
		t.Close()
		return nil, err
	}
	return &Importer{t: t, srk: tpm2.NamedHandle{Handle: rsp.ObjectHandle, Name: rsp.Name}, srkPub: tpm2.Marshal(*pub)}, nil
}

// StorageKey returns the storage root key's public area.
func (i *Importer) StorageKey() ([]byte, error) { return i.srkPub, nil }

// Import imports a sealed object wrapped for the storage root key and
// unseals it.
func (i *Importer) Import(public, duplicate, seed []byte) ([]byte, error) {
	if len(public) > maxField || len(duplicate) > maxField || len(seed) > maxField {
		return nil, errors.New("wallettpm: import: field too large")
	}
	pub, err := tpm2.Unmarshal[tpm2.TPMTPublic](public)
	if err != nil {
		return nil, fmt.Errorf("wallettpm: import: public area: %w", err)
	}
	if pub.Type != tpm2.TPMAlgKeyedHash || pub.NameAlg != tpm2.TPMAlgSHA256 {
		return nil, errors.New("wallettpm: import: not a sealed data object")
	}
	name, err := tpm2.ObjectName(pub)
	if err != nil {
		return nil, err
	}
	imp, err := tpm2.Import{
		ParentHandle: i.srk,
		ObjectPublic: tpm2.New2B(*pub),
		Duplicate:    tpm2.TPM2BPrivate{Buffer: duplicate},
		InSymSeed:    tpm2.TPM2BEncryptedSecret{Buffer: seed},
	}.Execute(i.t)
	if err != nil {
		return nil, fmt.Errorf("wallettpm: import: %w", err)
	}
	load, err := tpm2.Load{ParentHandle: i.srk, InPublic: tpm2.New2B(*pub), InPrivate: imp.OutPrivate}.Execute(i.t)
	if err != nil {
		return nil, fmt.Errorf("wallettpm: load: %w", err)
	}
	defer tpm2.FlushContext{FlushHandle: load.ObjectHandle}.Execute(i.t)
	out, err := tpm2.Unseal{ItemHandle: tpm2.NamedHandle{Handle: load.ObjectHandle, Name: *name}}.Execute(i.t)
	if err != nil {
		return nil, fmt.Errorf("wallettpm: unseal: %w", err)
	}
	return out.OutData.Buffer, nil
}

// Close flushes the storage root key and closes the TPM.
func (i *Importer) Close() error {
	_, _ = tpm2.FlushContext{FlushHandle: i.srk.Handle}.Execute(i.t)
	return i.t.Close()
}
