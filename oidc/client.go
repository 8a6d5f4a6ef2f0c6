package oidc

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/ory/fosite"
)

// Manifest is a client's trust manifest: what it will collect, why, for
// how long, under which framework. The consent page shows it and the
// person opts in to it; the OP refuses requests beyond it.
type Manifest struct {
	Purpose   string   `json:"purpose"`           // why, in one or two sentences
	Claims    []string `json:"claims"`            // what it will collect, e.g. age_over_18
	Retention string   `json:"retention"`         // how long it keeps them, in words ("30 days")
	Framework string   `json:"framework"`         // the trust framework it operates under
	Contact   string   `json:"contact,omitempty"` // where a person can ask
}

// Hash is the manifest's digest, recorded with each consent.
func (m *Manifest) Hash() string {
	b, _ := json.Marshal(m)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// Client is a registered relying party.
type Client struct {
	fosite.DefaultOpenIDConnectClient
	Name                   string   `json:"client_name"`
	Sector                 string   `json:"sector"` // sector identifier: the persona scope of its users
	PostLogoutRedirectURIs []string `json:"post_logout_redirect_uris,omitempty"`
	Manifest               Manifest `json:"trust_manifest"`
}

// GetRedirectURIs and the rest are promoted from the embedded client.

// claimDef says what a persona must do for an OIDC claim: prove a
// predicate or disclose an attribute, and under which name the persona
// credential carries it.
type claimDef struct {
	Predicate string // persona predicate, e.g. age>=18
	Disclose  string // persona attribute to disclose
	From      string // claim name in the persona credential
}

// Claims lists the claims the OP can release, each backed by what the
// persona proves in zero knowledge or discloses.
var claimDefs = map[string]claimDef{
	"age_over_13":       {Predicate: "age>=13", From: "age_over_13"},
	"age_over_16":       {Predicate: "age>=16", From: "age_over_16"},
	"age_over_18":       {Predicate: "age>=18", From: "age_over_18"},
	"age_over_21":       {Predicate: "age>=21", From: "age_over_21"},
	"age_over_65":       {Predicate: "age>=65", From: "age_over_65"},
	"nationality":       {Disclose: "nationality", From: "nationality"},
	"residence_country": {Disclose: "residence_country", From: "residence_country"},
	"birthdate":         {Disclose: "birth_date", From: "birth_date"},
	"postal_code":       {Disclose: "postal_code", From: "postal_code"},
}

// SupportedClaims lists the claim names in a stable order.
func SupportedClaims() []string {
	out := make([]string, 0, len(claimDefs))
	for k := range claimDefs {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Registration is an RFC 7591 client registration request (and, with the
// issued fields set, its response).
type Registration struct {
	RedirectURIs            []string  `json:"redirect_uris"`
	ClientName              string    `json:"client_name,omitempty"`
	TokenEndpointAuthMethod string    `json:"token_endpoint_auth_method,omitempty"`
	GrantTypes              []string  `json:"grant_types,omitempty"`
	ResponseTypes           []string  `json:"response_types,omitempty"`
	Scope                   string    `json:"scope,omitempty"`
	PostLogoutRedirectURIs  []string  `json:"post_logout_redirect_uris,omitempty"`
	SectorIdentifier        string    `json:"sector_identifier,omitempty"` // Mustard: the sector host; default the redirect URIs' host
	SubjectType             string    `json:"subject_type,omitempty"`      // only "pairwise"
	Manifest                *Manifest `json:"trust_manifest"`

	ClientID              string `json:"client_id,omitempty"`
	ClientSecret          string `json:"client_secret,omitempty"`
	ClientIDIssuedAt      int64  `json:"client_id_issued_at,omitempty"`
	ClientSecretExpiresAt *int64 `json:"client_secret_expires_at,omitempty"`
}

// RegistrationPolicy is what an initial access token allows a client to
// ask for.
type RegistrationPolicy struct {
	AllowedClaims []string // the claims its manifest may name; nil allows all supported claims
}

// errRegistration is an RFC 7591 §3.2.2 error.
type errRegistration struct {
	Code        string `json:"error"`
	Description string `json:"error_description"`
}

func (e *errRegistration) Error() string { return e.Code + ": " + e.Description }

func badMetadata(format string, args ...any) error {
	return &errRegistration{"invalid_client_metadata", fmt.Sprintf(format, args...)}
}

func badRedirect(format string, args ...any) error {
	return &errRegistration{"invalid_redirect_uri", fmt.Sprintf(format, args...)}
}

// checkRedirect accepts an absolute https URL without a fragment, or an
// http URL on a loopback address (development and native apps).
func checkRedirect(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Fragment != "" || u.User != nil || len(s) > 512 {
		return nil, badRedirect("%q is not an absolute URL without a fragment", s)
	}
	if u.Scheme == "https" {
		return u, nil
	}
	if u.Scheme == "http" {
		h := u.Hostname()
		if ip := net.ParseIP(h); (ip != nil && ip.IsLoopback()) || h == "localhost" {
			return u, nil
		}
	}
	return nil, badRedirect("%q must be https (http only on a loopback address)", s)
}

// newClient validates a registration under policy and builds the client;
// the returned registration holds the issued client_id and secret.
func newClient(ctx context.Context, reg *Registration, policy RegistrationPolicy, now time.Time) (*Client, *Registration, error) {
	if len(reg.RedirectURIs) == 0 || len(reg.RedirectURIs) > 16 {
		return nil, nil, badRedirect("between 1 and 16 redirect_uris are required")
	}
	hosts := map[string]bool{}
	for _, r := range reg.RedirectURIs {
		u, err := checkRedirect(r)
		if err != nil {
			return nil, nil, err
		}
		hosts[u.Hostname()] = true
	}
	for _, r := range reg.PostLogoutRedirectURIs {
		if _, err := checkRedirect(r); err != nil {
			return nil, nil, badMetadata("post_logout_redirect_uris: %v", err)
		}
	}
	if len(reg.PostLogoutRedirectURIs) > 16 || len(reg.ClientName) > 128 {
		return nil, nil, badMetadata("too many post_logout_redirect_uris or client_name too long")
	}
	if reg.SubjectType != "" && reg.SubjectType != "pairwise" {
		return nil, nil, badMetadata("subject_type must be pairwise: Mustard never gives two sectors the same subject")
	}
	sector := reg.SectorIdentifier
	if sector == "" {
		if len(hosts) != 1 {
			return nil, nil, badMetadata("redirect_uris span several hosts: name a sector_identifier")
		}
		for h := range hosts {
			sector = h
		}
	}
	if len(sector) > 255 || strings.ContainsAny(sector, "/?# ") {
		return nil, nil, badMetadata("sector_identifier must be a host name")
	}
	method := reg.TokenEndpointAuthMethod
	if method == "" {
		method = "client_secret_basic"
	}
	if method != "none" && method != "client_secret_basic" && method != "client_secret_post" {
		return nil, nil, badMetadata("token_endpoint_auth_method must be none, client_secret_basic or client_secret_post")
	}
	grants := reg.GrantTypes
	if len(grants) == 0 {
		grants = []string{"authorization_code"}
	}
	for _, g := range grants {
		if g != "authorization_code" && g != "refresh_token" {
			return nil, nil, badMetadata("grant_types may hold authorization_code and refresh_token only")
		}
	}
	if !slices.Contains(grants, "authorization_code") {
		return nil, nil, badMetadata("grant_types must include authorization_code")
	}
	for _, t := range reg.ResponseTypes {
		if t != "code" {
			return nil, nil, badMetadata("response_types may hold code only")
		}
	}
	m := reg.Manifest
	if m == nil || m.Purpose == "" || m.Retention == "" || m.Framework == "" {
		return nil, nil, badMetadata("a trust_manifest with purpose, claims, retention and framework is required")
	}
	if len(m.Purpose) > 1024 || len(m.Retention) > 128 || len(m.Framework) > 255 || len(m.Contact) > 255 || len(m.Claims) > len(claimDefs) {
		return nil, nil, badMetadata("trust_manifest too large")
	}
	for _, c := range m.Claims {
		if _, ok := claimDefs[c]; !ok {
			return nil, nil, badMetadata("trust_manifest names claim %q, which Mustard cannot release (supported: %s)", c, strings.Join(SupportedClaims(), ", "))
		}
		if policy.AllowedClaims != nil && !slices.Contains(policy.AllowedClaims, c) {
			return nil, nil, badMetadata("trust_manifest asks for %q, which this registration does not allow", c)
		}
	}
	scopes := []string{"openid"}
	if slices.Contains(grants, "refresh_token") {
		scopes = append(scopes, "offline_access")
	}
	scopes = append(scopes, m.Claims...)
	id := "mc_" + randomString(16)
	c := &Client{
		DefaultOpenIDConnectClient: fosite.DefaultOpenIDConnectClient{
			DefaultClient: &fosite.DefaultClient{
				ID: id, RedirectURIs: reg.RedirectURIs, GrantTypes: grants, ResponseTypes: []string{"code"},
				Scopes: scopes, Public: method == "none",
			},
			TokenEndpointAuthMethod: method,
		},
		Name: reg.ClientName, Sector: sector, PostLogoutRedirectURIs: reg.PostLogoutRedirectURIs, Manifest: *m,
	}
	out := *reg
	out.ClientID, out.ClientIDIssuedAt = id, now.Unix()
	out.TokenEndpointAuthMethod, out.GrantTypes, out.ResponseTypes = method, grants, []string{"code"}
	out.SectorIdentifier, out.SubjectType, out.Scope = sector, "pairwise", strings.Join(scopes, " ")
	if method != "none" {
		secret := randomString(32)
		h, _ := secretHasher{}.Hash(ctx, []byte(secret))
		c.Secret = h
		var never int64
		out.ClientSecret, out.ClientSecretExpiresAt = secret, &never
	}
	return c, &out, nil
}

func randomString(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

var errUnknownClient = errors.New("oidc: unknown client")
