package persona

import (
	"math/big"

	tedwards "github.com/consensys/gnark-crypto/ecc/twistededwards"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/algebra/native/twistededwards"
	"github.com/consensys/gnark/std/hash"
	"github.com/consensys/gnark/std/permutation/poseidon2"
	"github.com/consensys/gnark/std/signature/eddsa"

	"github.com/mustard-id/mustard/circuits/internal/gadget"
	"github.com/mustard-id/mustard/zk"
)

// Sizes of the universal circuit. One proving key answers every query
// that fits them.
const (
	NumAttrs        = zk.NumAttrs // attribute slots in a core credential
	RegistryDepth   = 16          // provider keys in the trust framework: 65,536
	RevocationDepth = 32          // revoked entries per framework: 4,294,967,295
	NumPredicates   = 8           // predicate slots per proof
	NumDisclosures  = 4           // disclosed-attribute slots per proof
	SetDepth        = 5           // in-set predicates: sets of up to 32 values
	GradeBits       = 8           // grades lie in [0, 256)
	TimeBits        = 40          // Unix seconds lie in [0, 2^40): until year 36812
)

// Op is a predicate operator.
type Op uint8

// Predicate operators. OpIn's value is the root of a set tree (zk.SetRoot).
const (
	OpNone Op = iota
	OpEq
	OpNe
	OpLe
	OpGe
	OpIn
	numOps
)

// NoAttr is the slot of an empty disclosure or predicate: it selects the
// constant zero. Attribute i of the schema is slot i+1 (see SlotOf).
const NoAttr = 0

// SlotOf returns the circuit slot of schema attribute index i.
func SlotOf(i int) int { return i + 1 }

// PredicateSlot is one public predicate: the attribute in Slot, Op, Value.
type PredicateSlot struct {
	Slot  frontend.Variable
	Op    frontend.Variable
	Value frontend.Variable
}

// DisclosureSlot is one public disclosure: the attribute in Slot has Value.
type DisclosureSlot struct {
	Slot  frontend.Variable
	Value frontend.Variable
}

// Circuit is the persona-derivation statement; see doc.go.
type Circuit struct {
	// Public inputs, in this order.
	RegistryRoot   frontend.Variable              `gnark:",public"`
	RevocationRoot frontend.Variable              `gnark:",public"`
	Scope          frontend.Variable              `gnark:",public"`
	Pseudonym      frontend.Variable              `gnark:",public"`
	Now            frontend.Variable              `gnark:",public"`
	MinGrade       frontend.Variable              `gnark:",public"`
	Predicates     [NumPredicates]PredicateSlot   `gnark:",public"`
	Disclosures    [NumDisclosures]DisclosureSlot `gnark:",public"`
	HolderBinding  frontend.Variable              `gnark:",public"`
	Nonce          frontend.Variable              `gnark:",public"`

	// Secret witness.
	Secret        frontend.Variable
	Attrs         [NumAttrs]frontend.Variable
	Grade         frontend.Variable
	Expiry        frontend.Variable
	RevNonce      frontend.Variable
	DeviceKeyHash frontend.Variable
	ProviderKey   eddsa.PublicKey
	Signature     eddsa.Signature

	MaxGrade      frontend.Variable
	ValidUntil    frontend.Variable
	RegistryIndex frontend.Variable
	RegistryPath  [RegistryDepth]frontend.Variable

	RevLowValue frontend.Variable
	RevLowNext  frontend.Variable
	RevIndex    frontend.Variable
	RevPath     [RevocationDepth]frontend.Variable

	SetIndex [NumPredicates]frontend.Variable
	SetPath  [NumPredicates][SetDepth]frontend.Variable
}

