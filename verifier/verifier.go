package verifier

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/mustard-id/mustard/internal/sdjwt"
	"github.com/mustard-id/mustard/zk"
)

// VCT is the SD-JWT VC type of a Mustard persona credential.
const VCT = "urn:mustard:vct:persona:1"

// NoncePurpose namespaces the verifier's nonces in a shared store.
const NoncePurpose = "verifier"

// Policy is what a relying party requires of a presentation.
type Policy struct {
	Audience       string        // this relying party, the KB-JWT's aud
	Scope          string        // the persona scope this relying party accepts (its sector): one persona per person and scope
	Nonce          string        // the nonce it issued for this presentation
	MinGrade       uint64        // zk.GradeLow … zk.GradeHigh; 0 accepts any
	RequiredClaims []string      // claims that must be disclosed and true/non-empty, e.g. "age_over_18"
	MaxAge         time.Duration // how old the KB-JWT (or a self-issued proof) may be; 0 means 5 minutes
	// RequireHolderBinding demands, of a self-issued proof, the persona
	// key and its proof of possession for Audience and Nonce (SD-JWT VC
	// presentations are always key-bound).
	RequireHolderBinding bool
	// MinProviders demands, of a self-issued proof, a core credential
	// signed by at least this many distinct accredited core-identity
	// providers: a k-of-n proof (circuits/threshold) whose K, fixed by its
	// verifying key, is at least MinProviders. 0 or 1 also accepts the
	// persona circuit's single-provider proofs.
	MinProviders int
	// DeviceBound demands a device-bound persona (circuits/devicebound):
	// a credential whose persona_proof_vk is the device-bound circuit's
	// verifying key this verifier trusts (Config.DeviceBoundZK), so that
	// its issuer checked a proof only the enrolled TPM could make. Other
	// personas, self-issued proofs included, are refused with
	// ErrNotDeviceBound.
	DeviceBound bool
}

// Verdict is an accepted presentation.
type Verdict struct {
	Issuer    string         `json:"issuer"`
	Scope     string         `json:"scope"`
	Pseudonym string         `json:"pseudonym"`
	Grade     string         `json:"grade"`
	Claims    map[string]any `json:"claims"` // every disclosed and visible claim
	Expiry    time.Time      `json:"exp"`
	// HolderBound reports a self-issued proof whose persona key proved
	// possession for this audience and nonce.
	HolderBound bool `json:"holder_bound,omitempty"`
}

// Config configures a Verifier.
type Config struct {
	// Issuers resolves accredited issuers' keys (from the trust framework).
	Issuers sdjwt.KeyResolver
	Now     func() time.Time
	// HTTPClient fetches status lists; nil means a client with a 10 s
	// timeout.
	HTTPClient *http.Client

	// Self-issued proofs (optional): the persona circuit's keys, the trust
	// framework's registry root and the current revocation root.
	ZK             *zk.Keys
	RegistryRoot   func() fr.Element
	RevocationRoot func() fr.Element
	// ThresholdZK are the k-of-n circuits' keys by threshold K (optional):
	// the proofs a Policy.MinProviders above 1 accepts.
	ThresholdZK map[int]*zk.Keys
	// ThresholdRegistryRoot is the trust framework's organisation
	// registry root (trust.Document.OrgRegistry), which k-of-n proofs are
	// checked against; required with ThresholdZK.
	ThresholdRegistryRoot func() fr.Element
	// ThresholdRevocationRoot is the framework-wide revocation root that
	// k-of-n proofs are checked against (their revocation entries name the
	// credential, not a provider); nil means RevocationRoot.
	ThresholdRevocationRoot func() fr.Element
	// DeviceBoundZK are the device-bound circuit's keys (optional; only
	// VKID is used): the verifying key a credential's persona_proof_vk
	// must name under Policy.DeviceBound. Nil refuses every presentation
	// under such a policy.
	DeviceBoundZK *zk.Keys
}

// Verifier checks persona presentations.
type Verifier struct {
	cfg    Config
	status statusCache
}

// New returns a Verifier.
func New(cfg Config) (*Verifier, error) {
	if cfg.Issuers == nil {
		return nil, errors.New("verifier: an issuer key resolver is required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	return &Verifier{cfg: cfg}, nil
}

// Verify checks a presentation against policy: a key-bound SD-JWT VC
// presentation, or (a JSON object) a W3C VC 2.0 JSON-LD presentation of
// a persona credential with Data Integrity proofs (ldp.go).
func (v *Verifier) Verify(ctx context.Context, presentation string, policy Policy) (*Verdict, error) {
	if policy.Audience == "" || policy.Nonce == "" || policy.Scope == "" {
		return nil, ErrInvalidRequest
	}
	if strings.HasPrefix(strings.TrimSpace(presentation), "{") {
		// A W3C VC 2.0 JSON-LD presentation (ldp.go).
		return v.verifyLDP(ctx, presentation, policy)
	}
	maxAge := policy.MaxAge
	if maxAge == 0 {
		maxAge = 5 * time.Minute
	}
	res, err := sdjwt.Verify(ctx, presentation, sdjwt.VerifyOptions{
		IssuerKeys:        v.cfg.Issuers,
		VCT:               VCT,
		RequireKeyBinding: true,
		Audience:          policy.Audience,
		Nonce:             policy.Nonce,
		Now:               v.cfg.Now(),
		Skew:              time.Minute,
		MaxAge:            maxAge,
	})
	if err != nil {
		return nil, reason(err)
	}
	return v.decide(res.Issuer, res.Claims, res.Expiry, policy, func() error {
		// draft-ietf-oauth-sd-jwt-vc §3.2.2.2: status, when present, says
		// where the credential's status is; a credential whose status
		// cannot be established is refused, never taken as valid.
		if st, ok := res.Claims["status"]; ok {
			return v.checkStatus(ctx, res.Issuer, st)
		}
		return nil
	})
}

// decide applies policy to a verified credential's claims: a persona
// credential (scope, pseudonym, grade), for the policy's scope, at least
// its grade, every required claim true or non-empty; then status, last
// since it may need a fetch.
func (v *Verifier) decide(issuer string, claims map[string]any, expiry time.Time, policy Policy, status func() error) (*Verdict, error) {
	out := &Verdict{Issuer: issuer, Claims: claims, Expiry: expiry}
	out.Scope, _ = claims["scope"].(string)
	out.Pseudonym, _ = claims["pseudonym"].(string)
	out.Grade, _ = claims["grade"].(string)
	g, err := zk.ParseGrade(out.Grade)
	if err != nil || out.Scope == "" || out.Pseudonym == "" {
		return nil, ErrWrongType
	}
	// A persona for another scope is another pseudonym of possibly the same
	// person: accepting it would let one person appear as many.
	if out.Scope != policy.Scope {
		return nil, ErrScope
	}
	if g < policy.MinGrade {
		return nil, ErrGrade
	}
	if policy.DeviceBound && !v.deviceBoundVK(claims["persona_proof_vk"]) {
		return nil, ErrNotDeviceBound
	}
	for _, c := range policy.RequiredClaims {
		switch x := claims[c].(type) {
		case bool:
			if !x {
				return nil, ErrMissingClaim
			}
		case string:
			if x == "" {
				return nil, ErrMissingClaim
			}
		case []any:
			if len(x) == 0 {
				return nil, ErrMissingClaim
			}
		case nil:
			return nil, ErrMissingClaim
		}
	}
	if err := status(); err != nil {
		return nil, err
	}
	return out, nil
}
