package verifier

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/mustard-id/mustard/zk"
)

// OpenID for Verifiable Presentations 1.0.
const (
	// OID4VPScheme is the scheme of an Authorization Request link (and QR
	// payload): openid4vp://?client_id=…&request_uri=… (§A.1 of HAIP and
	// common practice; the spec lets the wallet register any scheme).
	OID4VPScheme = "openid4vp"
	// RequestObjectType is the typ of a signed Request Object (RFC 9101 §4).
	RequestObjectType = "oauth-authz-req+jwt"
	// RequestObjectMediaType is its media type (RFC 9101 §10.2).
	RequestObjectMediaType = "application/oauth-authz-req+jwt"
	// SelfIssuedAudience is the aud of a Request Object for a wallet known
	// by static metadata (§5.8).
	SelfIssuedAudience = "https://self-issued.me/v2"
	// ResponseModeDirectPost: the wallet POSTs the response, form-encoded,
	// to response_uri (§8.2).
	ResponseModeDirectPost = "direct_post"
	// MaxRequestObject bounds a Request Object.
	MaxRequestObject = 32 << 10
	// MaxAuthorizationResponse bounds a direct_post body.
	MaxAuthorizationResponse = 256 << 10
	// maxVPTokenIDs and maxVPTokenEach bound a vp_token.
	maxVPTokenIDs  = maxDCQLCredentials
	maxVPTokenEach = 4
)

// Client Identifier Prefixes (§5.9.3) Mustard knows. A wallet refuses
// every other prefix (x509_san_dns, x509_hash, openid_federation,
// verifier_attestation, origin) and a client_id without one
// (pre-registered verifiers): it has no way to authenticate them.
const (
	PrefixDID         = "decentralized_identifier:"
	PrefixRedirectURI = "redirect_uri:"
)

// ErrClientIDPrefix is a client_id whose prefix the wallet cannot
// authenticate.
var ErrClientIDPrefix = errors.New("verifier: unsupported client_id prefix (Mustard wallets accept decentralized_identifier:did:web:… and redirect_uri:…)")

// MustardRequest is the "mustard" parameter of a Request Object: what a
// Mustard wallet needs that DCQL cannot say. Other wallets ignore it
// (§5: the wallet MUST ignore unrecognized parameters).
//
//   - scope: the persona scope (the relying party's sector); the
//     presented persona's pseudonym is for this scope, one per person.
//   - min_grade: the least assurance grade the persona must carry.
//   - predicates, disclose: what a persona freshly derived for this
//     request must prove in zero knowledge and disclose, e.g. "age>=18";
//     the DCQL claims (age_over_18) are what the credential then shows.
//   - device_bound: the persona must be device-bound (circuits/devicebound).
type MustardRequest struct {
	Scope       string   `json:"scope"`
	MinGrade    string   `json:"min_grade,omitempty"`
	Predicates  []string `json:"predicates,omitempty"`
	Disclose    []string `json:"disclose,omitempty"`
	DeviceBound bool     `json:"device_bound,omitempty"`
}

// ClientMetadata is the request's client_metadata (§5.1, §11.1).
type ClientMetadata struct {
	ClientName         string                    `json:"client_name,omitempty"`
	VPFormatsSupported map[string]map[string]any `json:"vp_formats_supported,omitempty"`
	// JWKS and EncryptedResponseEncValuesSupported: for direct_post.jwt,
	// the key to encrypt the response to and the content encryptions the
	// verifier accepts (§8.3, §11.1).
	JWKS                                json.RawMessage `json:"jwks,omitempty"`
	EncryptedResponseEncValuesSupported []string        `json:"encrypted_response_enc_values_supported,omitempty"`
}