// Define declares the constraints.
func (c *Circuit) Define(api frontend.API) error {
	p2, err := poseidon2.NewPoseidon2(api)
	if err != nil {
		return err
	}
	h := func(tag uint64, xs ...frontend.Variable) frontend.Variable {
		md := hash.NewMerkleDamgardHasher(api, p2, 0)
		md.Write(tag)
		md.Write(xs...)
		return md.Sum()
	}

	// Holder commitment and the core credential's message.
	commitment := h(zk.TagHolder, c.Secret)
	msg := make([]frontend.Variable, 0, NumAttrs+5)
	msg = append(msg, commitment)
	msg = append(msg, c.Attrs[:]...)
	msg = append(msg, c.Grade, c.Expiry, c.RevNonce, c.DeviceKeyHash)
	m := h(zk.TagCore, msg...)

	// The provider's EdDSA signature over m.
	curve, err := twistededwards.NewEdCurve(api, tedwards.BN254)
	if err != nil {
		return err
	}
	if err := eddsa.Verify(curve, c.Signature, m, c.ProviderKey, hash.NewMerkleDamgardHasher(api, p2, 0)); err != nil {
		return err
	}

	// The provider key is a leaf of the registry tree.
	leaf := h(zk.TagProvider, c.ProviderKey.A.X, c.ProviderKey.A.Y, c.MaxGrade, c.ValidUntil)
	api.AssertIsEqual(gadget.MerkleRoot(api, p2, leaf, c.RegistryIndex, c.RegistryPath[:]), c.RegistryRoot)

	// Grades: MinGrade <= Grade <= MaxGrade, all small.
	gadget.RangeCheck(api, c.Grade, GradeBits)
	gadget.RangeCheck(api, c.MinGrade, GradeBits)
	gadget.RangeCheck(api, c.MaxGrade, GradeBits)
	gadget.RangeCheck(api, api.Sub(c.MaxGrade, c.Grade), GradeBits)
	gadget.RangeCheck(api, api.Sub(c.Grade, c.MinGrade), GradeBits)

	// Time: Now <= Expiry and Now <= ValidUntil.
	gadget.RangeCheck(api, c.Now, TimeBits)
	gadget.RangeCheck(api, c.Expiry, TimeBits)
	gadget.RangeCheck(api, c.ValidUntil, TimeBits)
	gadget.RangeCheck(api, api.Sub(c.Expiry, c.Now), TimeBits)
	gadget.RangeCheck(api, api.Sub(c.ValidUntil, c.Now), TimeBits)

	// Not revoked: a low leaf (v, next) of the indexed tree with v < x and
	// (next = 0 or x < next).
	x := h(zk.TagRevoked, c.ProviderKey.A.X, c.RevNonce)
	revLeaf := h(zk.TagRevLeaf, c.RevLowValue, c.RevLowNext)
	api.AssertIsEqual(gadget.MerkleRoot(api, p2, revLeaf, c.RevIndex, c.RevPath[:]), c.RevocationRoot)
	api.AssertIsEqual(api.Cmp(c.RevLowValue, x), -1)
	last := api.IsZero(c.RevLowNext)
	api.AssertIsEqual(api.Select(last, -1, api.Cmp(x, c.RevLowNext)), -1)

	// Pseudonym.
	api.AssertIsEqual(h(zk.TagPseudonym, c.Secret, c.Scope), c.Pseudonym)

	AssertAttributes(api, p2, c.Attrs[:], &c.Predicates, &c.Disclosures, &c.SetIndex, &c.SetPath)

	// Bind the holder key commitment and the nonce to the proof: an input
	// that takes part in no constraint contributes nothing to the verifying
	// key and could be swapped freely.
	api.Mul(c.HolderBinding, c.HolderBinding)
	api.Mul(c.Nonce, c.Nonce)
	return nil
}

// AssertAttributes asserts the attribute part of a persona statement:
// each predicate holds of the attribute in its slot (=, !=, signed <= and
// >=, membership of a set under a Merkle root) and each disclosure's value
// is the signed attribute. Slot 0 of the attribute table is the constant
// zero (NoAttr), slot i+1 attribute i. Every persona circuit profile
// asserts it the same way.
func AssertAttributes(api frontend.API, p2 *poseidon2.Permutation, attrs []frontend.Variable,
	preds *[NumPredicates]PredicateSlot, discl *[NumDisclosures]DisclosureSlot,
	setIndex *[NumPredicates]frontend.Variable, setPath *[NumPredicates][SetDepth]frontend.Variable) {
	table := make([]frontend.Variable, len(attrs)+1)
	table[NoAttr] = 0
	copy(table[1:], attrs)

	// Predicates.
	bias := new(big.Int).Lsh(big.NewInt(1), 63)
	for i, p := range preds {
		a := gadget.Select(api, table, p.Slot)
		ops := gadget.OneHot(api, p.Op, int(numOps))
		isEq, isNe, isLe, isGe, isIn := ops[OpEq], ops[OpNe], ops[OpLe], ops[OpGe], ops[OpIn]

		d := api.Sub(a, p.Value)
		api.AssertIsEqual(api.Mul(isEq, d), 0)
		api.AssertIsEqual(api.Mul(isNe, api.IsZero(d)), 0)

		// Signed comparison: both sides biased by 2^63 into [0, 2^64).
		isCmp := api.Add(isLe, isGe)
		ab := api.Mul(isCmp, api.Add(a, bias))
		vb := api.Mul(isCmp, api.Add(p.Value, bias))
		gadget.RangeCheck(api, ab, 64)
		gadget.RangeCheck(api, vb, 64)
		diff := api.Add(api.Mul(isLe, api.Sub(vb, ab)), api.Mul(isGe, api.Sub(ab, vb)))
		gadget.RangeCheck(api, diff, 64)

		root := gadget.MerkleRoot(api, p2, a, setIndex[i], setPath[i][:])
		api.AssertIsEqual(api.Mul(isIn, api.Sub(root, p.Value)), 0)
	}

	// Disclosures: the public value is the signed attribute.
	for _, d := range discl {
		api.AssertIsEqual(gadget.Select(api, table, d.Slot), d.Value)
	}
}
