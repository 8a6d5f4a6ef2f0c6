package persona

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/google/go-tpm/tpm2"

	"github.com/mustard-id/mustard/coreid"
	"github.com/mustard-id/mustard/internal/keystore"
)

// Receiver attestation: before duplicating the core secret to the storage
// key a receiving TPM offers, the sender checks that the key lives in a
// genuine TPM, as a provider checks a device key (coreid.Challenge):
//
//	R → S  storage key, EK, EK certificate chain, AK
//	S      checks the EK certificate chains to the TPM manufacturers'
//	       roots and certifies the EK; the AK is a restricted signing key
//	       that never leaves its TPM; TPM2_MakeCredential(EK, name(AK), c)
//	       with a fresh random c, in software
//	S → R  the credential blob and encrypted seed
//	R      TPM2_ActivateCredential (only the TPM holding that EK, with
//	       that AK loaded, recovers c); TPM2_Certify(storage key) by the AK
//	       over SHA-256(c)
//	R → S  c, the TPMS_ATTEST and the AK's signature
//	S      c matches; the AK signed a TPM-generated certification, over
//	       SHA-256(c), of the storage key's name; the storage key is a
//	       restricted decryption key that never leaves its TPM
//
// Only then does S duplicate the secret to that key.

// ErrReceiverUnattested is a receiving device whose storage key is not
// proven to live in a genuine TPM.
var ErrReceiverUnattested = errors.New("persona: transfer: the receiving device's TPM is not attested")

// ReceiverAttestation is what a receiving TPM offers besides its storage
// key: its endorsement key (TCG ECC P-256 EK template), the EK's
// certificate chain (X.509 DER, concatenated; empty on a TPM without
// one) and its attestation key, each public area a marshalled
// TPMT_PUBLIC.
type ReceiverAttestation struct {
	EK            []byte `json:"ek"`
	EKCertificate []byte `json:"ek_certificate,omitempty"`
	AK            []byte `json:"ak"`
	// Device is the receiver's device key, which the core credential
	// is rebound to after the transfer (coreid.Rebind); the provider
	// attests it then.
	Device []byte `json:"device,omitempty"`
}

// receiverChallenge is TPM2_MakeCredential's output for the receiver.
type receiverChallenge struct {
	IDObject  []byte `json:"id_object"`
	EncSecret []byte `json:"enc_secret"`
}

// receiverCertification is the receiver's answer.
type receiverCertification struct {
	Credential  []byte `json:"credential"`
	CertifyInfo []byte `json:"certify_info"`
	Signature   []byte `json:"signature"`
}

// Bounds on the attestation's fields.
const (
	maxAttPublic   = 1024
	maxAttEKChain  = 16 << 10
	maxAttCertInfo = 1024
	maxAttSig      = 128
)

// digest is the attestation's contribution to the transfer transcript.
func (a *ReceiverAttestation) digest() []byte {
	h := sha256.New()
	h.Write([]byte("mustard/transfer/receiver-attestation/v1"))
	if a != nil {
		for _, f := range [][]byte{a.EK, a.EKCertificate, a.AK, a.Device} {
			var n [4]byte
			binary.BigEndian.PutUint32(n[:], uint32(len(f)))
			h.Write(n[:])
			h.Write(f)
		}
	}
	return h.Sum(nil)
}

// pendingReceiver is a challenge sent, awaiting its certification.
type pendingReceiver struct {
	credential []byte
	ak         *ecdsa.PublicKey
	skName     []byte
}

