package devicebound

import (
	"errors"
	"math/big"

	"github.com/consensys/gnark/constraint/solver"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/lookup/logderivlookup"
	"github.com/consensys/gnark/std/math/emulated"
	"github.com/consensys/gnark/std/rangecheck"
)

func init() {
	solver.RegisterHint(chordHint, elmHint, unpackHint)
}

// arith is exact affine arithmetic on P-256 in the circuit: every formula
// either computes the group law or leaves the circuit unsatisfiable, never
// admits a free value (doc.go, "Soundness of the comb").
type arith struct {
	api frontend.API
	fp  *emulated.Field[Fp]
}

type elems = [][]*emulated.Element[Fp]

// add returns p + q. The hint gives the chord's slope λ and 1/(q.x − p.x);
// asserting the inverse rules out p = ±q, where λ would be free.
func (a *arith) add(p, q *Point) *Point {
	h, err := a.fp.NewHint(chordHint, 2, &p.X, &p.Y, &q.X, &q.Y)
	if err != nil {
		panic(err)
	}
	λ, inv := h[0], h[1]
	a.fp.AssertEvalIsZero(elems{{λ, &q.X}, {λ, &p.X}, {&q.Y}, {&p.Y}}, []int{1, -1, -1, 1})
	a.fp.AssertEvalIsZero(elems{{inv, &q.X}, {inv, &p.X}, {a.fp.One()}}, []int{1, -1, -1})
	x := a.fp.Eval(elems{{λ, λ}, {&p.X}, {&q.X}}, []int{1, -1, -1})
	y := a.fp.Eval(elems{{λ, &p.X}, {λ, x}, {&p.Y}}, []int{1, -1, -1})
	return &Point{X: *x, Y: *y}
}

// doubleAndAdd returns 2p + q as (p + q) + p without p + q's y
// (Eisenträger–Lauter–Montgomery): λ₁ is the chord p, q (p ≠ ±q asserted
// as in add), x₃ = x(p + q), and λ₂ = −λ₁ − 2y_p/(x₃ − x_p). The second
// relation (λ₁ + λ₂)(x₃ − x_p) = −2y_p has a non-zero right side (no
// P-256 point has y = 0), so it is never free: x₃ = x_p is unsatisfiable.
func (a *arith) doubleAndAdd(p, q *Point) *Point {
	h, err := a.fp.NewHint(chordHint, 2, &p.X, &p.Y, &q.X, &q.Y)
	if err != nil {
		panic(err)
	}
	λ1, inv := h[0], h[1]
	a.fp.AssertEvalIsZero(elems{{λ1, &q.X}, {λ1, &p.X}, {&q.Y}, {&p.Y}}, []int{1, -1, -1, 1})
	a.fp.AssertEvalIsZero(elems{{inv, &q.X}, {inv, &p.X}, {a.fp.One()}}, []int{1, -1, -1})
	x3 := a.fp.Eval(elems{{λ1, λ1}, {&p.X}, {&q.X}}, []int{1, -1, -1})
	h, err = a.fp.NewHint(elmHint, 1, &p.X, &p.Y, λ1, x3)
	if err != nil {
		panic(err)
	}
	λ2 := h[0]
	a.fp.AssertEvalIsZero(elems{{λ1, x3}, {λ1, &p.X}, {λ2, x3}, {λ2, &p.X}, {&p.Y}}, []int{1, -1, 1, -1, 2})
	x := a.fp.Eval(elems{{λ2, λ2}, {&p.X}, {x3}}, []int{1, -1, -1})
	y := a.fp.Eval(elems{{λ2, &p.X}, {λ2, x}, {&p.Y}}, []int{1, -1, -1})
	return &Point{X: *x, Y: *y}
}

// pointTable looks points up in public tables by a log-derivative
// argument. Each point is three public inputs, its eight 64-bit limbs
// packed three to an input (x0 x1 x2 | x3 y0 y1 | y2 y3, least
// significant first: 192 bits, below the field's 254); one native table
// holds them all, a lookup costs three queries, and the limbs are split
// back with 64-bit range checks, which makes the split unique.
type pointTable struct {
	a  *arith
	t  logderivlookup.Table
	rc frontend.Rangechecker
}

// Packed is the number of public inputs per table point.
const Packed = 3

func (a *arith) newPointTable(tables [][][Packed]frontend.Variable) *pointTable {
	pt := &pointTable{a: a, t: logderivlookup.New(a.api), rc: rangecheck.New(a.api)}
	for _, tab := range tables {
		for _, p := range tab {
			for _, v := range p {
				pt.t.Insert(v)
			}
		}
	}
	return pt
}

