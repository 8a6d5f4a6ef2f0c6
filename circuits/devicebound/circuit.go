package devicebound

import (
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/algebra/emulated/sw_emulated"
	"github.com/consensys/gnark/std/hash"
	"github.com/consensys/gnark/std/math/emulated"
	"github.com/consensys/gnark/std/permutation/poseidon2"

	"github.com/mustard-id/mustard/circuits/persona"
	"github.com/mustard-id/mustard/zk"
)

// Emulated P-256 over BN254's scalar field: four 64-bit limbs per element.
type (
	Fp    = emulated.P256Fp
	Fr    = emulated.P256Fr
	Point = sw_emulated.AffinePoint[Fp]
)

// Comb parameters: s·T is computed as Σ_i 2^i·Σ_j Table[j][v_{j,i}],
// Tables tables of 2^Teeth points each, Spacing doublings.
const (
	Tables  = 1
	Teeth   = 8
	Spacing = 256 / (Tables * Teeth)
)

// Circuit is the device-bound persona statement; see doc.go. Its public
// inputs are the persona circuit's, in the same order, then Table and C.
type Circuit struct {
	Persona persona.Circuit

	// Table[j][v] = Σ_k v_k·2^{(j·Teeth+k)·Spacing}·T + A_j and
	// C = U − (2^Spacing − 1)·Σ_j A_j, where T = r⁻¹·R and U = −r⁻¹·z·G:
	// the verifier computes them from the signature's public point R and
	// the nonce (PublicAssignment).
	// Each table point is three public inputs, its limbs packed (Pack).
	Table [Tables][1 << Teeth][Packed]frontend.Variable `gnark:",public"`
	C     Point                                         `gnark:",public"`

	// S is the signature's s: secret, and with it the device key.
	S emulated.Element[Fr]
}

// Define declares the constraints.
func (c *Circuit) Define(api frontend.API) error {
	if err := c.Persona.Define(api); err != nil {
		return err
	}
	q, err := SignerKey(api, c.Table[:], &c.C, &c.S)
	if err != nil {
		return err
	}
	return AssertKeyHash(api, q, c.Persona.DeviceKeyHash)
}

// SignerKey returns Q = s·T + U from the comb tables of T and C: the key
// under which (r, s) is a valid ECDSA signature on z when T = r⁻¹·R and
// U = −r⁻¹·z·G with x(R) ≡ r, since s·R = z·G + r·Q gives
// Q = r⁻¹·(s·R − z·G).
func SignerKey(api frontend.API, table [][1 << Teeth][Packed]frontend.Variable, c *Point, s *emulated.Element[Fr]) (*Point, error) {
	fp, err := emulated.NewField[Fp](api)
	if err != nil {
		return nil, err
	}
	fr, err := emulated.NewField[Fr](api)
	if err != nil {
		return nil, err
	}
	tables := make([][][Packed]frontend.Variable, len(table))
	for j := range table {
		tables[j] = table[j][:]
	}
	a := &arith{api: api, fp: fp}
	pt := a.newPointTable(tables)
	lookup := func(j int, bits []frontend.Variable) *Point { return pt.lookup(j, 1<<Teeth, bits) }
	return a.add(a.comb(lookup, len(tables), fr.ToBits(s), Teeth, Spacing), c), nil
}

// AssertKeyHash asserts that the P-256 point q hashes to keyHash:
// H(T_DEVICE, x_hi, x_lo, y_hi, y_lo) over the canonical coordinates split
// into 128-bit halves, as zk.KeyHash computes it natively.
func AssertKeyHash(api frontend.API, q *Point, keyHash frontend.Variable) error {
	fp, err := emulated.NewField[Fp](api)
	if err != nil {
		return err
	}
	p2, err := poseidon2.NewPoseidon2(api)
	if err != nil {
		return err
	}
	halves := func(e *emulated.Element[Fp]) (hi, lo frontend.Variable) {
		// ReduceStrict: canonical value (< p), limbs range-checked to 64
		// bits, so the halves are the coordinate's own.
		l := fp.ReduceStrict(e).Limbs
		return api.Add(l[2], api.Mul(l[3], limb)), api.Add(l[0], api.Mul(l[1], limb))
	}
	xh, xl := halves(&q.X)
	yh, yl := halves(&q.Y)
	md := hash.NewMerkleDamgardHasher(api, p2, 0)
	md.Write(zk.TagDevice, xh, xl, yh, yl)
	api.AssertIsEqual(md.Sum(), keyHash)
	return nil
}

// limb is 2^64, the weight of one limb over the next.
var limb = frontend.Variable("18446744073709551616")
