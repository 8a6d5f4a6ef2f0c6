package devicebound

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"sync"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark-crypto/ecc/secp256r1"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/math/emulated"

	"github.com/mustard-id/mustard/circuits/persona"
	"github.com/mustard-id/mustard/zk"
)

// DigestDomain prefixes the device key's message: the key signs nothing
// else that starts with it.
const DigestDomain = "mustard/device-bound-persona/v1\x00"

// Errors of the device-bound statement.
var (
	ErrSignature = errors.New("devicebound: device signature does not verify")
	ErrPoint     = errors.New("devicebound: malformed signature point")
	ErrKey       = errors.New("devicebound: device key does not match the credential")
)

// Digest is the 32-byte digest the device key signs for a verifier's
// nonce: SHA-256(DigestDomain ‖ nonce's 32 canonical big-endian bytes).
// The circuit never computes it: the verifier does, to build U.
func Digest(nonce fr.Element) [32]byte {
	b := nonce.Bytes()
	return sha256.Sum256(append([]byte(DigestDomain), b[:]...))
}

var order = elliptic.P256().Params().N

// scalar returns the digest as ECDSA's z (FIPS 186-5 §6.4.1: the leftmost
// bitlen(n) = 256 bits of the hash, then used mod n).
func scalar(digest [32]byte) *big.Int {
	return new(big.Int).SetBytes(digest[:])
}

// Binding is what a device-bound proof adds to the persona statement's
// public part: the signature's point R, x(R) ≡ r (mod n). R is fresh per
// signature and independent of the device key (doc.go).
type Binding struct {
	R secp256r1.G1Affine
}

// Bytes returns R uncompressed without the 0x04 prefix: x ‖ y, 64 bytes.
func (b *Binding) Bytes() []byte {
	x, y := b.R.X.Bytes(), b.R.Y.Bytes()
	return append(x[:], y[:]...)
}

// ParseBinding reads Bytes's form, refusing non-canonical coordinates,
// points off the curve and the point at infinity.
func ParseBinding(raw []byte) (*Binding, error) {
	if len(raw) != 64 {
		return nil, fmt.Errorf("%w: want 64 bytes", ErrPoint)
	}
	var b Binding
	if err := b.R.X.SetBytesCanonical(raw[:32]); err != nil {
		return nil, fmt.Errorf("%w: x", ErrPoint)
	}
	if err := b.R.Y.SetBytesCanonical(raw[32:]); err != nil {
		return nil, fmt.Errorf("%w: y", ErrPoint)
	}
	if b.R.IsInfinity() || !b.R.IsOnCurve() {
		return nil, fmt.Errorf("%w: not on the curve", ErrPoint)
	}
	return &b, nil
}

// r returns x(R) mod n.
func (b *Binding) r() *big.Int {
	var x big.Int
	b.R.X.BigInt(&x)
	return x.Mod(&x, order)
}

// TU computes the efficient-ECDSA public inputs for nonce: T = r⁻¹·R and
// U = −r⁻¹·z·G with z = Digest(nonce). It refuses R at infinity, off the
// curve, or with r = 0.
func (b *Binding) TU(nonce fr.Element) (t, u secp256r1.G1Affine, err error) {
	if b.R.IsInfinity() || !b.R.IsOnCurve() {
		return t, u, fmt.Errorf("%w: not on the curve", ErrPoint)
	}
	r := b.r()
	if r.Sign() == 0 {
		return t, u, fmt.Errorf("%w: r = 0", ErrPoint)
	}
	rInv := new(big.Int).ModInverse(r, order)
	t.ScalarMultiplication(&b.R, rInv)
	k := new(big.Int).Mul(rInv, scalar(Digest(nonce)))
	k.Neg(k).Mod(k, order)
	u.ScalarMultiplicationBase(k)
	return t, u, nil
}

// Signed is the wallet's side: the device key and its signature on
// Digest(nonce).
type Signed struct {
	Key  *ecdsa.PublicKey
	R, S *big.Int
}

// ParseSignature reads an ASN.1 DER ECDSA signature (keystore.SignDevice's
// form) by key.
func ParseSignature(key *ecdsa.PublicKey, der []byte) (*Signed, error) {
	var sig struct{ R, S *big.Int }
	rest, err := asn1.Unmarshal(der, &sig)
	if err != nil || len(rest) != 0 || sig.R == nil || sig.S == nil {
		return nil, fmt.Errorf("%w: malformed DER", ErrSignature)
	}
	return &Signed{Key: key, R: sig.R, S: sig.S}, nil
}

// Binding recovers R = s⁻¹·(z·G + r·Q) for nonce and checks x(R) ≡ r, that
// is, that the signature verifies.
func (s *Signed) Binding(nonce fr.Element) (*Binding, error) {
	if s.Key == nil || s.Key.Curve != elliptic.P256() {
		return nil, fmt.Errorf("%w: not a P-256 key", ErrSignature)
	}
	if s.R.Sign() <= 0 || s.S.Sign() <= 0 || s.R.Cmp(order) >= 0 || s.S.Cmp(order) >= 0 {
		return nil, fmt.Errorf("%w: r or s out of range", ErrSignature)
	}
	var q secp256r1.G1Affine
	q.X.SetBigInt(s.Key.X)
	q.Y.SetBigInt(s.Key.Y)
	if !q.IsOnCurve() || q.IsInfinity() {
		return nil, fmt.Errorf("%w: key not on the curve", ErrSignature)
	}
	sInv := new(big.Int).ModInverse(s.S, order)
	u1 := new(big.Int).Mul(scalar(Digest(nonce)), sInv)
	u1.Mod(u1, order)
	u2 := new(big.Int).Mul(s.R, sInv)
	u2.Mod(u2, order)
	var a, c secp256r1.G1Affine
	a.ScalarMultiplicationBase(u1)
	c.ScalarMultiplication(&q, u2)
	b := &Binding{}
	b.R.Add(&a, &c)
	if b.R.IsInfinity() || b.r().Cmp(s.R) != 0 {
		return nil, ErrSignature
	}
	return b, nil
}

