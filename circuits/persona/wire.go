package persona

import (
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/mustard-id/mustard/zk"
)

// MediaType is the media type of a self-issued persona proof.
const MediaType = "application/vnd.mustard.persona-proof+json"

// Limits on a decoded statement.
const (
	MaxScopeLen = 255
	MaxNonceLen = 255
)

// ErrWire is returned for a proof object that does not decode.
var ErrWire = errors.New("persona proof: malformed")

var opNames = map[Op]string{OpNone: "none", OpEq: "=", OpNe: "!=", OpLe: "<=", OpGe: ">=", OpIn: "in"}

// String returns the operator's symbol.
func (o Op) String() string { return opNames[o] }

// ParseOp parses an operator symbol.
func ParseOp(s string) (Op, bool) {
	for o, n := range opNames {
		if n == s {
			return o, true
		}
	}
	return 0, false
}

// PredicateJSON is a predicate on the wire.
type PredicateJSON struct {
	Attr  string   `json:"attr"`          // schema attribute name
	Op    string   `json:"op"`            // =, !=, <=, >=, in
	Value string   `json:"value"`         // hex field element; for "in", the set root
	Set   []string `json:"set,omitempty"` // for "in": the set's values (hex)
}

// DisclosureJSON is a disclosed attribute on the wire.
type DisclosureJSON struct {
	Attr  string `json:"attr"`
	Value string `json:"value"` // hex field element
}

// PublicJSON is the statement's public inputs on the wire. Scope and nonce
// travel as strings and are hashed to field elements by both sides.
type PublicJSON struct {
	RegistryRoot   string           `json:"registry_root"`
	RevocationRoot string           `json:"revocation_root"`
	Scope          string           `json:"scope"`
	Pseudonym      string           `json:"pseudonym"`
	Now            int64            `json:"now"`
	MinGrade       uint64           `json:"min_grade"`
	Predicates     []PredicateJSON  `json:"predicates,omitempty"`
	Disclosures    []DisclosureJSON `json:"disclosures,omitempty"`
	HolderBinding  string           `json:"holder_binding"`
	Nonce          string           `json:"nonce"`
}

// ProofJSON is a self-issued persona proof: the proof, its statement and the
// verifying key it was made under.
type ProofJSON struct {
	VK     string     `json:"vk"`     // content address of the verifying key
	Public PublicJSON `json:"public"` // the statement
	Proof  string     `json:"proof"`  // base64url compressed Groth16 proof
}

// Statement is a decoded ProofJSON.
type Statement struct {
	VK     string
	Scope  string
	Nonce  string
	Public Public
	Proof  []byte
}

// Encode builds the wire form.
func Encode(vk, scope, nonce string, pub *Public, proof []byte) ProofJSON {
	j := ProofJSON{VK: vk, Proof: base64.RawURLEncoding.EncodeToString(proof)}
	j.Public = PublicJSON{
		RegistryRoot:   zk.Hex(pub.RegistryRoot),
		RevocationRoot: zk.Hex(pub.RevocationRoot),
		Scope:          scope,
		Pseudonym:      zk.Hex(pub.Pseudonym),
		Now:            pub.Now,
		MinGrade:       pub.MinGrade,
		HolderBinding:  zk.Hex(pub.HolderBinding),
		Nonce:          nonce,
	}
	for _, q := range pub.Predicates {
		if q.Op == OpNone {
			continue
		}
		p := PredicateJSON{Attr: AttrName(q.Slot), Op: q.Op.String(), Value: zk.Hex(q.Value)}
		for _, s := range q.Set {
			p.Set = append(p.Set, zk.Hex(s))
		}
		j.Public.Predicates = append(j.Public.Predicates, p)
	}
	for _, d := range pub.Disclosures {
		if d.Slot == NoAttr {
			continue
		}
		j.Public.Disclosures = append(j.Public.Disclosures, DisclosureJSON{Attr: AttrName(d.Slot), Value: zk.Hex(d.Value)})
	}
	return j
}

