package threshold

import (
	"errors"

	tedwards "github.com/consensys/gnark-crypto/ecc/twistededwards"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/algebra/native/twistededwards"
	"github.com/consensys/gnark/std/hash"
	"github.com/consensys/gnark/std/permutation/poseidon2"
	"github.com/consensys/gnark/std/signature/eddsa"

	"github.com/mustard-id/mustard/circuits/internal/gadget"
	"github.com/mustard-id/mustard/circuits/persona"
	"github.com/mustard-id/mustard/zk"
)

// Sizes shared with the persona circuit: the same credential, registry,
// revocation tree depth, predicate and disclosure slots.
const (
	NumAttrs        = persona.NumAttrs
	RegistryDepth   = persona.RegistryDepth
	RevocationDepth = persona.RevocationDepth
	NumPredicates   = persona.NumPredicates
	NumDisclosures  = persona.NumDisclosures
	SetDepth        = persona.SetDepth
	GradeBits       = persona.GradeBits
	TimeBits        = persona.TimeBits
	// MaxK bounds the number of signers a circuit may require. Nothing in
	// the statement depends on it; it keeps a caller from compiling a
	// circuit no one can prove.
	MaxK = 16
)

// Signer is one provider's part of the witness: its key, its signature
// over the credential's message, and its organisation registry leaf
// (zk.ProviderOrgLeaf) and path.
type Signer struct {
	Key           eddsa.PublicKey
	Signature     eddsa.Signature
	MaxGrade      frontend.Variable
	ValidUntil    frontend.Variable
	Org           frontend.Variable // zk.OrgID of the key's organisation
	RegistryIndex frontend.Variable
	RegistryPath  [RegistryDepth]frontend.Variable
}

// Circuit is the k-of-n persona-derivation statement; see doc.go. Its
// threshold K is len(Signers), fixed when the circuit is compiled: make it
// with New(k).
type Circuit struct {
	// Public inputs, in this order: the persona circuit's, unchanged.
	RegistryRoot   frontend.Variable                      `gnark:",public"`
	RevocationRoot frontend.Variable                      `gnark:",public"`
	Scope          frontend.Variable                      `gnark:",public"`
	Pseudonym      frontend.Variable                      `gnark:",public"`
	Now            frontend.Variable                      `gnark:",public"`
	MinGrade       frontend.Variable                      `gnark:",public"`
	Predicates     [NumPredicates]persona.PredicateSlot   `gnark:",public"`
	Disclosures    [NumDisclosures]persona.DisclosureSlot `gnark:",public"`
	HolderBinding  frontend.Variable                      `gnark:",public"`
	Nonce          frontend.Variable                      `gnark:",public"`

	// Secret witness.
	Secret        frontend.Variable
	Attrs         [NumAttrs]frontend.Variable
	Grade         frontend.Variable
	Expiry        frontend.Variable
	RevNonce      frontend.Variable
	DeviceKeyHash frontend.Variable

	// Signers holds the K providers' keys, signatures and registry paths;
	// its length is the threshold K.
	Signers []Signer

	RevLowValue frontend.Variable
	RevLowNext  frontend.Variable
	RevIndex    frontend.Variable
	RevPath     [RevocationDepth]frontend.Variable

	SetIndex [NumPredicates]frontend.Variable
	SetPath  [NumPredicates][SetDepth]frontend.Variable
}

// New returns the circuit (or an empty assignment) for threshold k.
func New(k int) *Circuit { return &Circuit{Signers: make([]Signer, k)} }

// K is the circuit's threshold.
func (c *Circuit) K() int { return len(c.Signers) }

// ErrThreshold is returned for a threshold outside [1, MaxK].
var ErrThreshold = errors.New("threshold circuit: k out of range")

