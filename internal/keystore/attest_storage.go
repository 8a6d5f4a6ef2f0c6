package keystore

import (
	"errors"
	"fmt"

	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport"
)

// CertifyStorageKey answers a transfer sender's credential challenge
// (TPM2_MakeCredential for this TPM's EK and AK, see AttestationKeys) as
// Activate answers a provider's, but certifies the storage root key: it
// recovers the credential with TPM2_ActivateCredential and has the AK
// TPM2_Certify the storage root key over SHA-256 of the credential. A
// sender that checks the EK's certificate, the credential and the
// certification knows the storage key it duplicates to lives in the same
// genuine TPM.
func (k *TPM) CertifyStorageKey(idObject, encSecret []byte) (*Certification, error) {
	if len(idObject) == 0 || len(idObject) > 1024 || len(encSecret) == 0 || len(encSecret) > 1024 {
		return nil, fmt.Errorf("keystore: certify storage key: %w", ErrInvalidInput)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return nil, ErrClosed
	}
	k.flushDeviceKey()
	ek, ak, err := k.attestationPrimaries()
	if err != nil {
		return nil, fmt.Errorf("keystore: certify storage key: %w", err)
	}
	defer k.flush(ak.ObjectHandle)
	act, err := tpm2.ActivateCredential{
		ActivateHandle: tpm2.NamedHandle{Handle: ak.ObjectHandle, Name: ak.Name},
		KeyHandle: tpm2.AuthHandle{
			Handle: ek.ObjectHandle, Name: ek.Name,
			Auth: tpm2.Policy(tpm2.TPMAlgSHA256, 16, func(t transport.TPM, s tpm2.TPMISHPolicy, nonce tpm2.TPM2BNonce) error {
				_, err := tpm2.PolicySecret{AuthHandle: tpm2.TPMRHEndorsement, PolicySession: s, NonceTPM: nonce}.Execute(t)
				return err
			}),
		},
		CredentialBlob: tpm2.TPM2BIDObject{Buffer: idObject},
		Secret:         tpm2.TPM2BEncryptedSecret{Buffer: encSecret},
	}.Execute(k.tpm)
	k.flush(ek.ObjectHandle)
	if err != nil {
		return nil, fmt.Errorf("keystore: activate credential: %w", err)
	}
	return k.certifyWithAK(tpm2.NamedHandle{Handle: k.srk.Handle, Name: k.srk.Name}, ak, act.CertInfo.Buffer, "storage key")
}

// maxWrappedField bounds each field of a software-wrapped import.
const maxWrappedField = 4 << 10

// Import imports a secret that a sender without a TPM wrapped in
// software for this TPM's storage root key (a keyed-hash object with an
// empty authValue, go-tpm's CreateDuplicate: persona.WrapForTPM), loads
// and unseals it, and returns the secret for the caller to seal under a
// PIN. It is the path for senders that hold the secret in software;
// between two TPMs, Duplicate and ImportDuplicate keep it inside them.
func (k *TPM) Import(public, duplicate, seed []byte) ([]byte, error) {
	if len(public) > maxWrappedField || len(duplicate) > maxWrappedField || len(seed) > maxWrappedField {
		return nil, fmt.Errorf("keystore: import: %w", ErrInvalidInput)
	}
	pub, err := tpm2.Unmarshal[tpm2.TPMTPublic](public)
	if err != nil {
		return nil, fmt.Errorf("keystore: import: public area: %w", ErrCorrupt)
	}
	if pub.Type != tpm2.TPMAlgKeyedHash || pub.NameAlg != tpm2.TPMAlgSHA256 || len(pub.AuthPolicy.Buffer) != 0 {
		return nil, errors.New("keystore: import: not a sealed data object")
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return nil, ErrClosed
	}
	k.flushDeviceKey()
	imp, err := tpm2.Import{
		ParentHandle: k.srk,
		ObjectPublic: tpm2.New2B(*pub),
		Duplicate:    tpm2.TPM2BPrivate{Buffer: duplicate},
		InSymSeed:    tpm2.TPM2BEncryptedSecret{Buffer: seed},
	}.Execute(k.tpm)
	if err != nil {
		return nil, fmt.Errorf("keystore: import: %w", err)
	}
	load, err := tpm2.Load{ParentHandle: k.srk, InPublic: tpm2.New2B(*pub), InPrivate: imp.OutPrivate}.Execute(k.tpm)
	if err != nil {
		return nil, fmt.Errorf("keystore: import: load: %w", err)
	}
	defer k.flush(load.ObjectHandle)
	out, err := tpm2.Unseal{ItemHandle: tpm2.AuthHandle{Handle: load.ObjectHandle, Name: load.Name, Auth: k.session(nil, tpm2.AESEncryption(128, tpm2.EncryptOut))}}.Execute(k.tpm)
	if err != nil {
		return nil, fmt.Errorf("keystore: import: unseal: %w", err)
	}
	return out.OutData.Buffer, nil
}
