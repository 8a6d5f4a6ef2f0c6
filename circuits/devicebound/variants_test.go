package devicebound

import (
	"crypto/ecdsa"
	"crypto/rand"
	"fmt"
	"os"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark-crypto/ecc/secp256r1"
	"github.com/consensys/gnark/backend/groth16"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"
	"github.com/consensys/gnark/std/algebra/algopts"
	"github.com/consensys/gnark/std/algebra/emulated/sw_emulated"
	"github.com/consensys/gnark/std/lookup/logderivlookup"
	"github.com/consensys/gnark/std/math/emulated"
	gecdsa "github.com/consensys/gnark/std/signature/ecdsa"
	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/circuits/persona"
)

// The circuits below are the steps that led to Circuit, kept to measure
// them (BenchmarkSteps; docs/circuits.md records the figures).

// directCircuit verifies the ECDSA signature in the circuit, as gnark's
// ecdsa.Verify does: z is the nonce itself (its 32 canonical bytes are
// the digest the key signs), so no SHA-256 is needed, and
// JointScalarMulBase computes z/s·G + r/s·Q.
type directCircuit struct {
	Persona   persona.Circuit
	DeviceKey Point
	R, S      emulated.Element[Fr]

	incomplete bool `gnark:"-"`
}

func (c *directCircuit) Define(api frontend.API) error {
	if err := c.Persona.Define(api); err != nil {
		return err
	}
	if err := AssertKeyHash(api, &c.DeviceKey, c.Persona.DeviceKeyHash); err != nil {
		return err
	}
	scalars, err := emulated.NewField[Fr](api)
	if err != nil {
		return err
	}
	z := scalars.FromBits(api.ToBinary(c.Persona.Nonce, fr.Bits)...)
	var opts []algopts.AlgebraOption
	if c.incomplete {
		opts = append(opts, algopts.WithIncompleteArithmetic())
	}
	pk := gecdsa.PublicKey[Fp, Fr](c.DeviceKey)
	pk.Verify(api, sw_emulated.GetP256Params(), z, &gecdsa.Signature[Fr]{R: c.R, S: c.S}, opts...)
	return nil
}

func assignDirect(t testing.TB, f *fixture) *directCircuit {
	d := f.pub.Nonce.Bytes()
	der, err := ecdsa.SignASN1(rand.Reader, f.dev, d[:])
	require.NoError(t, err)
	s, err := ParseSignature(&f.dev.PublicKey, der)
	require.NoError(t, err)
	p, err := persona.Assign(&f.pub, &f.priv)
	require.NoError(t, err)
	return &directCircuit{Persona: *p, DeviceKey: Point{X: emulated.ValueOf[Fp](f.dev.X), Y: emulated.ValueOf[Fp](f.dev.Y)},
		R: emulated.ValueOf[Fr](s.R), S: emulated.ValueOf[Fr](s.S)}
}

// efficientCircuit is Circuit with a choice of arithmetic for s·T.
type efficientCircuit struct {
	Persona persona.Circuit
	T       Point `gnark:",public"`
	U       Point `gnark:",public"`
	S       emulated.Element[Fr]

	incomplete bool `gnark:"-"`
}

func (c *efficientCircuit) Define(api frontend.API) error {
	if err := c.Persona.Define(api); err != nil {
		return err
	}
	curve, err := sw_emulated.New[Fp, Fr](api, sw_emulated.GetP256Params())
	if err != nil {
		return err
	}
	var opts []algopts.AlgebraOption
	if c.incomplete {
		opts = append(opts, algopts.WithIncompleteArithmetic())
	}
	q := curve.AddUnified(curve.ScalarMul(&c.T, &c.S, opts...), &c.U)
	return AssertKeyHash(api, q, c.Persona.DeviceKeyHash)
}

type step struct {
	name    string
	circuit frontend.Circuit
	assign  func(testing.TB, *fixture) frontend.Circuit
}

