// Package trust is the trust framework made machine-readable: a document,
// signed by the framework's governance key, that lists which source issuers
// count and at what grade, how their claims map to Mustard's attribute
// schema, which core-identity providers are accredited (their keys become
// the leaves of the registry tree whose root persona proofs are checked
// against) and which transaction-identity providers may issue persona
// credentials. Relying parties pin the framework by its governance key.
package trust

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/mustard-id/mustard/zk"
)

// MaxDocumentSize bounds a signed framework document.
const MaxDocumentSize = 1 << 20

// RegistryDepth is the registry tree's depth (the persona circuit's).
const RegistryDepth = 16

// MediaType is the JWS "typ" of a signed framework document.
const MediaType = "mustard-trust-framework+jwt"

// Errors.
var (
	ErrSignature = errors.New("trust: framework signature does not verify under the pinned governance keys")
	ErrMalformed = errors.New("trust: malformed framework document")
	ErrUnknown   = errors.New("trust: not listed in the trust framework")
)

// Source is an accredited source issuer of strongly provenanced credentials.
type Source struct {
	ID     string            `json:"id"`    // the issuer identifier, as in the credential's "iss"
	Name   string            `json:"name"`  // human-readable
	Kind   string            `json:"kind"`  // a format (see Formats), kept for documents that name one
	Grade  string            `json:"grade"` // low, substantial, high
	Types  []string          `json:"types"` // accepted VC types
	JWKS   json.RawMessage   `json:"jwks"`  // the issuer's public keys
	Claims map[string]string `json:"claims"`
	// Claims maps credentialSubject claim names to schema attribute names.

	// SubjectClaim names the credentialSubject claim that identifies the
	// person stably at this source (a national identifier, an account
	// number), from which the one-identity-per-person tag is derived. Empty
	// means the credential's "sub", which is only right where the source,
	// not the holder, chooses it.
	SubjectClaim string `json:"subject_claim,omitempty"`

	// Formats are the credential formats accepted from this source:
	// FormatJWTVC, FormatSDJWTVC, FormatLDPVC or FormatOIDC. Empty means
	// Kind alone.
	Formats []string `json:"formats,omitempty"`

	// SubjectScheme, when set, names a framework-wide person identifier
	// (a national identity number scheme, say) that SubjectClaim holds at
	// this source. Sources sharing a scheme share uniqueness tags, so one
	// person enrolling through two of them still gets one core identity.
	// Empty keeps tags per source.
	SubjectScheme string `json:"subject_scheme,omitempty"`
}

// Credential formats a source can be accredited for.
const (
	FormatJWTVC   = "jwt-vc"    // VC Data Model JWT encoding
	FormatSDJWTVC = "sd-jwt-vc" // SD-JWT VC, disclosures checked against their digests
	FormatLDPVC   = "ldp-vc"    // W3C VC JSON-LD with a Data Integrity / linked-data proof
	FormatOIDC    = "oidc"      // an OpenID Connect id_token from a federation identity provider
)

// Accepts reports whether the source is accredited for format.
func (s *Source) Accepts(format string) bool {
	if len(s.Formats) == 0 {
		return s.Kind == format
	}
	for _, f := range s.Formats {
		if f == format {
			return true
		}
	}
	return false
}

// Grade rules: how the grade of an enrollment that combines several
// sources follows from theirs.
const (
	// GradeRuleMax: the highest grade among the sources.
	GradeRuleMax = "max"
	// GradeRuleTwoForHigh: the highest grade among the sources, except
	// that "high" needs at least two independent sources (distinct
	// issuers) each graded at least substantial; with fewer the result is
	// capped at substantial.
	GradeRuleTwoForHigh = "two-for-high"
)

// Provider is an accredited core-identity provider key.
type Provider struct {
	ID         string `json:"id"`
	URL        string `json:"url,omitempty"`
	Key        string `json:"key"` // hex of the compressed EdDSA public key (BN254 twisted Edwards)
	MaxGrade   string `json:"max_grade"`
	ValidUntil int64  `json:"valid_until"` // Unix seconds
	// Org names the organisation that holds the key, when it is not the
	// provider id: k-of-n proofs count organisations (Organisation), so
	// two keys of one organisation count once.
	Org string `json:"org,omitempty"`
}

// Issuer is an accredited transaction-identity provider.
type Issuer struct {
	ID   string          `json:"id"` // its DID or URL, the "iss" of persona credentials
	JWKS json.RawMessage `json:"jwks"`
}

// Document is a trust framework.
type Document struct {
	ID           string     `json:"id"`
	Version      int        `json:"version"`
	IssuedAt     int64      `json:"issued_at"`
	Sources      []Source   `json:"sources"`
	Providers    []Provider `json:"providers"`
	Issuers      []Issuer   `json:"issuers"`
	RegistryRoot string     `json:"registry_root"` // hex; Seal computes it
	// GradeRule is how several sources combine: GradeRuleMax (the
	// default when empty) or GradeRuleTwoForHigh.
	GradeRule string `json:"grade_rule,omitempty"`
	// Governance is who may sign this document's successor (m-of-n);
	// Previous is the Digest of the document this one succeeds.
	Governance *Governance `json:"governance,omitempty"`
	Previous   string      `json:"previous,omitempty"`
}

