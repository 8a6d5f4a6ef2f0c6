package devicebound

import (
	"errors"
	"math/big"

	"github.com/consensys/gnark/constraint/solver"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/lookup/logderivlookup"
	"github.com/consensys/gnark/std/math/emulated"
)

func init() {
	solver.RegisterHint(chordHint, elmHint)
}

// arith is exact affine arithmetic on P-256 in the circuit: every formula
// either computes the group law or leaves the circuit unsatisfiable, never
// admits a free value (doc.go, "Soundness of the comb").
type arith struct {
	api frontend.API
	fp  *emulated.Field[Fp]

	logDeriv bool // look table points up by a log-derivative argument, not multiplexers
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

// lookup returns table[v], v given by its bits (least significant first).
func (a *arith) lookup(table []Point, bits []frontend.Variable) *Point {
	sel := frontend.Variable(0)
	for i := len(bits) - 1; i >= 0; i-- {
		sel = a.api.Add(a.api.Mul(sel, 2), bits[i])
	}
	xs := make([]*emulated.Element[Fp], len(table))
	ys := make([]*emulated.Element[Fp], len(table))
	for i := range table {
		xs[i], ys[i] = &table[i].X, &table[i].Y
	}
	return &Point{X: *a.fp.Mux(sel, xs...), Y: *a.fp.Mux(sel, ys...)}
}

// pointTable looks points up in public tables by a log-derivative
// argument: one native table holds every limb of every point, and a
// lookup costs a few constraints per limb, where a multiplexer costs one
// per entry and limb.
type pointTable struct {
	a     *arith
	t     logderivlookup.Table
	n     int // points per table
	limbs int
}

func (a *arith) newPointTable(tables [][]Point) *pointTable {
	pt := &pointTable{a: a, t: logderivlookup.New(a.api), n: len(tables[0]), limbs: len(tables[0][0].X.Limbs)}
	for _, tab := range tables {
		for _, p := range tab {
			for _, l := range p.X.Limbs {
				pt.t.Insert(l)
			}
			for _, l := range p.Y.Limbs {
				pt.t.Insert(l)
			}
		}
	}
	return pt
}

// lookup returns tables[j][v], v given by its bits (least significant
// first). The limbs are the public inputs' own, which the verifier sets
// canonical (PublicAssignment): 64-bit each.
func (pt *pointTable) lookup(j int, bits []frontend.Variable) *Point {
	api := pt.a.api
	v := frontend.Variable(0)
	for i := len(bits) - 1; i >= 0; i-- {
		v = api.Add(api.Mul(v, 2), bits[i])
	}
	base := api.Mul(api.Add(v, j*pt.n), 2*pt.limbs)
	idx := make([]frontend.Variable, 2*pt.limbs)
	for i := range idx {
		idx[i] = api.Add(base, i)
	}
	l := pt.t.Lookup(idx...)
	return &Point{X: *pt.a.fp.UnsafeFromLimbs(l[:pt.limbs]), Y: *pt.a.fp.UnsafeFromLimbs(l[pt.limbs:])}
}

// comb returns Σ_i 2^i·Σ_j tables[j][v_{j,i}] where v_{j,i} has bits
// bits[(j·teeth + k)·spacing + i] for k < teeth: with tables[j][v] =
// Σ_k v_k·2^{(j·teeth+k)·spacing}·T + A_j, that is
// s·T + (2^spacing − 1)·Σ_j A_j.
func (a *arith) comb(tables [][]Point, bits []frontend.Variable, teeth, spacing int) *Point {
	digit := func(j, i int) []frontend.Variable {
		v := make([]frontend.Variable, teeth)
		for k := range v {
			v[k] = bits[(j*teeth+k)*spacing+i]
		}
		return v
	}
	lookup := func(j int, bits []frontend.Variable) *Point { return a.lookup(tables[j], bits) }
	if a.logDeriv {
		lookup = a.newPointTable(tables).lookup
	}
	acc := lookup(0, digit(0, spacing-1))
	for j := 1; j < len(tables); j++ {
		acc = a.add(acc, lookup(j, digit(j, spacing-1)))
	}
	for i := spacing - 2; i >= 0; i-- {
		acc = a.doubleAndAdd(acc, lookup(0, digit(0, i)))
		for j := 1; j < len(tables); j++ {
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