// AuthorizationRequest is an OpenID4VP Authorization Request as a
// Request Object's claims (§5.1, RFC 9101).
type AuthorizationRequest struct {
	Issuer         string          `json:"iss,omitempty"`
	Audience       string          `json:"aud,omitempty"`
	IssuedAt       int64           `json:"iat,omitempty"`
	Expiry         int64           `json:"exp,omitempty"`
	ClientID       string          `json:"client_id"`
	ResponseType   string          `json:"response_type"`
	ResponseMode   string          `json:"response_mode"`
	ResponseURI    string          `json:"response_uri"`
	Nonce          string          `json:"nonce"`
	State          string          `json:"state,omitempty"`
	DCQLQuery      *DCQLQuery      `json:"dcql_query"`
	ClientMetadata *ClientMetadata `json:"client_metadata,omitempty"`
	WalletNonce    string          `json:"wallet_nonce,omitempty"`
	Mustard        *MustardRequest `json:"mustard,omitempty"`
}

// Check validates a request a wallet is about to answer: the response
// type and mode Mustard speaks, an http(s) response_uri, a nonce, a valid
// DCQL query asking for Mustard personas, a Mustard scope, and, for a
// redirect_uri: client, a response_uri equal to its identifier (§5.9.3).
func (a *AuthorizationRequest) Check(now time.Time) error {
	switch {
	case a.ResponseType != "vp_token":
		return fmt.Errorf("verifier: response_type %q is not vp_token", a.ResponseType)
	case a.ResponseMode != ResponseModeDirectPost && a.ResponseMode != ResponseModeDirectPostJWT:
		return fmt.Errorf("verifier: response_mode %q is not supported (direct_post and direct_post.jwt only)", a.ResponseMode)
	case !printableClientID(a.ClientID):
		return errors.New("verifier: the client_id has characters a wallet cannot show")
	case a.Nonce == "" || len(a.Nonce) > 255 || len(a.State) > 255 || len(a.ClientID) > 512 || len(a.WalletNonce) > 255:
		return errors.New("verifier: the request lacks a nonce, or a parameter is too long")
	case a.ClientMetadata != nil && len(a.ClientMetadata.ClientName) > 255:
		return errors.New("verifier: client_name too long")
	case a.DCQLQuery == nil:
		return errors.New("verifier: the request has no dcql_query")
	case a.Audience != "" && a.Audience != SelfIssuedAudience:
		return errors.New("verifier: the Request Object is for another audience")
	case a.Expiry != 0 && now.Unix() > a.Expiry:
		return errors.New("verifier: the request has expired")
	}
	u, err := url.Parse(a.ResponseURI)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Fragment != "" || len(a.ResponseURI) > 1024 {
		return errors.New("verifier: response_uri is not an http(s) URL")
	}
	if err := a.DCQLQuery.Check(); err != nil {
		return err
	}
	if a.ResponseMode == ResponseModeDirectPostJWT {
		if _, err := a.ClientMetadata.responseKey(); err != nil {
			return err
		}
		if _, err := a.ClientMetadata.responseEnc(); err != nil {
			return err
		}
	}
	for _, c := range a.DCQLQuery.Credentials {
		if c.Format != FormatSDJWT || c.Meta == nil || !slices.Contains(c.Meta.VCTValues, VCT) {
			return fmt.Errorf("verifier: credential query %s asks for something other than a Mustard persona (%s with vct %s)", c.ID, FormatSDJWT, VCT)
		}
	}
	m := a.Mustard
	if m == nil || m.Scope == "" || len(m.Scope) > 255 || strings.ContainsFunc(m.Scope, unicode.IsControl) || len(m.Predicates) > 8 || len(m.Disclose) > 4 {
		return errors.New("verifier: the request lacks the mustard parameter's scope, or asks too much")
	}
	if m.MinGrade != "" {
		if _, err := zk.ParseGrade(m.MinGrade); err != nil {
			return fmt.Errorf("verifier: unknown grade %q", m.MinGrade)
		}
	}
	if id, ok := strings.CutPrefix(a.ClientID, PrefixRedirectURI); ok && id != a.ResponseURI {
		return errors.New("verifier: a redirect_uri: client's response_uri must be its identifier")
	}
	return nil
}