// KeyHash is the device key's hash as the core credential commits it.
func KeyHash(key *ecdsa.PublicKey) fr.Element { return zk.DeviceKeyHash(key) }

// Check is the native twin of the circuit: the persona statement holds,
// the signature verifies for pub.Nonce, and the key is the credential's.
func Check(pub *persona.Public, priv *persona.Private, sig *Signed) error {
	if err := persona.Check(pub, priv); err != nil {
		return err
	}
	if _, err := sig.Binding(pub.Nonce); err != nil {
		return err
	}
	if h := KeyHash(sig.Key); h != priv.Credential.DeviceKeyHash {
		return ErrKey
	}
	return nil
}

// Assign returns the full witness. Call Check first for a clear error.
func Assign(pub *persona.Public, priv *persona.Private, sig *Signed) (*Circuit, *Binding, error) {
	b, err := sig.Binding(pub.Nonce)
	if err != nil {
		return nil, nil, err
	}
	w, err := PublicAssignment(pub, b)
	if err != nil {
		return nil, nil, err
	}
	p, err := persona.Assign(pub, priv)
	if err != nil {
		return nil, nil, err
	}
	w.Persona = *p
	w.S = emulated.ValueOf[Fr](sig.S)
	return w, b, nil
}

// PublicAssignment returns the public inputs as a verifier builds them:
// the persona statement's, and the comb tables and C computed from b and
// the nonce.
func PublicAssignment(pub *persona.Public, b *Binding) (*Circuit, error) {
	t, u, err := b.TU(pub.Nonce)
	if err != nil {
		return nil, err
	}
	tables, bias := combTables(&t, Tables, Teeth, Spacing)
	w := &Circuit{Persona: *persona.PublicAssignment(pub)}
	for j := range tables {
		for v := range tables[j] {
			w.Table[j][v] = packed(&tables[j][v])
		}
	}
	var c secp256r1.G1Affine
	c.Sub(&u, &bias)
	w.C = point(&c)
	return w, nil
}

// packed returns p's limbs packed for the table (Pack).
func packed(p *secp256r1.G1Affine) [Packed]frontend.Variable {
	var x, y big.Int
	p.X.BigInt(&x)
	p.Y.BigInt(&y)
	var limbs [8]*big.Int
	mask := new(big.Int).SetUint64(^uint64(0))
	for i := range 4 {
		limbs[i] = new(big.Int).And(new(big.Int).Rsh(&x, uint(64*i)), mask)
		limbs[4+i] = new(big.Int).And(new(big.Int).Rsh(&y, uint(64*i)), mask)
	}
	var out [Packed]frontend.Variable
	for i, v := range Pack(limbs) {
		out[i] = v
	}
	return out
}

func point(p *secp256r1.G1Affine) Point {
	var x, y big.Int
	p.X.BigInt(&x)
	p.Y.BigInt(&y)
	return Point{X: emulated.ValueOf[Fp](&x), Y: emulated.ValueOf[Fp](&y)}
}

// combOffset is A_j, the j-th comb table's offset: a point of unknown
// logarithm, so that no table entry is the point at infinity (doc.go).
func combOffset(j int) secp256r1.G1Affine {
	p, err := secp256r1.HashToG1([]byte{byte(j)}, []byte("mustard/device-bound/comb-offset/v1"))
	if err != nil {
		panic(err) // fixed inputs: cannot happen
	}
	return p
}

// combStart is B, where the comb's accumulator starts: a point of
// unknown logarithm (doc.go).
var combStart = sync.OnceValue(func() secp256r1.G1Affine {
	p, err := secp256r1.HashToG1(nil, []byte("mustard/device-bound/comb-start/v1"))
	if err != nil {
		panic(err) // fixed inputs: cannot happen
	}
	return p
})

// combTables returns the comb's public tables for T, tables[j][v] =
// Σ_k v_k·2^{(j·teeth+k)·spacing}·T + A_j, and (2^spacing − 1)·Σ_j A_j,
// plus 2^spacing·B: what the comb adds to s·T.
func combTables(t *secp256r1.G1Affine, nTables, teeth, spacing int) ([][]secp256r1.G1Affine, secp256r1.G1Affine) {
	var bias, sum secp256r1.G1Jac
	tables := make([][]secp256r1.G1Affine, nTables)
	for j := range tables {
		a := combOffset(j)
		bias.AddMixed(&a)
		// base[k] = 2^{(j·teeth+k)·spacing}·T
		base := make([]secp256r1.G1Affine, teeth)
		for k := range base {
			base[k].ScalarMultiplication(t, new(big.Int).Lsh(big.NewInt(1), uint((j*teeth+k)*spacing)))
		}
		tables[j] = make([]secp256r1.G1Affine, 1<<teeth)
		for v := range tables[j] {
			sum.FromAffine(&a)
			for k := range base {
				if v>>k&1 == 1 {
					sum.AddMixed(&base[k])
				}
			}
			tables[j][v].FromJacobian(&sum)
		}
	}
	var c, b secp256r1.G1Affine
	c.FromJacobian(&bias)
	c.ScalarMultiplication(&c, new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), uint(spacing)), big.NewInt(1)))
	b = combStart()
	b.ScalarMultiplication(&b, new(big.Int).Lsh(big.NewInt(1), uint(spacing)))
	c.Add(&c, &b)
	return tables, c
}
