package keystore

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/rand"
	"fmt"

	"golang.org/x/crypto/argon2"
)

// Argon2id cost for new software blobs: RFC 9106 §4's second recommended
// option (t=3, 64 MiB, p=4), for memory-constrained machines.
var defaultKDF = kdfParams{time: 3, memoryKiB: 64 * 1024, threads: 4}

// maxKDF bounds the cost Unseal accepts from a blob, so that a crafted
// blob cannot make it allocate or compute without limit.
var maxKDF = kdfParams{time: 64, memoryKiB: 4 * 1024 * 1024, threads: 64}

// Software seals secrets with a key derived from the PIN, for machines
// without a TPM. Its blobs can be attacked offline at Argon2id's cost per
// guess, with no lockout: it is a lower assurance grade, as strong only
// as the passphrase. It has no device key. Software is safe for
// concurrent use.
type Software struct {
	kdf   kdfParams // cost of new blobs
	limit kdfParams // highest cost accepted when unsealing
}

// NewSoftware returns a software sealer with the default Argon2id cost.
func NewSoftware() *Software {
	return &Software{kdf: defaultKDF, limit: maxKDF}
}

// Kind returns KindSoftware.
func (s *Software) Kind() Kind { return KindSoftware }

// Seal encrypts secret with AES-256-GCM under a key derived from pin by
// Argon2id with a fresh random salt; the nonce is random too.
func (s *Software) Seal(secret, pin []byte) ([]byte, error) {
	if err := checkSealInput(secret, pin); err != nil {
		return nil, err
	}
	b := &blob{
		kind:  KindSoftware,
		kdf:   s.kdf,
		salt:  make([]byte, saltSize),
		nonce: make([]byte, nonceSize),
	}
	if _, err := rand.Read(b.salt); err != nil {
		return nil, fmt.Errorf("keystore: seal: %w", err)
	}
	if _, err := rand.Read(b.nonce); err != nil {
		return nil, fmt.Errorf("keystore: seal: %w", err)
	}
	aead, err := softwareAEAD(b, pin)
	if err != nil {
		return nil, fmt.Errorf("keystore: seal: %w", err)
	}
	b.ciphertext = aead.Seal(nil, b.nonce, secret, b.prefix())
	return b.marshal(), nil
}

// Unseal decrypts a software blob. A GCM authentication failure on an
// intact blob means the PIN is wrong: ErrWrongPIN.
func (s *Software) Unseal(data, pin []byte) ([]byte, error) {
	b, err := parseBlob(data)
	if err != nil {
		return nil, fmt.Errorf("keystore: unseal: %w", err)
	}
	if b.kind != KindSoftware {
		return nil, fmt.Errorf("keystore: unseal: %s blob on a software keystore: %w", b.kind, ErrWrongDevice)
	}
	if b.kdf.time > s.limit.time || b.kdf.memoryKiB > s.limit.memoryKiB || b.kdf.threads > s.limit.threads {
		return nil, fmt.Errorf("keystore: unseal: Argon2id cost beyond limits: %w", ErrCorrupt)
	}
	aead, err := softwareAEAD(b, pin)
	if err != nil {
		return nil, fmt.Errorf("keystore: unseal: %w", err)
	}
	secret, err := aead.Open(nil, b.nonce, b.ciphertext, b.prefix())
	if err != nil {
		return nil, fmt.Errorf("keystore: unseal: %w", ErrWrongPIN)
	}
	return secret, nil
}

// DevicePublicKey returns ErrNoDeviceKey: a key kept in software would
// prove nothing about the device, so personas bound to a device key need
// a TPM.
func (s *Software) DevicePublicKey() (*ecdsa.PublicKey, error) {
	return nil, fmt.Errorf("keystore: device key: %w", ErrNoDeviceKey)
}

// Close does nothing; a software sealer holds no resources.
func (s *Software) Close() error { return nil }

// softwareAEAD derives the blob's key from pin and returns AES-256-GCM
// under it.
func softwareAEAD(b *blob, pin []byte) (cipher.AEAD, error) {
	key := argon2.IDKey(pin, b.salt, b.kdf.time, b.kdf.memoryKiB, b.kdf.threads, 32)
	defer clear(key)
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}
