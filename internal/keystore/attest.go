package keystore

import (
	"crypto/sha256"
	"encoding/asn1"
	"fmt"
	"math/big"

	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport"
)

// akLabel makes the attestation key's template, and so the key, Mustard's.
const akLabel = "mustard/keystore/attestation-key/v1"

// akTemplate is the attestation key: a restricted ECDSA P-256 signing key,
// a primary in the endorsement hierarchy that never leaves the TPM. Being
// restricted, it signs only what the TPM itself generated (attestation
// structures beginning with TPM_GENERATED_VALUE), never an outside digest
// made to look like one.
var akTemplate = p256SigningTemplate(akLabel, true)

// AttestationKeys are the public areas (marshalled TPMT_PUBLIC) a
// provider needs to check that the device key lives in a TPM: the
// endorsement key (TCG ECC P-256 EK template), the attestation key and the
// device key.
type AttestationKeys struct {
	EK, AK, Device []byte
}

// Certification is the wallet's answer to a provider's credential
// challenge: the credential recovered with TPM2_ActivateCredential (only
// the TPM holding that EK, with that AK loaded, can recover it), and a
// TPM2_Certify of the device key by the AK whose qualifying data is
// SHA-256 of the credential: marshalled TPMS_ATTEST and its ASN.1 DER
// ECDSA signature.
type Certification struct {
	Credential  []byte
	CertifyInfo []byte
	Signature   []byte
}

// AttestationKeys creates (or re-creates: primaries are deterministic)
// the EK and the AK and returns their public areas with the device key's.
func (k *TPM) AttestationKeys() (*AttestationKeys, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return nil, ErrClosed
	}
	// A TPM holds few transient objects (the reference TPM: three, one
	// being the storage root key), so each key is created, read and
	// flushed in turn.
	out := &AttestationKeys{}
	for _, c := range []struct {
		tmpl tpm2.TPMTPublic
		dst  *[]byte
	}{{tpm2.ECCEKTemplate, &out.EK}, {akTemplate, &out.AK}} {
		rsp, err := tpm2.CreatePrimary{PrimaryHandle: tpm2.TPMRHEndorsement, InPublic: tpm2.New2B(c.tmpl)}.Execute(k.tpm)
		if err != nil {
			return nil, fmt.Errorf("keystore: attestation keys: %w", err)
		}
		k.flush(rsp.ObjectHandle)
		pub, err := rsp.OutPublic.Contents()
		if err != nil {
			return nil, err
		}
		*c.dst = tpm2.Marshal(pub)
	}
	dev, err := k.deviceKey()
	if err != nil {
		return nil, fmt.Errorf("keystore: attestation keys: %w", err)
	}
	devPub, err := tpm2.ReadPublic{ObjectHandle: dev.handle.Handle}.Execute(k.tpm)
	if err != nil {
		return nil, fmt.Errorf("keystore: attestation keys: %w", err)
	}
	dp, err := devPub.OutPublic.Contents()
	if err != nil {
		return nil, err
	}
	out.Device = tpm2.Marshal(dp)
	return out, nil
}

