package persona

import (
	"errors"
	"fmt"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	tedwards "github.com/consensys/gnark-crypto/ecc/twistededwards"

	"github.com/mustard-id/mustard/zk"
)

// Predicate is one predicate slot as the wallet and the verifier see it.
// For OpIn, Set lists the allowed values and Value is their set root.
type Predicate struct {
	Slot  int // SlotOf(schema index); NoAttr for an empty slot
	Op    Op
	Value fr.Element
	Set   []fr.Element
}

// Disclosure is one disclosed attribute: its slot and its value.
type Disclosure struct {
	Slot  int // SlotOf(schema index); NoAttr for an empty slot
	Value fr.Element
}

// Public is the statement's public inputs.
type Public struct {
	RegistryRoot   fr.Element
	RevocationRoot fr.Element
	Scope          fr.Element
	Pseudonym      fr.Element
	Now            int64
	MinGrade       uint64
	Predicates     [NumPredicates]Predicate
	Disclosures    [NumDisclosures]Disclosure
	HolderBinding  fr.Element
	Nonce          fr.Element
}

// Private is the prover's secret witness.
type Private struct {
	Secret      fr.Element
	Credential  zk.CoreCredential
	Signature   []byte
	ProviderKey *zk.PublicKey
	MaxGrade    uint64
	ValidUntil  int64
	Registry    zk.Path
	Revocation  zk.NonMembership
}

// Errors for a statement the witness does not satisfy, found natively before
// proving so that the wallet can say what is wrong.
var (
	ErrStatement = errors.New("persona circuit: statement does not hold")
	ErrShape     = errors.New("persona circuit: malformed statement")
)

// Validate checks the public statement's shape: indexes, operators, and
// that in-set roots match their sets where sets are given.
func (p *Public) Validate() error {
	if p.Now < 0 || p.Now >= 1<<TimeBits {
		return fmt.Errorf("%w: time out of range", ErrShape)
	}
	if p.MinGrade >= 1<<GradeBits {
		return fmt.Errorf("%w: grade out of range", ErrShape)
	}
	for i, q := range p.Predicates {
		if q.Slot < 0 || q.Slot > NumAttrs || q.Op >= numOps {
			return fmt.Errorf("%w: predicate %d: index or operator out of range", ErrShape, i)
		}
		if q.Op == OpIn && q.Set != nil {
			if len(q.Set) > 1<<SetDepth {
				return fmt.Errorf("%w: predicate %d: set larger than %d", ErrShape, i, 1<<SetDepth)
			}
			t, err := zk.SetTree(SetDepth, q.Set)
			if err != nil {
				return fmt.Errorf("%w: predicate %d: %v", ErrShape, i, err)
			}
			if t.Root() != q.Value {
				return fmt.Errorf("%w: predicate %d: set root does not match its set", ErrShape, i)
			}
		}
	}
	for i, d := range p.Disclosures {
		if d.Slot < 0 || d.Slot > NumAttrs {
			return fmt.Errorf("%w: disclosure %d: index out of range", ErrShape, i)
		}
	}
	return nil
}

// Holds evaluates predicate q on attribute value a natively, with the
// circuit's signed 64-bit semantics for <= and >=.
func (q Predicate) Holds(a fr.Element) bool {
	switch q.Op {
	case OpNone:
		return true
	case OpEq:
		return a == q.Value
	case OpNe:
		return a != q.Value
	case OpLe, OpGe:
		x, ok1 := zk.Int64Of(a)
		v, ok2 := zk.Int64Of(q.Value)
		if !ok1 || !ok2 {
			return false
		}
		if q.Op == OpLe {
			return x <= v
		}
		return x >= v
	case OpIn:
		for _, s := range q.Set {
			if s == a {
				return true
			}
		}
	}
	return false
}

func attr(c *zk.CoreCredential, slot int) fr.Element {
	if slot == NoAttr {
		return fr.Element{}
	}
	return c.Attrs[slot-1]
}

