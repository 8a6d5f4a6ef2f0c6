package zk

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/hex"
	"errors"
	"math/big"
	"sync"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr/poseidon2"
)

var perm = sync.OnceValue(poseidon2.NewDefaultPermutation)

// Compress is Poseidon2's 2-to-1 compression: the right lane of the
// permutation of (left, right), plus right (feed-forward).
func Compress(left, right fr.Element) fr.Element {
	x := [2]fr.Element{left, right}
	if err := perm().Permutation(x[:]); err != nil {
		panic(err) // width is fixed at 2: cannot happen
	}
	x[1].Add(&x[1], &right)
	return x[1]
}

// Hash returns H(tag, xs...): Merkle–Damgård over Compress with a zero IV.
func Hash(tag uint64, xs ...fr.Element) fr.Element {
	var state fr.Element
	state = Compress(state, fr.NewElement(tag))
	for _, x := range xs {
		state = Compress(state, x)
	}
	return state
}

// HashBytes maps arbitrary bytes to a field element under tag: the length,
// then 31-byte big-endian chunks, so every chunk is canonical and
// different lengths never collide.
func HashBytes(tag uint64, b []byte) fr.Element {
	xs := make([]fr.Element, 0, 1+len(b)/31+1)
	xs = append(xs, fr.NewElement(uint64(len(b))))
	for len(b) > 0 {
		n := min(31, len(b))
		var e fr.Element
		e.SetBytes(b[:n])
		xs = append(xs, e)
		b = b[n:]
	}
	return Hash(tag, xs...)
}

// Element returns x as a field element; x must be below the modulus.
func Element(x *big.Int) (fr.Element, error) {
	var e fr.Element
	if x.Sign() < 0 || x.Cmp(fr.Modulus()) >= 0 {
		return e, ErrRange
	}
	e.SetBigInt(x)
	return e, nil
}

// Int64 returns x as a field element, negative values as p - |x|.
func Int64(x int64) fr.Element {
	var e fr.Element
	e.SetInt64(x)
	return e
}

// Int64Of reads a field element as a signed 64-bit integer (Int64's
// inverse: negative values as p - |x|), reporting whether it is in range.
func Int64Of(e fr.Element) (int64, bool) {
	var b big.Int
	e.BigInt(&b)
	if b.IsInt64() {
		return b.Int64(), true
	}
	b.Sub(&b, fr.Modulus())
	return b.Int64(), b.IsInt64()
}

// split256 splits a 32-byte big-endian value into two 128-bit halves.
func split256(b []byte) (hi, lo fr.Element) {
	var buf [32]byte
	copy(buf[32-len(b):], b)
	hi.SetBytes(buf[:16])
	lo.SetBytes(buf[16:])
	return hi, lo
}

// KeyHash commits to a 256-bit-coordinate public key (P-256: the persona
// key, the TPM device key) under tag, coordinates split into 128-bit halves
// so nothing wraps the field.
func KeyHash(tag uint64, x, y []byte) fr.Element {
	xh, xl := split256(x)
	yh, yl := split256(y)
	return Hash(tag, xh, xl, yh, yl)
}

// DeviceKeyHash is the TPM device key's hash as a core credential
// commits it (CoreCredential.DeviceKeyHash): KeyHash under TagDevice of
// the P-256 key's coordinates, 32 bytes each.
func DeviceKeyHash(key *ecdsa.PublicKey) fr.Element {
	x, y := make([]byte, 32), make([]byte, 32)
	key.X.FillBytes(x)
	key.Y.FillBytes(y)
	return KeyHash(TagDevice, x, y)
}

// HolderKeyHash is the persona circuit's commitment to a persona key
// (the statement's HolderBinding): KeyHash under TagHolderKey of a P-256
// key's coordinates. A key off P-256, off the curve or with non-canonical
// coordinates is refused.
func HolderKeyHash(key *ecdsa.PublicKey) (fr.Element, error) {
	if key == nil || key.Curve != elliptic.P256() {
		return fr.Element{}, errors.New("zk: persona keys are P-256")
	}
	if _, err := key.ECDH(); err != nil { // on the curve, coordinates canonical
		return fr.Element{}, errors.New("zk: persona key is not a valid P-256 point")
	}
	x, y := make([]byte, 32), make([]byte, 32)
	key.X.FillBytes(x)
	key.Y.FillBytes(y)
	return KeyHash(TagHolderKey, x, y), nil
}

// Hex encodes a field element as 64 hex digits (big-endian): the wire form
// of every field element in Mustard's JSON.
func Hex(e fr.Element) string {
	b := e.Bytes()
	return hex.EncodeToString(b[:])
}

// ParseHex decodes Hex's form, refusing non-canonical values.
func ParseHex(s string) (fr.Element, error) {
	var e fr.Element
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != fr.Bytes || hex.EncodeToString(b) != s { // lower case only: one spelling
		return e, ErrRange
	}
	if err := e.SetBytesCanonical(b); err != nil {
		return e, ErrRange
	}
	return e, nil
}