// PresentationRequest maps the request onto Mustard's own request, which
// a wallet's persona selection and derivation already understand: the
// audience is the client_id (§B.3.6: the KB-JWT's aud MUST be the Client
// Identifier), the required claims what the DCQL query's credential asks
// for.
func (a *AuthorizationRequest) PresentationRequest() *PresentationRequest {
	r := &PresentationRequest{
		Type: RequestType, Audience: a.ClientID, Nonce: a.Nonce, ResponseURI: a.ResponseURI, OID4VP: a,
	}
	if a.Mustard != nil {
		r.Scope, r.MinGrade, r.Predicates, r.Disclose = a.Mustard.Scope, a.Mustard.MinGrade, a.Mustard.Predicates, a.Mustard.Disclose
		r.DeviceBound = a.Mustard.DeviceBound
	}
	if a.ClientMetadata != nil {
		// Shown on a terminal and a page: no control characters (a
		// verifier's escape sequences must not redraw the prompt).
		r.ClientName = strings.Map(func(c rune) rune {
			if unicode.IsControl(c) {
				return -1
			}
			return c
		}, a.ClientMetadata.ClientName)
	}
	if a.Expiry != 0 {
		r.ExpiresAt = time.Unix(a.Expiry, 0).UTC()
	}
	if a.DCQLQuery != nil && len(a.DCQLQuery.Credentials) > 0 {
		for _, c := range a.DCQLQuery.Credentials[0].TopLevelClaims() {
			if !slices.Contains(alwaysVisible, c) {
				r.RequiredClaims = append(r.RequiredClaims, c)
			}
		}
	}
	return r
}

// alwaysVisible are a persona credential's claims that are never
// selectively disclosable: asking for them costs the holder nothing more.
var alwaysVisible = []string{"scope", "pseudonym", "grade", "vct", "iss", "cnf", "status", "exp", "iat"}

// AuthorizationLink is what a verifier shows: the link (and QR payload)
// openid4vp://?client_id=…&request_uri=…[&request_uri_method=post].
func AuthorizationLink(clientID, requestURI, method string) string {
	v := url.Values{"client_id": {clientID}, "request_uri": {requestURI}}
	if method != "" {
		v.Set("request_uri_method", method)
	}
	return OID4VPScheme + "://?" + v.Encode()
}

// AuthorizationLinkParams is a parsed authorization link.
type AuthorizationLinkParams struct {
	ClientID         string
	RequestURI       string
	RequestURIMethod string // "get" (default) or "post"
	Request          string // a Request Object passed by value
}

// ParseAuthorizationLink parses an openid4vp: link (or its QR payload):
// client_id and either request_uri (an http(s) URL) or request.
func ParseAuthorizationLink(s string) (*AuthorizationLinkParams, error) {
	s = strings.TrimSpace(s)
	if len(s) > MaxRequestObject {
		return nil, errors.New("verifier: authorization link too long")
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != OID4VPScheme {
		return nil, errors.New("verifier: not an openid4vp: link")
	}
	q := u.Query()
	p := &AuthorizationLinkParams{ClientID: q.Get("client_id"), RequestURI: q.Get("request_uri"), RequestURIMethod: q.Get("request_uri_method"), Request: q.Get("request")}
	if p.ClientID == "" || len(p.ClientID) > 512 {
		return nil, errors.New("verifier: the link has no client_id")
	}
	if !printableClientID(p.ClientID) {
		return nil, errors.New("verifier: the client_id has characters a wallet cannot show")
	}
	if (p.RequestURI == "") == (p.Request == "") {
		return nil, errors.New("verifier: the link needs either request_uri or request")
	}
	if p.RequestURI != "" {
		r, err := url.Parse(p.RequestURI)
		if err != nil || (r.Scheme != "https" && r.Scheme != "http") || r.Host == "" || len(p.RequestURI) > 1024 {
			return nil, errors.New("verifier: request_uri is not an http(s) URL")
		}
	}
	switch p.RequestURIMethod {
	case "":
		p.RequestURIMethod = "get"
	case "get", "post":
	default:
		return nil, errors.New("verifier: request_uri_method is get or post")
	}
	return p, nil
}

// printableClientID reports whether a client_id is printable ASCII: a
// wallet shows it as who asks, so no control characters (escape
// sequences rewriting the prompt), no format characters (right-to-left
// overrides) and no look-alike letters. A DID and a URI are ASCII
// (non-ASCII is percent-encoded).
func printableClientID(id string) bool {
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e {
			return false
		}
	}
	return true
}