// Activate answers a provider's challenge (the ID object and encrypted
// secret of TPM2_MakeCredential for this EK and AK): it recovers the
// credential and certifies the device key with the AK over it.
func (k *TPM) Activate(idObject, encSecret []byte) (*Certification, error) {
	if len(idObject) == 0 || len(idObject) > 1024 || len(encSecret) == 0 || len(encSecret) > 1024 {
		return nil, fmt.Errorf("keystore: activate: %w", ErrInvalidInput)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return nil, ErrClosed
	}
	// Room for the EK and the AK beside the storage root key: the device
	// key is flushed now and re-created (the same key) for TPM2_Certify.
	if k.dev != nil {
		k.flush(k.dev.handle.Handle)
		k.dev = nil
	}
	ek, ak, err := k.attestationPrimaries()
	if err != nil {
		return nil, fmt.Errorf("keystore: activate: %w", err)
	}
	defer k.flush(ak.ObjectHandle)
	ekFlushed := false
	defer func() {
		if !ekFlushed {
			k.flush(ek.ObjectHandle)
		}
	}()
	act, err := tpm2.ActivateCredential{
		ActivateHandle: tpm2.NamedHandle{Handle: ak.ObjectHandle, Name: ak.Name},
		KeyHandle: tpm2.AuthHandle{
			Handle: ek.ObjectHandle, Name: ek.Name,
			// The TCG EK's policy: PolicySecret on the endorsement hierarchy.
			Auth: tpm2.Policy(tpm2.TPMAlgSHA256, 16, func(t transport.TPM, s tpm2.TPMISHPolicy, nonce tpm2.TPM2BNonce) error {
				_, err := tpm2.PolicySecret{AuthHandle: tpm2.TPMRHEndorsement, PolicySession: s, NonceTPM: nonce}.Execute(t)
				return err
			}),
		},
		CredentialBlob: tpm2.TPM2BIDObject{Buffer: idObject},
		Secret:         tpm2.TPM2BEncryptedSecret{Buffer: encSecret},
	}.Execute(k.tpm)
	if err != nil {
		return nil, fmt.Errorf("keystore: activate credential: %w", err)
	}
	k.flush(ek.ObjectHandle)
	ekFlushed = true
	dev, err := k.deviceKey()
	if err != nil {
		return nil, fmt.Errorf("keystore: activate: %w", err)
	}
	return k.certifyWithAK(tpm2.NamedHandle{Handle: dev.handle.Handle, Name: dev.handle.Name}, ak, act.CertInfo.Buffer, "device key")
}

// certifyWithAK has the AK certify obj (TPM2_Certify), qualified by the
// hash of the activated credential so the certification answers this
// challenge only; what names obj in errors.
func (k *TPM) certifyWithAK(obj tpm2.NamedHandle, ak *tpm2.CreatePrimaryResponse, credential []byte, what string) (*Certification, error) {
	qualifying := sha256.Sum256(credential)
	cert, err := tpm2.Certify{
		ObjectHandle:   tpm2.AuthHandle{Handle: obj.Handle, Name: obj.Name, Auth: tpm2.PasswordAuth(nil)},
		SignHandle:     tpm2.AuthHandle{Handle: ak.ObjectHandle, Name: ak.Name, Auth: tpm2.PasswordAuth(nil)},
		QualifyingData: tpm2.TPM2BData{Buffer: qualifying[:]},
		InScheme:       tpm2.TPMTSigScheme{Scheme: tpm2.TPMAlgNull},
	}.Execute(k.tpm)
	if err != nil {
		return nil, fmt.Errorf("keystore: certify %s: %w", what, err)
	}
	info, err := cert.CertifyInfo.Contents()
	if err != nil {
		return nil, err
	}
	sig, err := cert.Signature.Signature.ECDSA()
	if err != nil {
		return nil, fmt.Errorf("keystore: certify %s: %w", what, err)
	}
	der, err := asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(sig.SignatureR.Buffer), new(big.Int).SetBytes(sig.SignatureS.Buffer)})
	if err != nil {
		return nil, err
	}
	return &Certification{Credential: credential, CertifyInfo: tpm2.Marshal(info), Signature: der}, nil
}

// attestationPrimaries creates the EK and the AK; the caller flushes them.
func (k *TPM) attestationPrimaries() (ek, ak *tpm2.CreatePrimaryResponse, err error) {
	ek, err = tpm2.CreatePrimary{PrimaryHandle: tpm2.TPMRHEndorsement, InPublic: tpm2.New2B(tpm2.ECCEKTemplate)}.Execute(k.tpm)
	if err != nil {
		return nil, nil, fmt.Errorf("create endorsement key: %w", err)
	}
	ak, err = tpm2.CreatePrimary{PrimaryHandle: tpm2.TPMRHEndorsement, InPublic: tpm2.New2B(akTemplate)}.Execute(k.tpm)
	if err != nil {
		k.flush(ek.ObjectHandle)
		return nil, nil, fmt.Errorf("create attestation key: %w", err)
	}
	return ek, ak, nil
}
