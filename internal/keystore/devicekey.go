package keystore

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/asn1"
	"fmt"
	"math/big"

	"github.com/google/go-tpm/tpm2"
)

// deviceKeyLabel fills the device key template's unique field, so that
// the device key differs from every other primary key made from the same
// hierarchy seed (the storage root key among them) and is re-created
// identically on every open.
const deviceKeyLabel = "mustard/keystore/device-key/v1"

// deviceKeyTemplate is the device key's public area: a P-256 ECDSA-SHA256
// signing key, a primary key in the owner hierarchy, that never leaves
// the TPM (fixedTPM, fixedParent, sensitiveDataOrigin). It is
// unrestricted, so that it signs digests computed outside the TPM (a
// verifier's nonce), and has an empty authValue with noDA set: it is a
// device credential, usable by whoever can use the TPM, not a user
// credential.
var deviceKeyTemplate = p256SigningTemplate(deviceKeyLabel, false)

// p256SigningTemplate is the public area of a P-256 ECDSA-SHA256 signing
// primary that never leaves the TPM, with an empty authValue and noDA,
// made unique to label; restricted keys sign only TPM-generated structures.
func p256SigningTemplate(label string, restricted bool) tpm2.TPMTPublic {
	unique := sha256.Sum256([]byte(label))
	return tpm2.TPMTPublic{
		Type:    tpm2.TPMAlgECC,
		NameAlg: tpm2.TPMAlgSHA256,
		ObjectAttributes: tpm2.TPMAObject{
			FixedTPM:            true,
			FixedParent:         true,
			SensitiveDataOrigin: true,
			UserWithAuth:        true,
			NoDA:                true,
			Restricted:          restricted,
			SignEncrypt:         true,
		},
		Parameters: tpm2.NewTPMUPublicParms(tpm2.TPMAlgECC, &tpm2.TPMSECCParms{
			CurveID: tpm2.TPMECCNistP256,
			Scheme: tpm2.TPMTECCScheme{
				Scheme: tpm2.TPMAlgECDSA,
				Details: tpm2.NewTPMUAsymScheme(tpm2.TPMAlgECDSA, &tpm2.TPMSSigSchemeECDSA{
					HashAlg: tpm2.TPMAlgSHA256,
				}),
			},
		}),
		Unique: tpm2.NewTPMUPublicID(tpm2.TPMAlgECC, &tpm2.TPMSECCPoint{
			X: tpm2.TPM2BECCParameter{Buffer: unique[:]},
			Y: tpm2.TPM2BECCParameter{Buffer: make([]byte, 32)},
		}),
	}
}

// deviceKey is the loaded device key.
type deviceKey struct {
	handle tpm2.NamedHandle
	pub    *ecdsa.PublicKey
}

// DevicePublicKey returns the public half of the TPM-resident P-256
// device key. The key is a primary key derived from the owner hierarchy's
// seed and a fixed template, so it is the same on every open of the same
// TPM (the same simulator seed) until the owner hierarchy is cleared.
func (k *TPM) DevicePublicKey() (*ecdsa.PublicKey, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	dev, err := k.deviceKey()
	if err != nil {
		return nil, fmt.Errorf("keystore: device key: %w", err)
	}
	pub := *dev.pub
	return &pub, nil
}

// SignDevice signs a SHA-256 digest with the device key and returns the
// ASN.1 DER ECDSA signature that crypto/ecdsa.VerifyASN1 checks against
// DevicePublicKey. The digest must be 32 bytes.
func (k *TPM) SignDevice(digest []byte) ([]byte, error) {
	if len(digest) != sha256.Size {
		return nil, fmt.Errorf("keystore: sign: digest must be %d bytes: %w", sha256.Size, ErrInvalidInput)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	dev, err := k.deviceKey()
	if err != nil {
		return nil, fmt.Errorf("keystore: sign: %w", err)
	}
	rsp, err := tpm2.Sign{
		KeyHandle: dev.handle,
		Digest:    tpm2.TPM2BDigest{Buffer: digest},
		InScheme: tpm2.TPMTSigScheme{
			Scheme: tpm2.TPMAlgECDSA,
			Details: tpm2.NewTPMUSigScheme(tpm2.TPMAlgECDSA, &tpm2.TPMSSchemeHash{
				HashAlg: tpm2.TPMAlgSHA256,
			}),
		},
		Validation: tpm2.TPMTTKHashCheck{Tag: tpm2.TPMSTHashCheck},
	}.Execute(k.tpm)
	if err != nil {
		return nil, fmt.Errorf("keystore: sign: %w", err)
	}
	sig, err := rsp.Signature.Signature.ECDSA()
	if err != nil {
		return nil, fmt.Errorf("keystore: sign: %w", err)
	}
	der, err := asn1.Marshal(struct{ R, S *big.Int }{
		new(big.Int).SetBytes(sig.SignatureR.Buffer),
		new(big.Int).SetBytes(sig.SignatureS.Buffer),
	})
	if err != nil {
		return nil, fmt.Errorf("keystore: sign: %w", err)
	}
	return der, nil
}

// deviceKey creates the device key on first use and keeps it loaded
// until Close. The caller holds k.mu.
func (k *TPM) deviceKey() (*deviceKey, error) {
	if k.closed {
		return nil, ErrClosed
	}
	if k.dev != nil {
		return k.dev, nil
	}
	rsp, err := tpm2.CreatePrimary{
		PrimaryHandle: tpm2.TPMRHOwner,
		InPublic:      tpm2.New2B(deviceKeyTemplate),
	}.Execute(k.tpm)
	if err != nil {
		return nil, err
	}
	pub, err := devicePublic(rsp.OutPublic)
	if err != nil {
		k.flush(rsp.ObjectHandle)
		return nil, err
	}
	k.dev = &deviceKey{
		handle: tpm2.NamedHandle{Handle: rsp.ObjectHandle, Name: rsp.Name},
		pub:    pub,
	}
	return k.dev, nil
}

func devicePublic(out tpm2.TPM2BPublic) (*ecdsa.PublicKey, error) {
	pub, err := out.Contents()
	if err != nil {
		return nil, err
	}
	parms, err := pub.Parameters.ECCDetail()
	if err != nil {
		return nil, err
	}
	point, err := pub.Unique.ECC()
	if err != nil {
		return nil, err
	}
	key, err := tpm2.ECDSAPub(parms, point)
	if err != nil {
		return nil, err
	}
	if _, err := key.ECDH(); err != nil { // rejects points off the curve
		return nil, err
	}
	return key, nil
}
