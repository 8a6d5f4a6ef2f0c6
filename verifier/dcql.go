package verifier

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
)

// FormatSDJWT is the OpenID4VP 1.0 Credential Format Identifier of an
// IETF SD-JWT VC (Appendix B.3).
const FormatSDJWT = "dc+sd-jwt"

// Bounds of a DCQL query: a Mustard verifier asks for one persona, so
// these are generous, and they keep an attacker's query (a wallet parses
// whatever a verifier sends) small.
const (
	MaxDCQL            = 16 << 10 // encoded size
	maxDCQLCredentials = 8
	maxDCQLClaims      = 32
	maxDCQLPath        = 8
	maxDCQLValues      = 16
	maxDCQLSets        = 8
	maxDCQLOptions     = 8
	maxDCQLString      = 255
)

// DCQLQuery is a Digital Credentials Query Language query (OpenID4VP
// 1.0 §6): which credentials the verifier asks for and which of their
// claims.
type DCQLQuery struct {
	Credentials    []CredentialQuery    `json:"credentials"`
	CredentialSets []CredentialSetQuery `json:"credential_sets,omitempty"`
}

// CredentialQuery asks for one credential (§6.1).
type CredentialQuery struct {
	ID       string        `json:"id"`
	Format   string        `json:"format"`
	Multiple bool          `json:"multiple,omitempty"`
	Meta     *DCQLMeta     `json:"meta,omitempty"`
	Claims   []ClaimsQuery `json:"claims,omitempty"`
	// ClaimSets are alternative sets of claim ids, the first that the
	// wallet can satisfy preferred.
	ClaimSets [][]string `json:"claim_sets,omitempty"`
	// RequireCryptographicHolderBinding defaults to true; a Mustard
	// persona is always key-bound.
	RequireCryptographicHolderBinding *bool `json:"require_cryptographic_holder_binding,omitempty"`
	// TrustedAuthorities is kept for other wallets; Mustard's trust is
	// the trust framework's.
	TrustedAuthorities json.RawMessage `json:"trusted_authorities,omitempty"`
}

// DCQLMeta is the format-specific metadata of a credential query; for
// dc+sd-jwt, the acceptable vct values (Appendix B.3.5).
type DCQLMeta struct {
	VCTValues []string `json:"vct_values,omitempty"`
}

// ClaimsQuery asks for one claim, by its path into the credential
// (§6.3, §7): strings select object members, non-negative integers array
// elements, null every element of an array.
type ClaimsQuery struct {
	ID     string `json:"id,omitempty"`
	Path   []any  `json:"path"`
	Values []any  `json:"values,omitempty"`
}

// CredentialSetQuery is a constraint across credential queries (§6.2):
// one of Options (each a list of credential query ids) must be answered
// when Required (default true).
type CredentialSetQuery struct {
	Options  [][]string `json:"options"`
	Required *bool      `json:"required,omitempty"`
}

// ErrDCQL is an invalid DCQL query.
var ErrDCQL = errors.New("verifier: invalid DCQL query")

var dcqlID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// ParseDCQL decodes and checks a DCQL query.
func ParseDCQL(b []byte) (*DCQLQuery, error) {
	if len(b) > MaxDCQL {
		return nil, fmt.Errorf("%w: too large", ErrDCQL)
	}
	var q DCQLQuery
	if err := json.Unmarshal(b, &q); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDCQL, err)
	}
	if err := q.Check(); err != nil {
		return nil, err
	}
	return &q, nil
}

// Check validates a query against §6: unique, well-formed ids; a format
// for every credential; well-formed paths; claim_sets naming claim ids;
// credential_sets naming credential ids; everything bounded.
func (q *DCQLQuery) Check() error {
	bad := func(format string, a ...any) error { return fmt.Errorf("%w: "+format, append([]any{ErrDCQL}, a...)...) }
	if len(q.Credentials) == 0 || len(q.Credentials) > maxDCQLCredentials {
		return bad("1 to %d credentials", maxDCQLCredentials)
	}
	ids := map[string]bool{}
	for _, c := range q.Credentials {
		if !dcqlID.MatchString(c.ID) || ids[c.ID] {
			return bad("credential id %q is malformed or repeated", c.ID)
		}
		ids[c.ID] = true
		if c.Format == "" || len(c.Format) > maxDCQLString {
			return bad("credential %s has no format", c.ID)
		}
		if c.Meta != nil {
			if len(c.Meta.VCTValues) > maxDCQLValues {
				return bad("credential %s: too many vct_values", c.ID)
			}
			for _, v := range c.Meta.VCTValues {
				if v == "" || len(v) > maxDCQLString {
					return bad("credential %s: bad vct value", c.ID)
				}
			}
		}
		if len(c.Claims) > maxDCQLClaims || len(c.ClaimSets) > maxDCQLSets || len(c.TrustedAuthorities) > 4<<10 {
			return bad("credential %s asks too much", c.ID)
		}
		claimIDs := map[string]bool{}
		for _, cl := range c.Claims {
			if cl.ID != "" {
				if !dcqlID.MatchString(cl.ID) || claimIDs[cl.ID] {
					return bad("claim id %q is malformed or repeated", cl.ID)
				}
				claimIDs[cl.ID] = true
			} else if len(c.ClaimSets) > 0 {
				return bad("credential %s has claim_sets, so each claim needs an id", c.ID)
			}
			if err := checkPath(cl.Path); err != nil {
				return bad("credential %s: %v", c.ID, err)
			}
			if len(cl.Values) > maxDCQLValues {
				return bad("credential %s: too many values", c.ID)
			}
			for _, v := range cl.Values {
				switch x := v.(type) {
				case string:
					if len(x) > maxDCQLString {
						return bad("credential %s: value too long", c.ID)
					}
				case float64, bool:
				default:
					return bad("credential %s: values are strings, integers or booleans", c.ID)
				}
			}
		}
		if len(c.ClaimSets) > 0 && len(c.Claims) == 0 {
			return bad("credential %s has claim_sets but no claims", c.ID)
		}
		for _, set := range c.ClaimSets {
			if len(set) == 0 || len(set) > maxDCQLClaims {
				return bad("credential %s: empty or oversized claim set", c.ID)
			}
			for _, id := range set {
				if !claimIDs[id] {
					return bad("credential %s: claim set names unknown claim %q", c.ID, id)
				}
			}
		}
	}
	if q.CredentialSets != nil && len(q.CredentialSets) == 0 || len(q.CredentialSets) > maxDCQLSets {
		return bad("credential_sets is empty or too long")
	}
	for _, s := range q.CredentialSets {
		if len(s.Options) == 0 || len(s.Options) > maxDCQLOptions {
			return bad("a credential set needs 1 to %d options", maxDCQLOptions)
		}
		for _, opt := range s.Options {
			if len(opt) == 0 || len(opt) > maxDCQLCredentials {
				return bad("empty or oversized credential set option")
			}
			for _, id := range opt {
				if !ids[id] {
					return bad("credential set names unknown credential %q", id)
				}
			}
		}
	}
	return nil
}