// challengeReceiver checks a receiver's attestation of storageKey
// against roots at now and makes its credential challenge. Every failure
// wraps ErrReceiverUnattested.
func challengeReceiver(att *ReceiverAttestation, storageKey []byte, roots *x509.CertPool, now time.Time) (p *pendingReceiver, ch *receiverChallenge, err error) {
	defer func() {
		// go-tpm's decoder is not written for hostile input.
		if recover() != nil {
			p, ch, err = nil, nil, fmt.Errorf("%w: undecodable key", ErrReceiverUnattested)
		}
	}()
	if att == nil {
		return nil, nil, fmt.Errorf("%w: it sent no attestation", ErrReceiverUnattested)
	}
	if len(att.EK) > maxAttPublic || len(att.AK) > maxAttPublic || len(att.EKCertificate) > maxAttEKChain {
		return nil, nil, fmt.Errorf("%w: attestation too large", ErrReceiverUnattested)
	}
	sk, err := keystore.CheckStorageKey(storageKey)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrReceiverUnattested, err)
	}
	ek, err := tpm2.Unmarshal[tpm2.TPMTPublic](att.EK)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: endorsement key", ErrReceiverUnattested)
	}
	tmpl := tpm2.ECCEKTemplate
	shape := *ek
	shape.Unique = tmpl.Unique
	if !bytes.Equal(tpm2.Marshal(&shape), tpm2.Marshal(&tmpl)) {
		return nil, nil, fmt.Errorf("%w: not a TCG ECC P-256 endorsement key", ErrReceiverUnattested)
	}
	ekKey, err := p256Key(ek)
	if err != nil {
		return nil, nil, err
	}
	if err := coreid.VerifyEKCertificate(att.EKCertificate, ekKey, roots, now); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrReceiverUnattested, err)
	}
	ak, err := tpm2.Unmarshal[tpm2.TPMTPublic](att.AK)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: attestation key", ErrReceiverUnattested)
	}
	a := ak.ObjectAttributes
	if !a.FixedTPM || !a.FixedParent || !a.SensitiveDataOrigin || !a.SignEncrypt || a.Decrypt || !a.Restricted {
		return nil, nil, fmt.Errorf("%w: attestation key attributes", ErrReceiverUnattested)
	}
	akKey, err := p256Key(ak)
	if err != nil {
		return nil, nil, err
	}
	akName, err := tpm2.ObjectName(ak)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: attestation key", ErrReceiverUnattested)
	}
	skName, err := tpm2.ObjectName(sk)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: storage key", ErrReceiverUnattested)
	}
	encap, err := tpm2.ImportEncapsulationKey(ek)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: endorsement key", ErrReceiverUnattested)
	}
	cred := make([]byte, 32)
	if _, err := rand.Read(cred); err != nil {
		return nil, nil, err
	}
	idObject, encSecret, err := tpm2.CreateCredential(rand.Reader, encap, akName.Buffer, cred)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: make credential: %v", ErrReceiverUnattested, err)
	}
	return &pendingReceiver{credential: cred, ak: akKey, skName: skName.Buffer}, &receiverChallenge{IDObject: idObject, EncSecret: encSecret}, nil
}

// p256Key returns an ECC P-256 public area's key, on the curve.
func p256Key(pub *tpm2.TPMTPublic) (*ecdsa.PublicKey, error) {
	parms, err := pub.Parameters.ECCDetail()
	if pub.Type != tpm2.TPMAlgECC || pub.NameAlg != tpm2.TPMAlgSHA256 || err != nil || parms.CurveID != tpm2.TPMECCNistP256 {
		return nil, fmt.Errorf("%w: not a P-256 key", ErrReceiverUnattested)
	}
	pt, err := pub.Unique.ECC()
	if err != nil {
		return nil, fmt.Errorf("%w: not a P-256 key", ErrReceiverUnattested)
	}
	k, err := tpm2.ECDSAPub(parms, pt)
	if err != nil {
		return nil, fmt.Errorf("%w: not a P-256 key", ErrReceiverUnattested)
	}
	if _, err := k.ECDH(); err != nil {
		return nil, fmt.Errorf("%w: point off the curve", ErrReceiverUnattested)
	}
	return k, nil
}

// verify checks the receiver's answer to the challenge.
func (p *pendingReceiver) verify(c *receiverCertification) (err error) {
	defer func() {
		if recover() != nil {
			err = fmt.Errorf("%w: undecodable certification", ErrReceiverUnattested)
		}
	}()
	switch {
	case c == nil:
		return fmt.Errorf("%w: it did not answer the challenge", ErrReceiverUnattested)
	case !hmac.Equal(c.Credential, p.credential):
		return fmt.Errorf("%w: credential not activated by the TPM holding that endorsement key", ErrReceiverUnattested)
	case len(c.CertifyInfo) == 0 || len(c.CertifyInfo) > maxAttCertInfo || len(c.Signature) > maxAttSig:
		return fmt.Errorf("%w: certification size", ErrReceiverUnattested)
	}
	d := sha256.Sum256(c.CertifyInfo)
	if !ecdsa.VerifyASN1(p.ak, d[:], c.Signature) {
		return fmt.Errorf("%w: certification signature", ErrReceiverUnattested)
	}
	info, err := tpm2.Unmarshal[tpm2.TPMSAttest](c.CertifyInfo)
	if err != nil || info.Magic != tpm2.TPMGeneratedValue || info.Type != tpm2.TPMSTAttestCertify {
		return fmt.Errorf("%w: not a TPM certification", ErrReceiverUnattested)
	}
	want := sha256.Sum256(p.credential)
	if !bytes.Equal(info.ExtraData.Buffer, want[:]) {
		return fmt.Errorf("%w: certification not bound to this challenge", ErrReceiverUnattested)
	}
	cert, err := info.Attested.Certify()
	if err != nil || !bytes.Equal(cert.Name.Buffer, p.skName) {
		return fmt.Errorf("%w: the certification names another key", ErrReceiverUnattested)
	}
	return nil
}