// Seal computes the registry root and signs the document with the
// governance key (EdDSA or ES256).
func Seal(d *Document, governance jwk.Key) ([]byte, error) {
	payload, err := d.payload()
	if err != nil {
		return nil, err
	}
	alg, err := algFor(governance)
	if err != nil {
		return nil, err
	}
	hdr := jws.NewHeaders()
	_ = hdr.Set(jws.TypeKey, MediaType)
	out, err := jws.Sign(payload, jws.WithKey(alg, governance, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		return nil, fmt.Errorf("trust: sign: %w", err)
	}
	return out, nil
}

// payload computes the registry root into d and encodes it for signing.
func (d *Document) payload() ([]byte, error) {
	t, _, err := d.Registry()
	if err != nil {
		return nil, err
	}
	root := t.Root()
	d.RegistryRoot = hex.EncodeToString(root.Marshal())
	return json.Marshal(d)
}

func algFor(k jwk.Key) (jwa.SignatureAlgorithm, error) {
	switch k.KeyType() {
	case "OKP":
		return jwa.EdDSA, nil
	case "EC":
		return jwa.ES256, nil
	}
	return "", fmt.Errorf("trust: governance key type %s is not supported", k.KeyType())
}

// Parse verifies a signed document under the pinned governance keys and
// checks that its registry root matches its providers.
func Parse(signed []byte, governance jwk.Set) (*Document, error) {
	if len(signed) == 0 || len(signed) > MaxDocumentSize {
		return nil, fmt.Errorf("%w: size", ErrMalformed)
	}
	msg, err := jws.Parse(signed)
	if err != nil || len(msg.Signatures()) != 1 {
		return nil, fmt.Errorf("%w: not a JWS", ErrMalformed)
	}
	hdr := msg.Signatures()[0].ProtectedHeaders()
	if hdr.Type() != MediaType {
		return nil, fmt.Errorf("%w: typ", ErrMalformed)
	}
	alg := hdr.Algorithm()
	if alg != jwa.EdDSA && alg != jwa.ES256 {
		return nil, ErrSignature
	}
	payload, err := jws.Verify(signed, jws.WithKeySet(governance, jws.WithRequireKid(false)))
	if err != nil {
		return nil, ErrSignature
	}
	return decode(payload)
}

// decode parses a verified payload and checks its registry root.
func decode(payload []byte) (*Document, error) {
	var d Document
	if err := json.Unmarshal(payload, &d); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	t, _, err := d.Registry()
	if err != nil {
		return nil, err
	}
	root := t.Root()
	if hex.EncodeToString(root.Marshal()) != d.RegistryRoot {
		return nil, fmt.Errorf("%w: registry root does not match the providers", ErrMalformed)
	}
	return &d, nil
}

// Registry builds the registry tree; the map gives each provider key's leaf index.
func (d *Document) Registry() (*zk.Tree, map[string]uint64, error) {
	t := zk.NewTree(RegistryDepth)
	idx := map[string]uint64{}
	for _, p := range d.Providers {
		pk, grade, err := p.parse()
		if err != nil {
			return nil, nil, err
		}
		i, err := t.Append(zk.ProviderLeaf(pk, grade, p.ValidUntil))
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %v", ErrMalformed, err)
		}
		idx[p.Key] = i
	}
	if err := d.checkOrganisations(); err != nil {
		return nil, nil, err
	}
	return t, idx, nil
}

func (p Provider) parse() (*zk.PublicKey, uint64, error) {
	b, err := hex.DecodeString(p.Key)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: provider %s key", ErrMalformed, p.ID)
	}
	pk, err := zk.ParsePublicKey(b)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: provider %s key", ErrMalformed, p.ID)
	}
	g, err := zk.ParseGrade(p.MaxGrade)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: provider %s: %v", ErrMalformed, p.ID, err)
	}
	return pk, g, nil
}

// Root returns the registry root as a field element.
func (d *Document) Root() (fr.Element, error) {
	var e fr.Element
	b, err := hex.DecodeString(d.RegistryRoot)
	if err != nil || e.SetBytesCanonical(b) != nil {
		return e, fmt.Errorf("%w: registry root", ErrMalformed)
	}
	return e, nil
}

// Source returns the accredited source with issuer identifier id.
func (d *Document) Source(id string) (*Source, error) {
	for i := range d.Sources {
		if d.Sources[i].ID == id {
			return &d.Sources[i], nil
		}
	}
	return nil, fmt.Errorf("%w: source issuer", ErrUnknown)
}

// Provider returns the accredited provider with the given hex key.
func (d *Document) Provider(key string) (*Provider, error) {
	for i := range d.Providers {
		if d.Providers[i].Key == key {
			return &d.Providers[i], nil
		}
	}
	return nil, fmt.Errorf("%w: provider key", ErrUnknown)
}

// Issuer returns the accredited transaction-identity provider id.
func (d *Document) Issuer(id string) (*Issuer, error) {
	for i := range d.Issuers {
		if d.Issuers[i].ID == id {
			return &d.Issuers[i], nil
		}
	}
	return nil, fmt.Errorf("%w: issuer", ErrUnknown)
}

// KeySet parses a JWKS held in the document.
func KeySet(raw json.RawMessage) (jwk.Set, error) {
	s, err := jwk.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: jwks: %v", ErrMalformed, err)
	}
	return s, nil
}