// Check evaluates the whole statement natively. It returns nil exactly when
// Assign's witness satisfies the circuit, and otherwise says which part
// fails.
func Check(pub *Public, priv *Private) error {
	if err := pub.Validate(); err != nil {
		return err
	}
	c := &priv.Credential
	fail := func(what string) error { return fmt.Errorf("%w: %s", ErrStatement, what) }
	if zk.Commit(priv.Secret) != c.Commitment {
		return fail("the secret does not open the credential's commitment")
	}
	if priv.ProviderKey == nil || priv.ProviderKey.Verify(c.Message(), priv.Signature) != nil {
		return fail("the core credential's signature does not verify")
	}
	leaf := zk.ProviderLeaf(priv.ProviderKey, priv.MaxGrade, priv.ValidUntil)
	if priv.Registry.Root(leaf) != pub.RegistryRoot || len(priv.Registry.Siblings) != RegistryDepth || priv.Registry.Index>>RegistryDepth != 0 {
		return fail("the provider key is not in the registry")
	}
	if priv.MaxGrade >= 1<<GradeBits || c.Grade > priv.MaxGrade || c.Grade < pub.MinGrade {
		return fail("the grade is outside [minimum, provider's maximum]")
	}
	if c.Expiry < pub.Now || c.Expiry >= 1<<TimeBits {
		return fail("the core credential has expired")
	}
	if priv.ValidUntil < pub.Now || priv.ValidUntil >= 1<<TimeBits {
		return fail("the provider key is no longer valid")
	}
	x := zk.RevocationEntry(priv.ProviderKey, c.RevNonce)
	if len(priv.Revocation.Path.Siblings) != RevocationDepth || priv.Revocation.Path.Index>>RevocationDepth != 0 || !priv.Revocation.Verify(pub.RevocationRoot, x) {
		return fail("the core credential is revoked (or the revocation witness is stale)")
	}
	if zk.Pseudonym(priv.Secret, pub.Scope) != pub.Pseudonym {
		return fail("the pseudonym is not H(secret, scope)")
	}
	for i, q := range pub.Predicates {
		a := attr(c, q.Slot)
		if q.Op == OpIn && q.Set == nil {
			return fail(fmt.Sprintf("predicate %d: in-set needs its set", i))
		}
		if !q.Holds(a) {
			return fail(fmt.Sprintf("predicate %d does not hold", i))
		}
	}
	for i, d := range pub.Disclosures {
		if attr(c, d.Slot) != d.Value {
			return fail(fmt.Sprintf("disclosure %d does not match the credential", i))
		}
	}
	return nil
}

// Assign returns the full witness assignment. Call Check first for a clear
// error; Assign itself only fails on malformed input.
func Assign(pub *Public, priv *Private) (*Circuit, error) {
	for i, q := range pub.Predicates {
		if q.Slot < 0 || q.Slot > NumAttrs {
			return nil, fmt.Errorf("%w: predicate %d: slot out of range", ErrShape, i)
		}
	}
	w := PublicAssignment(pub)
	c := &priv.Credential
	w.Secret = priv.Secret
	for i := range c.Attrs {
		w.Attrs[i] = c.Attrs[i]
	}
	w.Grade = c.Grade
	w.Expiry = c.Expiry
	w.RevNonce = c.RevNonce
	w.DeviceKeyHash = c.DeviceKeyHash
	if priv.ProviderKey == nil {
		return nil, fmt.Errorf("%w: no provider key", ErrShape)
	}
	w.ProviderKey.Assign(tedwards.BN254, priv.ProviderKey.Bytes())
	if len(priv.Signature) != 64 {
		return nil, fmt.Errorf("%w: signature length", ErrShape)
	}
	w.Signature.Assign(tedwards.BN254, priv.Signature)
	w.MaxGrade = priv.MaxGrade
	w.ValidUntil = priv.ValidUntil
	if len(priv.Registry.Siblings) != RegistryDepth || len(priv.Revocation.Path.Siblings) != RevocationDepth {
		return nil, fmt.Errorf("%w: path depth", ErrShape)
	}
	w.RegistryIndex = priv.Registry.Index
	for i, s := range priv.Registry.Siblings {
		w.RegistryPath[i] = s
	}
	w.RevLowValue = priv.Revocation.LowValue
	w.RevLowNext = priv.Revocation.LowNext
	w.RevIndex = priv.Revocation.Path.Index
	for i, s := range priv.Revocation.Path.Siblings {
		w.RevPath[i] = s
	}
	for i, q := range pub.Predicates {
		var path zk.Path
		if q.Op == OpIn {
			a := attr(c, q.Slot)
			t, err := zk.SetTree(SetDepth, q.Set)
			if err != nil {
				return nil, fmt.Errorf("%w: predicate %d: %v", ErrShape, i, err)
			}
			path = t.Path(0)
			for j, s := range q.Set {
				if s == a {
					path = t.Path(uint64(j))
				}
			}
		} else {
			path = zk.NewTree(SetDepth).Path(0)
		}
		w.SetIndex[i] = path.Index
		for j, s := range path.Siblings {
			w.SetPath[i][j] = s
		}
	}
	return w, nil
}

// PublicAssignment returns the assignment of the public inputs only, as a
// verifier builds it.
func PublicAssignment(pub *Public) *Circuit {
	w := &Circuit{
		RegistryRoot:   pub.RegistryRoot,
		RevocationRoot: pub.RevocationRoot,
		Scope:          pub.Scope,
		Pseudonym:      pub.Pseudonym,
		Now:            pub.Now,
		MinGrade:       pub.MinGrade,
		HolderBinding:  pub.HolderBinding,
		Nonce:          pub.Nonce,
	}
	for i, q := range pub.Predicates {
		w.Predicates[i] = PredicateSlot{Slot: q.Slot, Op: uint8(q.Op), Value: q.Value}
	}
	for i, d := range pub.Disclosures {
		w.Disclosures[i] = DisclosureSlot{Slot: d.Slot, Value: d.Value}
	}
	return w
}