// TPMReceiver is the receiving device's TPM in a TPM-to-TPM transfer
// (*keystore.TPM): it offers its storage key and attestation, answers the
// sender's challenge, and imports the duplicate under the new PIN.
type TPMReceiver interface {
	TPMImporter
	AttestationKeys() (*keystore.AttestationKeys, error)
	EKCertificate() ([]byte, error)
	CertifyStorageKey(idObject, encSecret []byte) (*keystore.Certification, error)
	ImportDuplicate(d *keystore.Duplicated, transferAuth, pin []byte) ([]byte, error)
}

// attestation gathers what a TPMReceiver offers.
func receiverAttestation(t TPMReceiver) (*ReceiverAttestation, error) {
	keys, err := t.AttestationKeys()
	if err != nil {
		return nil, err
	}
	att := &ReceiverAttestation{EK: keys.EK, AK: keys.AK, Device: keys.Device}
	cert, err := t.EKCertificate()
	switch {
	case err == nil:
		att.EKCertificate = cert
	case !errors.Is(err, keystore.ErrNoEKCertificate):
		return nil, err
	}
	return att, nil
}

// duplicableSealer is a keystore that can seal a secret so that its TPM
// can later duplicate it to another (keystore.TPM).
type duplicableSealer interface {
	SealDuplicable(secret, pin []byte) ([]byte, error)
}

// sealDuplicable seals secret duplicably where the sealer can, else as
// it seals everything.
func sealDuplicable(sealer keystore.Sealer, secret, pin []byte) ([]byte, error) {
	if d, ok := sealer.(duplicableSealer); ok {
		return d.SealDuplicable(secret, pin)
	}
	return sealer.Seal(secret, pin)
}

// duplicator is a keystore whose TPM can duplicate a sealed secret.
type duplicator interface {
	Duplicate(blob, pin, newParent, transferAuth []byte) (*keystore.Duplicated, error)
}

// Duplicable reports whether this wallet's core secret is sealed so that
// its TPM can duplicate it to another TPM.
func (u *Unlocked) Duplicable() bool {
	_, ok := u.Wallet.Sealer.(duplicator)
	return ok && keystore.Duplicable(u.Wallet.Sealed)
}

// MakeDuplicable re-seals a TPM wallet's core secret, sealed before
// duplicable sealing existed, as a duplicable object under the same PIN
// (the migration: the secret is unsealed once on this device, as any
// unlock does, and core.sealed replaced atomically). A wallet already
// duplicable, or whose keystore cannot duplicate, is left as it is; the
// result says whether it is duplicable now.
func (u *Unlocked) MakeDuplicable(pin []byte) (bool, error) {
	if u.Duplicable() {
		return true, nil
	}
	d, ok := u.Wallet.Sealer.(duplicableSealer)
	if !ok || u.Wallet.Sealer.Kind() == keystore.KindSoftware {
		return false, nil
	}
	secret, err := u.coreSecret(pin)
	if err != nil {
		return false, err
	}
	defer clear(secret)
	sealed, err := d.SealDuplicable(secret, pin)
	if err != nil {
		return false, err
	}
	if err := writeAtomic(filepath.Join(u.Dir, sealedFile), sealed); err != nil {
		return false, err
	}
	u.Wallet.Sealed = sealed
	return true, nil
}

// DuplicateFunc returns SendOptions.Duplicate for this wallet under pin,
// or nil when its secret is not duplicable.
func (u *Unlocked) DuplicateFunc(pin []byte) func(storageKey, transferAuth []byte) (*keystore.Duplicated, error) {
	if !u.Duplicable() {
		return nil
	}
	d := u.Wallet.Sealer.(duplicator)
	sealed := u.Wallet.Sealed
	return func(storageKey, transferAuth []byte) (*keystore.Duplicated, error) {
		return d.Duplicate(sealed, pin, storageKey, transferAuth)
	}
}

// SecretFunc returns SendOptions.Secret for this wallet under pin.
func (u *Unlocked) SecretFunc(pin []byte) func() ([]byte, error) {
	return func() ([]byte, error) { return u.coreSecret(pin) }
}