// lookup returns tables[j][v], v given by its bits (least significant
// first); n is the number of points per table.
func (pt *pointTable) lookup(j, n int, bits []frontend.Variable) *Point {
	api := pt.a.api
	v := frontend.Variable(0)
	for i := len(bits) - 1; i >= 0; i-- {
		v = api.Add(api.Mul(v, 2), bits[i])
	}
	base := api.Mul(api.Add(v, j*n), Packed)
	packed := pt.t.Lookup(base, api.Add(base, 1), api.Add(base, 2))
	limbs := make([]frontend.Variable, 0, 9)
	for i, p := range packed {
		k := 3
		if i == 2 {
			k = 2
		}
		l, err := api.Compiler().NewHint(unpackHint, k, p)
		if err != nil {
			panic(err)
		}
		sum := frontend.Variable(0)
		for m := k - 1; m >= 0; m-- {
			pt.rc.Check(l[m], 64)
			sum = api.Add(api.Mul(sum, limb), l[m])
		}
		api.AssertIsEqual(sum, p)
		limbs = append(limbs, l...)
	}
	return &Point{X: *pt.a.fp.UnsafeFromLimbs(limbs[:4]), Y: *pt.a.fp.UnsafeFromLimbs(limbs[4:8])}
}

// Pack returns a point's limbs packed three to a field element, as
// lookup reads them.
func Pack(limbs [8]*big.Int) [Packed]*big.Int {
	var out [Packed]*big.Int
	for i := range out {
		out[i] = new(big.Int)
		for m := min(3*i+2, 7); m >= 3*i; m-- {
			out[i].Lsh(out[i], 64).Add(out[i], limbs[m])
		}
	}
	return out
}

// unpackHint splits its input into 64-bit limbs, least significant first.
func unpackHint(_ *big.Int, in, out []*big.Int) error {
	if len(in) != 1 {
		return errors.New("unpack hint: want one input")
	}
	v := new(big.Int).Set(in[0])
	mask := new(big.Int).SetUint64(^uint64(0))
	for i := range out {
		out[i].And(v, mask)
		v.Rsh(v, 64)
	}
	return nil
}

// comb returns 2^spacing·B + Σ_i 2^i·Σ_j table_j[v_{j,i}] for tables
// tables of 2^teeth points, read by lookup, where v_{j,i} has bits
// bits[(j·teeth + k)·spacing + i] for k < teeth: with table_j[v] =
// Σ_k v_k·2^{(j·teeth+k)·spacing}·T + A_j, that is
// s·T + (2^spacing − 1)·Σ_j A_j + 2^spacing·B. The accumulator starts at
// the constant B (combStart) rather than at a table point: every
// accumulator then has a B component a table point lacks, so an honest
// prover never adds a point to itself (two equal top digits would).
func (a *arith) comb(lookup func(j int, bits []frontend.Variable) *Point, tables int, bits []frontend.Variable, teeth, spacing int) *Point {
	digit := func(j, i int) []frontend.Variable {
		v := make([]frontend.Variable, teeth)
		for k := range v {
			v[k] = bits[(j*teeth+k)*spacing+i]
		}
		return v
	}
	b := combStart()
	acc := &Point{X: emulated.ValueOf[Fp](b.X.BigInt(new(big.Int))), Y: emulated.ValueOf[Fp](b.Y.BigInt(new(big.Int)))}
	for i := spacing - 1; i >= 0; i-- {
		acc = a.doubleAndAdd(acc, lookup(0, digit(0, i)))
		for j := 1; j < tables; j++ {
			acc = a.add(acc, lookup(j, digit(j, i)))
		}
	}
	return acc
}

// chordHint returns the slope through p and q and 1/(q.x − p.x).
func chordHint(_ *big.Int, inputs, outputs []*big.Int) error {
	return emulated.UnwrapHint(inputs, outputs, func(mod *big.Int, in, out []*big.Int) error {
		if len(in) != 4 || len(out) != 2 {
			return errors.New("chord hint: want 4 inputs, 2 outputs")
		}
		dx := new(big.Int).Sub(in[2], in[0])
		if out[1].ModInverse(dx.Mod(dx, mod), mod) == nil {
			return errors.New("chord hint: equal x")
		}
		out[0].Sub(in[3], in[1])
		out[0].Mul(out[0], out[1]).Mod(out[0], mod)
		return nil
	})
}

// elmHint returns λ₂ = −λ₁ − 2y_p/(x₃ − x_p).
func elmHint(_ *big.Int, inputs, outputs []*big.Int) error {
	return emulated.UnwrapHint(inputs, outputs, func(mod *big.Int, in, out []*big.Int) error {
		if len(in) != 4 || len(out) != 1 {
			return errors.New("elm hint: want 4 inputs, 1 output")
		}
		px, py, l1, x3 := in[0], in[1], in[2], in[3]
		d := new(big.Int).Sub(x3, px)
		if d.ModInverse(d.Mod(d, mod), mod) == nil {
			return errors.New("elm hint: equal x")
		}
		d.Mul(d, py).Lsh(d, 1)
		out[0].Add(d, l1).Neg(out[0]).Mod(out[0], mod)
		return nil
	})
}
