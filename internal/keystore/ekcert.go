package keystore

import (
	"encoding/asn1"
	"errors"
	"fmt"

	"github.com/google/go-tpm/tpm2"
)

// EKCertIndexECC is the NV index of the ECC P-256 endorsement key's
// certificate, and EKCertIndexRSA that of the RSA 2048 one (TCG EK
// Credential Profile for TPM Family 2.0, §2.2.1.4 "Low Range"). The
// TPM's manufacturer (or the platform's) writes the certificate there,
// as X.509 DER, when the TPM is made.
const (
	EKCertIndexECC tpm2.TPMHandle = 0x01c0000a
	EKCertIndexRSA tpm2.TPMHandle = 0x01c00002
)

// nvChunk is the most read per TPM2_NV_Read: every TPM's
// MAX_NV_BUFFER_SIZE is at least 1024 (PC Client platform profile).
const nvChunk = 1024

// maxEKCertSize bounds an EK certificate (a real one is under 1.5 KiB,
// with intermediate certificates rarely present beside it).
const maxEKCertSize = 8192

// ErrNoEKCertificate is returned by EKCertificate when the TPM has no ECC
// EK certificate in NV (the simulator, many virtual TPMs, and TPMs whose
// manufacturer provisioned only the RSA one).
var ErrNoEKCertificate = errors.New("no EK certificate in the TPM")

// EKCertificate reads the ECC endorsement key's certificate (X.509 DER)
// from NV index EKCertIndexECC, with the index's own (empty)
// authorization: the profile's EK certificate indices are readable by
// anyone (TPMA_NV_AUTHREAD with an empty authValue, as well as
// OWNERREAD and PPREAD). Trailing bytes after the certificate's DER
// (some TPMs pad the index) are dropped. A missing index yields
// ErrNoEKCertificate. The certificate is not checked here: the provider
// verifies its chain to the manufacturer's root and that it certifies
// the EK in AttestationKeys.
func (k *TPM) EKCertificate() ([]byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return nil, ErrClosed
	}
	b, err := k.readNV(EKCertIndexECC, nvChunk, maxEKCertSize)
	if err != nil {
		return nil, fmt.Errorf("keystore: EK certificate: %w", err)
	}
	der, err := trimDER(b)
	if err != nil {
		return nil, fmt.Errorf("keystore: EK certificate: NV index %#x: %w", uint32(EKCertIndexECC), err)
	}
	return der, nil
}

// trimDER returns the DER SEQUENCE at the start of b, without what
// follows it.
func trimDER(b []byte) ([]byte, error) {
	var raw asn1.RawValue
	rest, err := asn1.Unmarshal(b, &raw)
	if err != nil || raw.Class != asn1.ClassUniversal || raw.Tag != asn1.TagSequence || !raw.IsCompound {
		return nil, errors.New("not a DER certificate")
	}
	return b[:len(b)-len(rest)], nil
}

// readNV reads an NV index whole, chunk bytes at a time, authorizing
// with the index's empty authValue. It refuses an index larger than max.
// The caller holds k.mu.
func (k *TPM) readNV(index tpm2.TPMHandle, chunk, max int) ([]byte, error) {
	rp, err := tpm2.NVReadPublic{NVIndex: index}.Execute(k.tpm)
	if err != nil {
		if errors.Is(err, tpm2.TPMRCHandle) {
			return nil, ErrNoEKCertificate
		}
		return nil, err
	}
	pub, err := rp.NVPublic.Contents()
	if err != nil {
		return nil, err
	}
	if !pub.Attributes.Written {
		return nil, ErrNoEKCertificate
	}
	size := int(pub.DataSize)
	if size == 0 || size > max {
		return nil, fmt.Errorf("NV index %#x holds %d bytes (at most %d accepted)", uint32(index), size, max)
	}
	out := make([]byte, 0, size)
	for len(out) < size {
		n := min(chunk, size-len(out))
		rsp, err := tpm2.NVRead{
			AuthHandle: tpm2.AuthHandle{Handle: index, Name: rp.NVName, Auth: tpm2.PasswordAuth(nil)},
			NVIndex:    tpm2.NamedHandle{Handle: index, Name: rp.NVName},
			Size:       uint16(n),
			Offset:     uint16(len(out)),
		}.Execute(k.tpm)
		if err != nil {
			return nil, err
		}
		if len(rsp.Data.Buffer) != n {
			return nil, fmt.Errorf("NV index %#x: short read", uint32(index))
		}
		out = append(out, rsp.Data.Buffer...)
	}
	return out, nil
}

// ErrNotSimulator is returned by SetSimulatorEKCertificate on a real TPM.
var ErrNotSimulator = errors.New("not the TPM simulator")

// SetSimulatorEKCertificate writes der (at most 2048 bytes, the reference
// simulator's largest NV index) as the simulator's ECC EK certificate, at
// EKCertIndexECC with the profile's read attributes (AUTHREAD with an
// empty authValue, OWNERREAD, PPREAD, no DA), replacing any there. The
// simulator comes without one; this lets a development CA stand in for a
// TPM manufacturer. A real TPM's certificate is its manufacturer's:
// there it fails with ErrNotSimulator.
func (k *TPM) SetSimulatorEKCertificate(der []byte) error {
	if k.kind != KindSimulator {
		return fmt.Errorf("keystore: set EK certificate: %w", ErrNotSimulator)
	}
	if len(der) == 0 || len(der) > 2048 {
		return fmt.Errorf("keystore: set EK certificate: %w", ErrInvalidInput)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return ErrClosed
	}
	if err := k.writeNV(EKCertIndexECC, der); err != nil {
		return fmt.Errorf("keystore: set EK certificate: %w", err)
	}
	return nil
}

// writeNV (re)defines index with owner authorization and the EK
// certificate profile's read attributes, and writes data into it. The
// caller holds k.mu.
func (k *TPM) writeNV(index tpm2.TPMHandle, data []byte) error {
	if _, err := (tpm2.NVReadPublic{NVIndex: index}).Execute(k.tpm); err == nil {
		if _, err := (tpm2.NVUndefineSpace{AuthHandle: tpm2.TPMRHOwner, NVIndex: tpm2.NamedHandle{Handle: index}}).Execute(k.tpm); err != nil {
			return err
		}
	}
	_, err := tpm2.NVDefineSpace{
		AuthHandle: tpm2.TPMRHOwner,
		PublicInfo: tpm2.New2B(tpm2.TPMSNVPublic{
			NVIndex: index,
			NameAlg: tpm2.TPMAlgSHA256,
			Attributes: tpm2.TPMANV{
				OwnerWrite: true,
				AuthRead:   true,
				OwnerRead:  true,
				PPRead:     true,
				NoDA:       true,
				NT:         tpm2.TPMNTOrdinary,
			},
			DataSize: uint16(len(data)),
		}),
	}.Execute(k.tpm)
	if err != nil {
		return err
	}
	rp, err := tpm2.NVReadPublic{NVIndex: index}.Execute(k.tpm)
	if err != nil {
		return err
	}
	for off := 0; off < len(data); off += nvChunk {
		end := min(off+nvChunk, len(data))
		if _, err := (tpm2.NVWrite{
			AuthHandle: tpm2.TPMRHOwner,
			NVIndex:    tpm2.NamedHandle{Handle: index, Name: rp.NVName},
			Data:       tpm2.TPM2BMaxNVBuffer{Buffer: data[off:end]},
			Offset:     uint16(off),
		}).Execute(k.tpm); err != nil {
			return err
		}
	}
	return nil
}
