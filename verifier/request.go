package verifier

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// RequestType is the type of a presentation request document.
const RequestType = "mustard-presentation-request"

// RequestMediaType is its media type.
const RequestMediaType = "application/vnd.mustard.presentation-request+json"

// DeepLinkScheme is the scheme of a presentation request's deep link:
//
//	mustard://present?request_uri=<https URL of the request document>
//
// The same string is what the QR code carries.
const DeepLinkScheme = "mustard"

// MaxRequest bounds a presentation request document.
const MaxRequest = 8 << 10

// PresentationRequest is what a relying party (or the OpenID Provider's
// login page) asks a wallet for. The wallet fetches it by reference
// (request_uri), picks or derives a persona for Scope that proves
// Predicates and discloses RequiredClaims, binds the presentation to
// Audience and Nonce, and POSTs {"presentation": "<sd-jwt~kb>"} as JSON to
// ResponseURI (the direct_post pattern of OpenID4VP, in Mustard's own
// vocabulary).
type PresentationRequest struct {
	Type           string    `json:"type"`                      // RequestType
	Audience       string    `json:"audience"`                  // the KB-JWT's aud
	Scope          string    `json:"scope"`                     // the persona scope (sector) to present
	Nonce          string    `json:"nonce"`                     // single use
	MinGrade       string    `json:"min_grade,omitempty"`       // low, substantial, high
	RequiredClaims []string  `json:"required_claims,omitempty"` // e.g. age_over_18, nationality
	Predicates     []string  `json:"predicates,omitempty"`      // what a new persona must prove, e.g. "age>=18"
	Disclose       []string  `json:"disclose,omitempty"`        // attributes a new persona must disclose
	ResponseURI    string    `json:"response_uri"`              // where the wallet POSTs its answer
	ClientName     string    `json:"client_name,omitempty"`     // who asks, for the wallet's prompt
	ExpiresAt      time.Time `json:"expires_at"`
	// DeviceBound asks for a device-bound persona (one only the wallet's
	// enrolled TPM can derive, circuits/devicebound); the relying party
	// verifies with Policy.DeviceBound.
	DeviceBound bool `json:"device_bound,omitempty"`
	// OID4VP is set when the request came as an OpenID4VP Authorization
	// Request: the wallet answers it with a vp_token by direct_post.
	OID4VP *AuthorizationRequest `json:"-"`
}

// Check validates a request document: everything a wallet relies on is
// present and bounded, and the response goes to an http(s) URL.
func (r *PresentationRequest) Check() error {
	if r.Type != RequestType {
		return fmt.Errorf("verifier: not a presentation request (type %q)", r.Type)
	}
	if r.Audience == "" || r.Scope == "" || r.Nonce == "" || r.ResponseURI == "" {
		return errors.New("verifier: presentation request lacks audience, scope, nonce or response_uri")
	}
	if len(r.Audience) > 255 || len(r.Scope) > 255 || len(r.Nonce) > 255 || len(r.ClientName) > 255 ||
		len(r.RequiredClaims) > 16 || len(r.Predicates) > 8 || len(r.Disclose) > 4 {
		return errors.New("verifier: presentation request too large")
	}
	if IsClientIdentifier(r.Audience) {
		return errors.New("verifier: a presentation request's audience cannot be an OpenID4VP client identifier")
	}
	u, err := url.Parse(r.ResponseURI)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return errors.New("verifier: presentation request response_uri is not an http(s) URL")
	}
	return nil
}

// clientIDPrefixes are the OpenID4VP 1.0 Client Identifier Prefixes
// (§5.9.3), those Mustard speaks and those it refuses.
var clientIDPrefixes = []string{
	PrefixDID, PrefixRedirectURI, "x509_san_dns:", "x509_hash:", "openid_federation:", "verifier_attestation:", "origin:",
}

// IsClientIdentifier reports whether aud is an OpenID4VP client
// identifier (it has a Client Identifier Prefix). A Mustard presentation
// request, unsigned, never names one as its audience: else a wallet would
// make, and send wherever the request says, a presentation an OpenID4VP
// verifier accepts, bypassing the prefix's rules on where its answers go.
func IsClientIdentifier(aud string) bool {
	for _, p := range clientIDPrefixes {
		if strings.HasPrefix(aud, p) {
			return true
		}
	}
	return false
}

// ParseRequest decodes and checks a presentation request document.
func ParseRequest(b []byte) (*PresentationRequest, error) {
	if len(b) > MaxRequest {
		return nil, errors.New("verifier: presentation request too large")
	}
	var r PresentationRequest
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("verifier: presentation request: %w", err)
	}
	if err := r.Check(); err != nil {
		return nil, err
	}
	return &r, nil
}

// DeepLink returns the deep link (and QR payload) for a request document
// served at requestURI.
func DeepLink(requestURI string) string {
	return DeepLinkScheme + "://present?" + url.Values{"request_uri": {requestURI}}.Encode()
}

// RequestURIOf extracts the request document's URL from what a wallet was
// given: a deep link, or the URL itself.
func RequestURIOf(s string) (string, error) {
	s = strings.TrimSpace(s)
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("verifier: not a presentation request link: %w", err)
	}
	if u.Scheme == DeepLinkScheme {
		s = u.Query().Get("request_uri")
		if u, err = url.Parse(s); err != nil {
			return "", fmt.Errorf("verifier: bad request_uri: %w", err)
		}
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", errors.New("verifier: a presentation request link is mustard://present?request_uri=… or an http(s) URL")
	}
	return u.String(), nil
}

// ResponseJSON is what the wallet POSTs to ResponseURI.
type ResponseJSON struct {
	Presentation string `json:"presentation"`
}