var steps = []step{
	{"persona-only", &persona.Circuit{}, func(t testing.TB, f *fixture) frontend.Circuit {
		w, err := persona.Assign(&f.pub, &f.priv)
		require.NoError(t, err)
		return w
	}},
	{"direct-complete", &directCircuit{}, func(t testing.TB, f *fixture) frontend.Circuit { return assignDirect(t, f) }},
	{"direct-incomplete", &directCircuit{incomplete: true}, func(t testing.TB, f *fixture) frontend.Circuit {
		w := assignDirect(t, f)
		w.incomplete = true
		return w
	}},
	{"efficient-complete", &efficientCircuit{}, func(t testing.TB, f *fixture) frontend.Circuit { return assignEfficient(t, f, false) }},
	{"efficient-incomplete", &efficientCircuit{incomplete: true}, func(t testing.TB, f *fixture) frontend.Circuit { return assignEfficient(t, f, true) }},
	{"comb-1x4", newComb(1, 4), func(t testing.TB, f *fixture) frontend.Circuit { return assignComb(t, f, 1, 4) }},
	{"comb-2x4", newComb(2, 4), func(t testing.TB, f *fixture) frontend.Circuit { return assignComb(t, f, 2, 4) }},
	ldStep(1, 4), ldStep(2, 4), ldStep(4, 4), ldStep(1, 8),
	{"comb-1x8-logderiv-packed (final)", &Circuit{}, func(t testing.TB, f *fixture) frontend.Circuit {
		w, _, err := Assign(&f.pub, &f.priv, f.sig)
		require.NoError(t, err)
		return w
	}},
	{"comb-4x4", newComb(4, 4), func(t testing.TB, f *fixture) frontend.Circuit { return assignComb(t, f, 4, 4) }},
	{"comb-4x2", newComb(4, 2), func(t testing.TB, f *fixture) frontend.Circuit { return assignComb(t, f, 4, 2) }},
}

func assignEfficient(t testing.TB, f *fixture, incomplete bool) *efficientCircuit {
	w, b, err := Assign(&f.pub, &f.priv, f.sig)
	require.NoError(t, err)
	tt, u, err := b.TU(f.pub.Nonce)
	require.NoError(t, err)
	return &efficientCircuit{Persona: w.Persona, T: point(&tt), U: point(&u), S: w.S, incomplete: incomplete}
}

// BenchmarkSteps compiles each step, reports its constraints (and those
// added to the persona circuit's 39,385), checks a valid witness solves,
// and times Groth16 proving with a dummy setup (same proving work as a
// real key, without the minutes of a real setup).
//
//	go test -run '^$' -bench Steps -benchtime 3x ./circuits/devicebound
func BenchmarkSteps(b *testing.B) {
	f := newFixture(b)
	for _, s := range steps {
		b.Run(s.name, func(b *testing.B) {
			ccs, err := frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, s.circuit)
			require.NoError(b, err)
			w, err := frontend.NewWitness(s.assign(b, f), ecc.BN254.ScalarField())
			require.NoError(b, err)
			pk, err := groth16.DummySetup(ccs)
			require.NoError(b, err)
			b.ResetTimer()
			for b.Loop() {
				_, err := groth16.Prove(ccs, pk, w)
				require.NoError(b, err)
			}
			b.ReportMetric(float64(ccs.GetNbConstraints()), "constraints")
			b.ReportMetric(float64(ccs.GetNbConstraints()-39385), "extra")
		})
	}
}

// combCircuit computes s·T with a fixed-base comb whose tables the
// verifier computes from T (public inputs): no point on which the
// prover's choice bears but s.
type combCircuit struct {
	Persona persona.Circuit
	Tables  [][]Point `gnark:",public"`
	C       Point     `gnark:",public"` // U − (2^spacing − 1)·Σ A_j
	S       emulated.Element[Fr]

	teeth, spacing int  `gnark:"-"`
	logDeriv       bool `gnark:"-"`
}

func newComb(tables, teeth int) *combCircuit {
	c := &combCircuit{teeth: teeth, spacing: 256 / (tables * teeth), Tables: make([][]Point, tables)}
	for j := range c.Tables {
		c.Tables[j] = make([]Point, 1<<teeth)
	}
	return c
}

