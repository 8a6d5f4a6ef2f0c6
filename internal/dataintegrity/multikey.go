package dataintegrity

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"encoding/asn1"
	"errors"

	"github.com/mr-tron/base58"
)

var asn1Unmarshal = asn1.Unmarshal

// DecodeMultibase decodes a multibase base58btc ('z') string, the only
// base the cryptosuites use.
func DecodeMultibase(s string) ([]byte, error) {
	if len(s) < 2 || s[0] != 'z' || len(s) > 512 {
		return nil, errors.New("not multibase base58btc")
	}
	return base58.Decode(s[1:])
}

// Multicodec prefixes (unsigned varints) of Multikey public keys.
var (
	mcEd25519 = []byte{0xed, 0x01}
	mcP256    = []byte{0x80, 0x24}
	mcP384    = []byte{0x81, 0x24}
)

// DecodeMultikey decodes a Multikey publicKeyMultibase (as in did:key and
// in the cryptosuites' verification methods): Ed25519, or a compressed
// P-256 / P-384 point.
func DecodeMultikey(s string) (crypto.PublicKey, error) {
	b, err := DecodeMultibase(s)
	if err != nil {
		return nil, err
	}
	ec := func(curve elliptic.Curve, p []byte) (crypto.PublicKey, error) {
		x, y := elliptic.UnmarshalCompressed(curve, p)
		if x == nil {
			return nil, errors.New("not a point on the curve")
		}
		return &ecdsa.PublicKey{Curve: curve, X: x, Y: y}, nil
	}
	switch {
	case bytes.HasPrefix(b, mcEd25519) && len(b) == 2+ed25519.PublicKeySize:
		return ed25519.PublicKey(b[2:]), nil
	case bytes.HasPrefix(b, mcP256) && len(b) == 2+33:
		return ec(elliptic.P256(), b[2:])
	case bytes.HasPrefix(b, mcP384) && len(b) == 2+49:
		return ec(elliptic.P384(), b[2:])
	}
	return nil, errors.New("not an Ed25519, P-256 or P-384 Multikey")
}

// EncodeMultikey encodes an Ed25519, P-256 or P-384 public key as a
// Multikey (base58btc, compressed points).
func EncodeMultikey(pub crypto.PublicKey) (string, error) {
	switch k := pub.(type) {
	case ed25519.PublicKey:
		return "z" + base58.Encode(append(bytes.Clone(mcEd25519), k...)), nil
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return "z" + base58.Encode(append(bytes.Clone(mcP256), elliptic.MarshalCompressed(k.Curve, k.X, k.Y)...)), nil
		case elliptic.P384():
			return "z" + base58.Encode(append(bytes.Clone(mcP384), elliptic.MarshalCompressed(k.Curve, k.X, k.Y)...)), nil
		}
	}
	return "", errors.New("dataintegrity: not an Ed25519, P-256 or P-384 key")
}
