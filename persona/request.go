package persona

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ErrRequest is a presentation request the wallet cannot answer.
var ErrRequest = errors.New("persona: bad presentation request")

// Bounds on a presentation request, which comes from outside.
const (
	MaxRequestSize   = 8 << 10
	maxRequestClaims = 16
	maxRequestField  = 512
)

// RequestScheme is the URL scheme of a presentation request shown as a
// link or a QR code: mustard://present?nonce=…&audience=…
const RequestScheme = "mustard"

// PresentationRequest is what a relying party asks a wallet for: a
// key-bound presentation for its audience and nonce, of a persona for its
// scope, disclosing claims. It extends the verification API's
// PresentationRequestJSON (nonce, audience, expires_in) with what the
// wallet needs to choose the persona and where to send the answer.
type PresentationRequest struct {
	Nonce     string `json:"nonce"`
	Audience  string `json:"audience"`
	ExpiresIn int64  `json:"expires_in,omitempty"`
	// Scope is the persona's scope; empty means the audience's host.
	Scope string `json:"scope,omitempty"`
	// Claims are the claims to disclose, e.g. age_over_18.
	Claims []string `json:"claims,omitempty"`
	// MinGrade is the lowest assurance grade the relying party accepts.
	MinGrade string `json:"min_grade,omitempty"`
	// ResponseURI, if set, is where the wallet POSTs its answer (a JSON
	// body shaped as the verification API's VerifyJSON); otherwise the
	// wallet prints the presentation.
	ResponseURI string `json:"response_uri,omitempty"`
}

// ParsePresentationRequest parses a request given as JSON or as a
// mustard://present?… (or https://…?nonce=…) URL, the form a QR code
// carries. It checks sizes and syntax; it fetches nothing.
func ParsePresentationRequest(s string) (*PresentationRequest, error) {
	if len(s) > MaxRequestSize {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrRequest, MaxRequestSize)
	}
	if !utf8.ValidString(s) {
		return nil, fmt.Errorf("%w: not UTF-8", ErrRequest)
	}
	s = strings.TrimSpace(s)
	var r PresentationRequest
	if strings.HasPrefix(s, "{") {
		dec := json.NewDecoder(strings.NewReader(s))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrRequest, err)
		}
		if dec.More() {
			return nil, fmt.Errorf("%w: trailing data after the JSON object", ErrRequest)
		}
	} else {
		u, err := url.Parse(s)
		if err != nil {
			return nil, fmt.Errorf("%w: neither JSON nor a URL", ErrRequest)
		}
		switch {
		case u.Scheme == RequestScheme && (u.Host == "present" || u.Opaque == "present"):
		case (u.Scheme == "https" || u.Scheme == "http") && u.Query().Has("nonce"):
		default:
			return nil, fmt.Errorf("%w: expected JSON or a %s://present?nonce=…&audience=… link", ErrRequest, RequestScheme)
		}
		q := u.Query()
		r.Nonce, r.Audience, r.Scope = q.Get("nonce"), q.Get("audience"), q.Get("scope")
		r.MinGrade, r.ResponseURI = q.Get("min_grade"), q.Get("response_uri")
		if c := q.Get("claims"); c != "" {
			r.Claims = strings.Split(c, ",")
		}
		if e := q.Get("expires_in"); e != "" {
			if r.ExpiresIn, err = strconv.ParseInt(e, 10, 64); err != nil {
				return nil, fmt.Errorf("%w: expires_in is not a number", ErrRequest)
			}
		}
	}
	if err := r.validate(); err != nil {
		return nil, err
	}
	return &r, nil
}

func (r *PresentationRequest) validate() error {
	bad := func(why string) error { return fmt.Errorf("%w: %s", ErrRequest, why) }
	switch {
	case r.Nonce == "" || len(r.Nonce) > maxRequestField:
		return bad("no nonce (or one too long)")
	case r.Audience == "" || len(r.Audience) > 255:
		return bad("no audience (or one longer than 255 bytes)")
	case len(r.Scope) > 255:
		return bad("scope longer than 255 bytes")
	case len(r.Claims) > maxRequestClaims:
		return bad(fmt.Sprintf("more than %d claims", maxRequestClaims))
	case len(r.MinGrade) > 32 || len(r.ResponseURI) > maxRequestField:
		return bad("field too long")
	case r.ExpiresIn < 0:
		return bad("negative expires_in")
	}
	for _, c := range r.Claims {
		if c == "" || len(c) > 64 {
			return bad("empty or overlong claim name")
		}
	}
	if r.ResponseURI != "" {
		u, err := url.Parse(r.ResponseURI)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return bad("response_uri must be an http(s) URL")
		}
	}
	if r.Scope == "" {
		r.Scope = r.Audience
		if u, err := url.Parse(r.Audience); err == nil && u.Host != "" {
			r.Scope = u.Hostname()
		}
	}
	return nil
}