// RequestObjectKeys resolves the key of a decentralized_identifier:
// verifier: did, and the kid's fragment.
type RequestObjectKeys func(ctx context.Context, did, kid string) (jwk.Key, error)

// ParseRequestObject checks a Request Object for the client_id of the
// link it came from and returns its request. By prefix (§5.9.3):
//
//   - decentralized_identifier:<did>: signed (ES256 or EdDSA) by a key of
//     the DID's document named by kid, a DID URL <did>#<fragment>;
//   - redirect_uri:<uri>: unsigned (alg none), and answered only at <uri>.
//
// Every other prefix is refused with ErrClientIDPrefix. The client_id
// inside MUST equal the link's (§5.10), typ MUST be oauth-authz-req+jwt.
func ParseRequestObject(ctx context.Context, obj, clientID string, keys RequestObjectKeys, now time.Time) (*AuthorizationRequest, error) {
	if len(obj) > MaxRequestObject {
		return nil, errors.New("verifier: Request Object too large")
	}
	parts := strings.Split(strings.TrimSpace(obj), ".")
	if len(parts) != 3 {
		return nil, errors.New("verifier: a Request Object is a compact JWS")
	}
	hb, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return nil, errors.New("verifier: bad Request Object header")
	}
	var hdr struct {
		Alg string `json:"alg"`
		Typ string `json:"typ"`
		Kid string `json:"kid"`
	}
	if err := json.Unmarshal(hb, &hdr); err != nil {
		return nil, errors.New("verifier: bad Request Object header")
	}
	if hdr.Typ != RequestObjectType {
		return nil, fmt.Errorf("verifier: Request Object typ %q is not %s", hdr.Typ, RequestObjectType)
	}
	var payload []byte
	switch {
	case strings.HasPrefix(clientID, PrefixDID):
		did := strings.TrimPrefix(clientID, PrefixDID)
		frag, ok := strings.CutPrefix(hdr.Kid, did+"#")
		if !ok || frag == "" {
			return nil, errors.New("verifier: the Request Object's kid is not a key of the client's DID")
		}
		alg := jwa.SignatureAlgorithm(hdr.Alg)
		if alg != jwa.ES256 && alg != jwa.EdDSA {
			return nil, fmt.Errorf("verifier: Request Object alg %q not allowed", hdr.Alg)
		}
		if keys == nil {
			return nil, errors.New("verifier: no DID resolver")
		}
		key, err := keys(ctx, did, frag)
		if err != nil {
			return nil, fmt.Errorf("verifier: the client's DID key: %w", err)
		}
		if payload, err = jws.Verify([]byte(obj), jws.WithKey(alg, key)); err != nil {
			return nil, errors.New("verifier: the Request Object's signature does not verify")
		}
	case strings.HasPrefix(clientID, PrefixRedirectURI):
		if hdr.Alg != "none" || parts[2] != "" {
			return nil, errors.New("verifier: a redirect_uri: client's Request Object is unsigned (§5.9.3)")
		}
		if payload, err = base64.RawURLEncoding.DecodeString(parts[1]); err != nil {
			return nil, errors.New("verifier: bad Request Object payload")
		}
	default:
		return nil, ErrClientIDPrefix
	}
	var a AuthorizationRequest
	if err := json.Unmarshal(payload, &a); err != nil {
		return nil, fmt.Errorf("verifier: Request Object: %v", err)
	}
	if subtle.ConstantTimeCompare([]byte(a.ClientID), []byte(clientID)) != 1 {
		return nil, errors.New("verifier: the Request Object's client_id is not the link's")
	}
	if err := a.Check(now); err != nil {
		return nil, err
	}
	return &a, nil
}

