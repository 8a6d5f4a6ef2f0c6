package zk

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr/poseidon2"
	"github.com/consensys/gnark-crypto/ecc/bn254/twistededwards"
	"github.com/consensys/gnark-crypto/ecc/bn254/twistededwards/eddsa"
)

// CoreCredential is what a core-identity provider signs: the holder's
// commitment, the normalized attributes, the grade, the expiry (Unix
// seconds), the revocation nonce and the hash of the TPM device key.
type CoreCredential struct {
	Commitment    fr.Element
	Attrs         [NumAttrs]fr.Element
	Grade         uint64
	Expiry        int64
	RevNonce      fr.Element
	DeviceKeyHash fr.Element
}

// Message is m = H(TagCore, C, attrs[0..N), grade, expiry, revNonce, deviceKeyHash).
func (c *CoreCredential) Message() fr.Element {
	xs := make([]fr.Element, 0, NumAttrs+5)
	xs = append(xs, c.Commitment)
	xs = append(xs, c.Attrs[:]...)
	xs = append(xs, fr.NewElement(c.Grade), Int64(c.Expiry), c.RevNonce, c.DeviceKeyHash)
	return Hash(TagCore, xs...)
}

// Commit returns the holder commitment C = H(TagHolder, s).
func Commit(secret fr.Element) fr.Element { return Hash(TagHolder, secret) }

// Pseudonym returns P = H(TagPseudonym, s, scope).
func Pseudonym(secret, scope fr.Element) fr.Element { return Hash(TagPseudonym, secret, scope) }

// Scope maps a scope string (a relying party's sector, e.g. "shop.example")
// to its field element.
func Scope(s string) fr.Element { return HashBytes(TagScope, []byte(s)) }

// Nonce maps a verifier's nonce string to its field element.
func Nonce(s string) fr.Element { return HashBytes(TagNonce, []byte(s)) }

// RevocationEntry is H(TagRevoked, pk.x, revNonce): what the revocation tree holds.
func RevocationEntry(pk *PublicKey, revNonce fr.Element) fr.Element {
	return Hash(TagRevoked, pk.A.X, revNonce)
}

// RandomElement returns a uniformly random field element.
func RandomElement() (fr.Element, error) {
	var e fr.Element
	_, err := e.SetRandom()
	return e, err
}

// PrivateKey is a provider's EdDSA key on BN254's twisted Edwards curve,
// with H (Poseidon2) as the challenge hash.
type PrivateKey struct{ k *eddsa.PrivateKey }

// PublicKey is the public half of a PrivateKey.
type PublicKey struct{ eddsa.PublicKey }

// GenerateKey makes a new provider key from r (crypto/rand if nil).
func GenerateKey(r io.Reader) (*PrivateKey, error) {
	if r == nil {
		r = rand.Reader
	}
	k, err := eddsa.GenerateKey(r)
	if err != nil {
		return nil, fmt.Errorf("zk: generate key: %w", err)
	}
	return &PrivateKey{k: k}, nil
}

// ParsePrivateKey reads a key serialized with Bytes.
func ParsePrivateKey(b []byte) (*PrivateKey, error) {
	k := new(eddsa.PrivateKey)
	if _, err := k.SetBytes(b); err != nil {
		return nil, fmt.Errorf("zk: parse private key: %w", err)
	}
	return &PrivateKey{k: k}, nil
}

// Bytes serializes the private key (keep it encrypted at rest).
func (k *PrivateKey) Bytes() []byte { return k.k.Bytes() }

// Public returns the public key.
func (k *PrivateKey) Public() *PublicKey { return &PublicKey{k.k.PublicKey} }

// Sign signs the field element m; the signature is R (compressed) || S.
func (k *PrivateKey) Sign(m fr.Element) ([]byte, error) {
	b := m.Bytes()
	sig, err := k.k.Sign(b[:], poseidon2.NewMerkleDamgardHasher())
	if err != nil {
		return nil, fmt.Errorf("zk: sign: %w", err)
	}
	return sig, nil
}

// ParsePublicKey reads a compressed public key (32 bytes) and checks it is
// on the curve and in the prime-order subgroup.
func ParsePublicKey(b []byte) (*PublicKey, error) {
	var pk PublicKey
	if len(b) != 32 {
		return nil, fmt.Errorf("zk: parse public key: %w", ErrRange)
	}
	if _, err := pk.SetBytes(b); err != nil {
		return nil, fmt.Errorf("zk: parse public key: %w", err)
	}
	if !bytes.Equal(pk.Bytes(), b) { // one key, one spelling
		return nil, fmt.Errorf("zk: parse public key: non-canonical encoding: %w", ErrRange)
	}
	if !pk.A.IsOnCurve() || !inSubgroup(&pk.A) {
		return nil, fmt.Errorf("zk: parse public key: %w", ErrRange)
	}
	return &pk, nil
}

func inSubgroup(p *twistededwards.PointAffine) bool {
	var q twistededwards.PointAffine
	order := twistededwards.GetEdwardsCurve().Order
	q.ScalarMultiplication(p, &order)
	return q.IsZero()
}

// Bytes returns the compressed public key.
func (pk *PublicKey) Bytes() []byte { return pk.PublicKey.Bytes() }

// Verify checks sig over m.
func (pk *PublicKey) Verify(m fr.Element, sig []byte) error {
	b := m.Bytes()
	ok, err := pk.PublicKey.Verify(sig, b[:], poseidon2.NewMerkleDamgardHasher())
	if err != nil || !ok {
		return ErrSignature
	}
	return nil
}

// ProviderLeaf is the registry-tree leaf of a provider key:
// H(TagProvider, pk.x, pk.y, maxGrade, validUntil).
func ProviderLeaf(pk *PublicKey, maxGrade uint64, validUntil int64) fr.Element {
	return Hash(TagProvider, pk.A.X, pk.A.Y, fr.NewElement(maxGrade), Int64(validUntil))
}