// AttrName returns the schema name of the attribute in slot ("attrN" for
// a slot the schema does not name).
func AttrName(slot int) string {
	for _, a := range zk.Schema {
		if SlotOf(a.Index) == slot {
			return a.Name
		}
	}
	return fmt.Sprintf("attr%d", slot-1)
}

func slotByName(name string) (int, bool) {
	if a, ok := zk.AttrByName(name); ok {
		return SlotOf(a.Index), true
	}
	var i int
	if _, err := fmt.Sscanf(name, "attr%d", &i); err == nil && i >= 0 && i < NumAttrs && fmt.Sprintf("attr%d", i) == name {
		return SlotOf(i), true
	}
	return 0, false
}

// Decode parses and validates the wire form, bounding every field.
func Decode(j *ProofJSON) (*Statement, error) {
	bad := func(what string) error { return fmt.Errorf("%w: %s", ErrWire, what) }
	s := &Statement{VK: j.VK, Scope: j.Public.Scope, Nonce: j.Public.Nonce}
	if len(j.VK) > 100 {
		return nil, bad("vk")
	}
	if s.Scope == "" || len(s.Scope) > MaxScopeLen || len(s.Nonce) > MaxNonceLen {
		return nil, bad("scope or nonce length")
	}
	if len(j.Public.Predicates) > NumPredicates || len(j.Public.Disclosures) > NumDisclosures {
		return nil, bad("too many predicates or disclosures")
	}
	var err error
	p := &s.Public
	if p.RegistryRoot, err = zk.ParseHex(j.Public.RegistryRoot); err != nil {
		return nil, bad("registry_root")
	}
	if p.RevocationRoot, err = zk.ParseHex(j.Public.RevocationRoot); err != nil {
		return nil, bad("revocation_root")
	}
	if p.Pseudonym, err = zk.ParseHex(j.Public.Pseudonym); err != nil {
		return nil, bad("pseudonym")
	}
	if p.HolderBinding, err = zk.ParseHex(j.Public.HolderBinding); err != nil {
		return nil, bad("holder_binding")
	}
	p.Scope = zk.Scope(s.Scope)
	p.Nonce = zk.Nonce(s.Nonce)
	p.Now, p.MinGrade = j.Public.Now, j.Public.MinGrade
	for i, q := range j.Public.Predicates {
		slot, ok := slotByName(q.Attr)
		op, ok2 := ParseOp(q.Op)
		if !ok || !ok2 || op == OpNone {
			return nil, bad(fmt.Sprintf("predicate %d", i))
		}
		v, err := zk.ParseHex(q.Value)
		if err != nil {
			return nil, bad(fmt.Sprintf("predicate %d value", i))
		}
		if len(q.Set) > 1<<SetDepth {
			return nil, bad(fmt.Sprintf("predicate %d set", i))
		}
		pr := Predicate{Slot: slot, Op: op, Value: v}
		for _, e := range q.Set {
			x, err := zk.ParseHex(e)
			if err != nil {
				return nil, bad(fmt.Sprintf("predicate %d set", i))
			}
			pr.Set = append(pr.Set, x)
		}
		p.Predicates[i] = pr
	}
	for i, d := range j.Public.Disclosures {
		slot, ok := slotByName(d.Attr)
		if !ok {
			return nil, bad(fmt.Sprintf("disclosure %d", i))
		}
		v, err := zk.ParseHex(d.Value)
		if err != nil {
			return nil, bad(fmt.Sprintf("disclosure %d value", i))
		}
		p.Disclosures[i] = Disclosure{Slot: slot, Value: v}
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrWire, err)
	}
	if s.Proof, err = base64.RawURLEncoding.DecodeString(j.Proof); err != nil || len(s.Proof) > zk.MaxProofSize {
		return nil, bad("proof encoding")
	}
	return s, nil
}