// SignRequestObject signs a request as a Request Object with key, named
// by kid (a DID URL for a decentralized_identifier: client). A nil key
// makes an unsigned one (alg none), as a redirect_uri: client sends.
func SignRequestObject(a *AuthorizationRequest, key jwk.Key, kid string) (string, error) {
	body, err := json.Marshal(a)
	if err != nil {
		return "", err
	}
	if key == nil {
		h, _ := json.Marshal(map[string]string{"alg": "none", "typ": RequestObjectType})
		return base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(body) + ".", nil
	}
	alg := jwa.ES256
	if _, ok := key.(jwk.OKPPrivateKey); ok {
		alg = jwa.EdDSA
	}
	// jws.Sign would write the jwk.Key's own kid over the header's.
	var raw any
	if err := key.Raw(&raw); err != nil {
		return "", err
	}
	hdr := jws.NewHeaders()
	_ = hdr.Set(jws.TypeKey, RequestObjectType)
	_ = hdr.Set(jws.KeyIDKey, kid)
	b, err := jws.Sign(body, jws.WithKey(alg, raw, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		return "", fmt.Errorf("verifier: sign the Request Object: %w", err)
	}
	return string(b), nil
}

// AuthorizationResponse is a direct_post body (§8.1, §8.2): vp_token, a
// JSON object from credential query id to presentations, and state; or
// an error response (§8.5).
type AuthorizationResponse struct {
	VPToken          map[string][]string
	State            string
	Error            string
	ErrorDescription string
}

// ParseAuthorizationResponse decodes a direct_post form.
func ParseAuthorizationResponse(form url.Values) (*AuthorizationResponse, error) {
	r := &AuthorizationResponse{State: form.Get("state"), Error: form.Get("error"), ErrorDescription: form.Get("error_description")}
	if len(r.State) > 255 || len(r.Error) > 64 || len(r.ErrorDescription) > 1024 {
		return nil, errors.New("verifier: response parameter too long")
	}
	if r.Error != "" {
		if form.Get("vp_token") != "" {
			return nil, errors.New("verifier: a response is either vp_token or error")
		}
		return r, nil
	}
	tok := form.Get("vp_token")
	if tok == "" {
		return nil, errors.New("verifier: the response has no vp_token")
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(tok), &raw); err != nil {
		return nil, errors.New("verifier: vp_token is not a JSON object")
	}
	if len(raw) == 0 || len(raw) > maxVPTokenIDs {
		return nil, errors.New("verifier: vp_token has no or too many credentials")
	}
	r.VPToken = map[string][]string{}
	for id, v := range raw {
		var list []string
		if err := json.Unmarshal(v, &list); err != nil {
			return nil, fmt.Errorf("verifier: vp_token[%q] is not an array of presentations", id)
		}
		if len(list) == 0 || len(list) > maxVPTokenEach {
			return nil, fmt.Errorf("verifier: vp_token[%q] has no or too many presentations", id)
		}
		for _, p := range list {
			if p == "" || len(p) > MaxPresentation {
				return nil, fmt.Errorf("verifier: vp_token[%q]: bad presentation", id)
			}
		}
		r.VPToken[id] = list
	}
	return r, nil
}

// Form encodes a response for direct_post.
func (r *AuthorizationResponse) Form() (url.Values, error) {
	v := url.Values{}
	if r.State != "" {
		v.Set("state", r.State)
	}
	if r.Error != "" {
		v.Set("error", r.Error)
		if r.ErrorDescription != "" {
			v.Set("error_description", r.ErrorDescription)
		}
		return v, nil
	}
	b, err := json.Marshal(r.VPToken)
	if err != nil {
		return nil, err
	}
	v.Set("vp_token", string(b))
	return v, nil
}