// checkPath checks a claims path pointer (§7): non-empty, each element a
// string, a non-negative integer or null.
func checkPath(p []any) error {
	if len(p) == 0 || len(p) > maxDCQLPath {
		return errors.New("a claim path has 1 to 8 elements")
	}
	for _, e := range p {
		switch x := e.(type) {
		case string:
			if x == "" || len(x) > maxDCQLString {
				return errors.New("bad path element")
			}
		case float64:
			if x < 0 || x != float64(int64(x)) || x > 1<<20 {
				return errors.New("a path index is a non-negative integer")
			}
		case nil:
		default:
			return errors.New("a path element is a string, an integer or null")
		}
	}
	return nil
}

// Credential returns the credential query with id.
func (q *DCQLQuery) Credential(id string) (*CredentialQuery, bool) {
	for i := range q.Credentials {
		if q.Credentials[i].ID == id {
			return &q.Credentials[i], true
		}
	}
	return nil, false
}

// Select applies a claims path pointer to claims (§7.1) and returns the
// selected values; none selected means the claim is not there.
func Select(claims map[string]any, path []any) []any {
	cur := []any{claims}
	for _, e := range path {
		var next []any
		for _, c := range cur {
			switch x := e.(type) {
			case string:
				if m, ok := c.(map[string]any); ok {
					if v, ok := m[x]; ok {
						next = append(next, v)
					}
				}
			case float64:
				if a, ok := c.([]any); ok && int(x) < len(a) {
					next = append(next, a[int(x)])
				}
			case nil:
				if a, ok := c.([]any); ok {
					next = append(next, a...)
				}
			}
		}
		cur = next
		if len(cur) == 0 {
			return nil
		}
	}
	return cur
}

// matches reports whether claims satisfy one claims query: the path
// selects something, and when values are given, one selected value is
// one of them (§6.4.1).
func (cl *ClaimsQuery) matches(claims map[string]any) bool {
	sel := Select(claims, cl.Path)
	if len(sel) == 0 {
		return false
	}
	if len(cl.Values) == 0 {
		return true
	}
	for _, s := range sel {
		if slices.ContainsFunc(cl.Values, func(v any) bool { return v == s }) {
			return true
		}
	}
	return false
}

// Satisfied reports whether a presented credential's claims satisfy the
// credential query: every claim when there are no claim_sets, else every
// claim of at least one set (§6.4.1).
func (c *CredentialQuery) Satisfied(claims map[string]any) bool {
	if len(c.ClaimSets) == 0 {
		for i := range c.Claims {
			if !c.Claims[i].matches(claims) {
				return false
			}
		}
		return true
	}
	byID := map[string]*ClaimsQuery{}
	for i := range c.Claims {
		byID[c.Claims[i].ID] = &c.Claims[i]
	}
	for _, set := range c.ClaimSets {
		if !slices.ContainsFunc(set, func(id string) bool { return !byID[id].matches(claims) }) {
			return true
		}
	}
	return false
}

// TopLevelClaims returns the first element of every claim path: what a
// wallet holding SD-JWT VCs discloses (revealing a top-level claim
// reveals what it holds).
func (c *CredentialQuery) TopLevelClaims() []string {
	var out []string
	for _, cl := range c.Claims {
		if s, ok := cl.Path[0].(string); ok && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// Answered reports whether the set of answered credential query ids
// meets the query: with no credential_sets, every credential; else every
// required set has an option whose credentials were all answered (§6.4.2).
func (q *DCQLQuery) Answered(answered map[string]bool) bool {
	if len(q.CredentialSets) == 0 {
		for _, c := range q.Credentials {
			if !answered[c.ID] {
				return false
			}
		}
		return true
	}
	for _, s := range q.CredentialSets {
		if s.Required != nil && !*s.Required {
			continue
		}
		if !slices.ContainsFunc(s.Options, func(opt []string) bool {
			return !slices.ContainsFunc(opt, func(id string) bool { return !answered[id] })
		}) {
			return false
		}
	}
	return true
}