func (c *combCircuit) Define(api frontend.API) error {
	if err := c.Persona.Define(api); err != nil {
		return err
	}
	fp, err := emulated.NewField[Fp](api)
	if err != nil {
		return err
	}
	fr, err := emulated.NewField[Fr](api)
	if err != nil {
		return err
	}
	a := &arith{api: api, fp: fp}
	lookup := func(j int, bits []frontend.Variable) *Point { return muxLookup(a, c.Tables[j], bits) }
	if c.logDeriv {
		lt := newLimbTable(a, c.Tables)
		lookup = func(j int, bits []frontend.Variable) *Point { return lt.lookup(j, len(c.Tables[0]), bits) }
	}
	q := a.add(a.comb(lookup, len(c.Tables), fr.ToBits(&c.S), c.teeth, c.spacing), &c.C)
	return AssertKeyHash(api, q, c.Persona.DeviceKeyHash)
}

func assignComb(t testing.TB, f *fixture, tables, teeth int) *combCircuit {
	w, b, err := Assign(&f.pub, &f.priv, f.sig)
	require.NoError(t, err)
	tt, u, err := b.TU(f.pub.Nonce)
	require.NoError(t, err)
	c := newComb(tables, teeth)
	tabs, bias := combTables(&tt, tables, teeth, c.spacing)
	for j := range tabs {
		for v := range tabs[j] {
			c.Tables[j][v] = point(&tabs[j][v])
		}
	}
	var cc secp256r1.G1Affine
	cc.Sub(&u, &bias)
	c.C = point(&cc)
	c.Persona, c.S = w.Persona, w.S
	return c
}

func newCombLD(tables, teeth int) *combCircuit {
	c := newComb(tables, teeth)
	c.logDeriv = true
	return c
}

func ldStep(tables, teeth int) step {
	return step{fmt.Sprintf("comb-%dx%d-logderiv", tables, teeth), newCombLD(tables, teeth), func(t testing.TB, f *fixture) frontend.Circuit {
		c := assignComb(t, f, tables, teeth)
		c.logDeriv = true
		return c
	}}
}

// muxLookup returns table[v], v given by its bits (least significant
// first), by multiplexers: one constraint per entry and limb.
func muxLookup(a *arith, table []Point, bits []frontend.Variable) *Point {
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

// limbTable is the log-derivative lookup of unpacked points: one public
// input and one table entry per limb, eight queries per point.
type limbTable struct {
	a *arith
	t logderivlookup.Table
}

func newLimbTable(a *arith, tables [][]Point) *limbTable {
	lt := &limbTable{a: a, t: logderivlookup.New(a.api)}
	for _, tab := range tables {
		for _, p := range tab {
			for _, l := range append(append([]frontend.Variable(nil), p.X.Limbs...), p.Y.Limbs...) {
				lt.t.Insert(l)
			}
		}
	}
	return lt
}

func (lt *limbTable) lookup(j, n int, bits []frontend.Variable) *Point {
	api := lt.a.api
	v := frontend.Variable(0)
	for i := len(bits) - 1; i >= 0; i-- {
		v = api.Add(api.Mul(v, 2), bits[i])
	}
	base := api.Mul(api.Add(v, j*n), 8)
	idx := make([]frontend.Variable, 8)
	for i := range idx {
		idx[i] = api.Add(base, i)
	}
	l := lt.t.Lookup(idx...)
	return &Point{X: *lt.a.fp.UnsafeFromLimbs(l[:4]), Y: *lt.a.fp.UnsafeFromLimbs(l[4:])}
}

// TestStepCounts logs each step's constraints and public inputs (compile
// only; set MUSTARD_STEP_COUNTS=1, it takes a minute).
func TestStepCounts(t *testing.T) {
	if os.Getenv("MUSTARD_STEP_COUNTS") == "" {
		t.Skip("set MUSTARD_STEP_COUNTS=1")
	}
	for _, s := range steps {
		ccs, err := frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, s.circuit)
		require.NoError(t, err)
		t.Logf("%-40s %8d constraints %8d extra %6d public inputs", s.name, ccs.GetNbConstraints(), ccs.GetNbConstraints()-39385, ccs.GetNbPublicVariables()-1)
	}
}