// Define declares the constraints.
func (c *Circuit) Define(api frontend.API) error {
	if c.K() < 1 || c.K() > MaxK {
		return ErrThreshold
	}
	p2, err := poseidon2.NewPoseidon2(api)
	if err != nil {
		return err
	}
	h := func(tag uint64, xs ...frontend.Variable) frontend.Variable { return gadget.Hash(api, p2, tag, xs...) }

	// Holder commitment and the core credential's message: the same
	// message every signer signs.
	commitment := h(zk.TagHolder, c.Secret)
	msg := make([]frontend.Variable, 0, NumAttrs+5)
	msg = append(msg, commitment)
	msg = append(msg, c.Attrs[:]...)
	msg = append(msg, c.Grade, c.Expiry, c.RevNonce, c.DeviceKeyHash)
	m := h(zk.TagCore, msg...)

	curve, err := twistededwards.NewEdCurve(api, tedwards.BN254)
	if err != nil {
		return err
	}

	// Grades and time, the parts that do not depend on a signer.
	gadget.RangeCheck(api, c.Grade, GradeBits)
	gadget.RangeCheck(api, c.MinGrade, GradeBits)
	gadget.RangeCheck(api, api.Sub(c.Grade, c.MinGrade), GradeBits)
	gadget.RangeCheck(api, c.Now, TimeBits)
	gadget.RangeCheck(api, c.Expiry, TimeBits)
	gadget.RangeCheck(api, api.Sub(c.Expiry, c.Now), TimeBits)

	for i := range c.Signers {
		s := &c.Signers[i]
		// Signer i's EdDSA signature over m.
		if err := eddsa.Verify(curve, s.Signature, m, s.Key, hash.NewMerkleDamgardHasher(api, p2, 0)); err != nil {
			return err
		}
		// Its key, with its organisation, is a leaf of the organisation
		// registry tree.
		leaf := h(zk.TagProviderOrg, s.Key.A.X, s.Key.A.Y, s.MaxGrade, s.ValidUntil, s.Org)
		api.AssertIsEqual(gadget.MerkleRoot(api, p2, leaf, s.RegistryIndex, s.RegistryPath[:]), c.RegistryRoot)
		// Grade <= its MaxGrade, and the key is still valid.
		gadget.RangeCheck(api, s.MaxGrade, GradeBits)
		gadget.RangeCheck(api, api.Sub(s.MaxGrade, c.Grade), GradeBits)
		gadget.RangeCheck(api, s.ValidUntil, TimeBits)
		gadget.RangeCheck(api, api.Sub(s.ValidUntil, c.Now), TimeBits)
		// Its organisation differs from every earlier signer's, and so
		// does its key: x alone names a point of the prime-order subgroup
		// (the registry holds no other), and each x - x' != 0 costs one
		// constraint (an inverse). The framework never lists one key under
		// two organisations; the key check keeps the count of keys sound
		// even if it did.
		for j := range i {
			api.AssertIsDifferent(s.Org, c.Signers[j].Org)
			api.AssertIsDifferent(s.Key.A.X, c.Signers[j].Key.A.X)
		}
	}

	// Not revoked: the credential's own entry, whoever signed it, is
	// absent from the framework's indexed tree.
	x := h(zk.TagRevokedCredential, c.RevNonce)
	revLeaf := h(zk.TagRevLeaf, c.RevLowValue, c.RevLowNext)
	api.AssertIsEqual(gadget.MerkleRoot(api, p2, revLeaf, c.RevIndex, c.RevPath[:]), c.RevocationRoot)
	api.AssertIsEqual(api.Cmp(c.RevLowValue, x), -1)
	last := api.IsZero(c.RevLowNext)
	api.AssertIsEqual(api.Select(last, -1, api.Cmp(x, c.RevLowNext)), -1)

	// Pseudonym.
	api.AssertIsEqual(h(zk.TagPseudonym, c.Secret, c.Scope), c.Pseudonym)

	persona.AssertAttributes(api, p2, c.Attrs[:], &c.Predicates, &c.Disclosures, &c.SetIndex, &c.SetPath)

	// Bind the holder key commitment and the nonce (see the persona circuit).
	api.Mul(c.HolderBinding, c.HolderBinding)
	api.Mul(c.Nonce, c.Nonce)
	return nil
}
