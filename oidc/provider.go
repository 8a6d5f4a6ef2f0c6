package oidc

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v3"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/ory/fosite"
	"github.com/ory/fosite/compose"
	fjwt "github.com/ory/fosite/token/jwt"

	"github.com/mustard-id/mustard/internal/problem"
	"github.com/mustard-id/mustard/verifier"
)

type (
	jwtIDClaims = fjwt.IDTokenClaims
	jwtHeaders  = fjwt.Headers
)

// Config configures a Provider.
type Config struct {
	// Issuer is the OP's issuer identifier (its base URL, no trailing
	// slash). It is also the audience of the presentations it asks for.
	Issuer string
	// Keys sign ID tokens: the first is the current key (ES256, kid set);
	// the rest are retired keys, still published in the JWKS so that ID
	// tokens they signed keep verifying until they expire.
	Keys []jwk.Key
	// Secret keys the HMAC of authorization codes and tokens (>= 32 bytes).
	Secret []byte
	// Verifier checks the persona presentations of logins.
	Verifier *verifier.Verifier
	// Backend stores grants, logins and clients.
	Backend Backend
	// RegistrationTokens are the initial access tokens (RFC 7591 §3) that
	// may register clients, keyed by the hex SHA-256 of the token.
	RegistrationTokens map[string]RegistrationPolicy
	// Framework names the trust framework, shown on the consent page.
	Framework string
	// LoginTTL bounds how long a person has to present and consent
	// (default 10 minutes); CodeTTL an authorization code (1 minute);
	// AccessTokenTTL (1 h), IDTokenTTL (1 h) and RefreshTokenTTL (30 days)
	// the tokens.
	LoginTTL, CodeTTL, AccessTokenTTL, IDTokenTTL, RefreshTokenTTL time.Duration
	Now                                                            func() time.Time
	// OID4VP, when set, makes the sign-in page offer an OpenID4VP 1.0
	// request too, under this verifier identity (oid4vp.go).
	OID4VP *verifier.OID4VPClient
}

// Provider is Mustard's OpenID Provider.
type Provider struct {
	cfg     Config
	f       fosite.OAuth2Provider
	store   *storage
	signing *jose.JSONWebKey
	jwks    jwk.Set
}

// New builds the provider.
func New(cfg Config) (*Provider, error) {
	if cfg.Issuer == "" || len(cfg.Keys) == 0 || len(cfg.Secret) < 32 || cfg.Verifier == nil || cfg.Backend == nil {
		return nil, errors.New("oidc: issuer, signing key, a 32-byte secret, verifier and backend are required")
	}
	cfg.Issuer = strings.TrimRight(cfg.Issuer, "/")
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&cfg.LoginTTL, 10*time.Minute)
	def(&cfg.CodeTTL, time.Minute)
	def(&cfg.AccessTokenTTL, time.Hour)
	def(&cfg.IDTokenTTL, time.Hour)
	def(&cfg.RefreshTokenTTL, 30*24*time.Hour)

	var priv ecdsa.PrivateKey
	if err := cfg.Keys[0].Raw(&priv); err != nil {
		return nil, fmt.Errorf("oidc: the signing key must be an ES256 private key: %w", err)
	}
	signing := &jose.JSONWebKey{Key: &priv, KeyID: cfg.Keys[0].KeyID(), Algorithm: string(jose.ES256), Use: "sig"}
	set := jwk.NewSet()
	for _, k := range cfg.Keys {
		pub, err := k.PublicKey()
		if err != nil {
			return nil, fmt.Errorf("oidc: key %q: %w", k.KeyID(), err)
		}
		_ = pub.Set(jwk.AlgorithmKey, "ES256")
		_ = pub.Set(jwk.KeyUsageKey, "sig")
		_ = set.AddKey(pub)
	}

	st := &storage{b: cfg.Backend}
	st.ttl = func(kind string) time.Duration {
		switch kind {
		case kindAccess:
			return cfg.AccessTokenTTL
		case kindRefresh:
			return cfg.RefreshTokenTTL
		case kindCode, kindPKCE, kindOIDC:
			// Kept past their expiry so that a late reuse is still
			// recognized as reuse and revokes the grant.
			return cfg.CodeTTL + cfg.AccessTokenTTL
		}
		return cfg.LoginTTL
	}
	fc := &fosite.Config{
		IDTokenIssuer:                  cfg.Issuer,
		AccessTokenIssuer:              cfg.Issuer,
		TokenURL:                       cfg.Issuer + "/oauth2/token",
		GlobalSecret:                   cfg.Secret,
		AuthorizeCodeLifespan:          cfg.CodeTTL,
		AccessTokenLifespan:            cfg.AccessTokenTTL,
		IDTokenLifespan:                cfg.IDTokenTTL,
		RefreshTokenLifespan:           cfg.RefreshTokenTTL,
		EnforcePKCE:                    true,
		EnablePKCEPlainChallengeMethod: false,
		ScopeStrategy:                  fosite.ExactScopeStrategy,
		ClientSecretsHasher:            secretHasher{},
		RefreshTokenScopes:             []string{"offline_access"},
		SendDebugMessagesToClients:     false,
	}
	keyGetter := func(context.Context) (any, error) { return signing, nil }
	f := compose.Compose(fc, st, &compose.CommonStrategy{
		CoreStrategy:               compose.NewOAuth2HMACStrategy(fc),
		OpenIDConnectTokenStrategy: compose.NewOpenIDConnectStrategy(keyGetter, fc),
		Signer:                     &fjwt.DefaultSigner{GetPrivateKey: keyGetter},
	},
		compose.OAuth2AuthorizeExplicitFactory,
		compose.OAuth2RefreshTokenGrantFactory,
		compose.OpenIDConnectExplicitFactory,
		compose.OpenIDConnectRefreshFactory,
		compose.OAuth2TokenIntrospectionFactory,
		compose.OAuth2TokenRevocationFactory,
		compose.OAuth2PKCEFactory,
	)
	return &Provider{cfg: cfg, f: f, store: st, signing: signing, jwks: set}, nil
}

// Issuer is the OP's issuer identifier.
func (p *Provider) Issuer() string { return p.cfg.Issuer }

// Handler serves the OP's endpoints:
//
//	GET  /.well-known/openid-configuration   discovery
//	GET  /oauth2/jwks                        ID token keys (current and retired)
//	GET  /oauth2/auth                        authorization endpoint
//	GET  /oauth2/login/{id}                  sign in with a persona (HTML)
//	GET  /oauth2/login/{id}/request          the wallet's presentation request
//	GET  /oauth2/login/{id}/oid4vp           the same as an OpenID4VP Request Object
//	POST /oauth2/login/{id}/oid4vp-response  its direct_post Response Endpoint
//	POST /oauth2/login/{id}/presentation     the wallet's answer
//	GET  /oauth2/consent/{id}                consent to the trust manifest (HTML)
//	POST /oauth2/consent/{id}                allow or deny
//	POST /oauth2/token                       token endpoint
//	GET|POST /oauth2/userinfo                userinfo
//	POST /oauth2/revoke                      RFC 7009
//	POST /oauth2/introspect                  RFC 7662
//	GET  /oauth2/logout                      RP-initiated logout
//	POST /oauth2/register                    RFC 7591
func (p *Provider) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", p.serveDiscovery)
	mux.HandleFunc("GET /oauth2/jwks", p.serveJWKS)
	mux.HandleFunc("GET /oauth2/auth", p.serveAuthorize)
	mux.HandleFunc("GET /oauth2/login/{id}", p.serveLogin)
	mux.HandleFunc("GET /oauth2/login/{id}/request", p.serveRequest)
	mux.HandleFunc("POST /oauth2/login/{id}/presentation", p.servePresentation)
	mux.HandleFunc("GET /oauth2/login/{id}/oid4vp", p.serveOID4VPRequest)
	mux.HandleFunc("POST /oauth2/login/{id}/oid4vp-response", p.serveOID4VPResponse)
	mux.HandleFunc("GET /oauth2/consent/{id}", p.serveConsent)
	mux.HandleFunc("POST /oauth2/consent/{id}", p.serveDecision)
	mux.HandleFunc("POST /oauth2/token", p.serveToken)
	mux.HandleFunc("GET /oauth2/userinfo", p.serveUserinfo)
	mux.HandleFunc("POST /oauth2/userinfo", p.serveUserinfo)
	mux.HandleFunc("POST /oauth2/revoke", p.serveRevoke)
	mux.HandleFunc("POST /oauth2/introspect", p.serveIntrospect)
	mux.HandleFunc("GET /oauth2/logout", p.serveLogout)
	mux.HandleFunc("POST /oauth2/register", p.serveRegister)
	return bounded(mux)
}

// Routes lists the handler's patterns, for the composition root.
var Routes = []string{
	"GET /.well-known/openid-configuration", "GET /oauth2/jwks", "GET /oauth2/auth",
	"GET /oauth2/login/{id}", "GET /oauth2/login/{id}/request", "POST /oauth2/login/{id}/presentation",
	"GET /oauth2/consent/{id}", "POST /oauth2/consent/{id}", "POST /oauth2/token",
	"GET /oauth2/userinfo", "POST /oauth2/userinfo", "POST /oauth2/revoke", "POST /oauth2/introspect",
	"GET /oauth2/logout", "POST /oauth2/register",
	"GET /oauth2/login/{id}/oid4vp", "POST /oauth2/login/{id}/oid4vp-response",
}

// bounded caps every request body and query the OP reads.
func bounded(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.URL.RawQuery) > 8<<10 {
			http.Error(w, "request URI too long", http.StatusRequestURITooLong)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		w.Header().Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

func (p *Provider) serveDiscovery(w http.ResponseWriter, r *http.Request) {
	iss := p.cfg.Issuer
	w.Header().Set("Cache-Control", "public, max-age=300")
	problem.JSON(w, http.StatusOK, map[string]any{
		"issuer":                                iss,
		"authorization_endpoint":                iss + "/oauth2/auth",
		"token_endpoint":                        iss + "/oauth2/token",
		"userinfo_endpoint":                     iss + "/oauth2/userinfo",
		"jwks_uri":                              iss + "/oauth2/jwks",
		"registration_endpoint":                 iss + "/oauth2/register",
		"revocation_endpoint":                   iss + "/oauth2/revoke",
		"introspection_endpoint":                iss + "/oauth2/introspect",
		"end_session_endpoint":                  iss + "/oauth2/logout",
		"response_types_supported":              []string{"code"},
		"response_modes_supported":              []string{"query"},
		"grant_types_supported":                 []string{"authorization_code", "refresh_token"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"ES256"},
		"scopes_supported":                      append([]string{"openid", "offline_access"}, SupportedClaims()...),
		"claims_supported":                      append([]string{"sub", "iss", "aud", "exp", "iat", "auth_time", "acr", "nonce"}, SupportedClaims()...),
		"claims_parameter_supported":            true,
		"acr_values_supported":                  []string{acrValues["low"], acrValues["substantial"], acrValues["high"]},
		"code_challenge_methods_supported":      []string{"S256"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post", "none"},
		"prompt_values_supported":               []string{"none", "login", "consent"},
		"request_parameter_supported":           false,
		"request_uri_parameter_supported":       false,
	})
}

func (p *Provider) serveJWKS(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Header().Set("Content-Type", "application/jwk-set+json")
	_ = json.NewEncoder(w).Encode(p.jwks)
}

func (p *Provider) serveToken(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	ar, err := p.f.NewAccessRequest(ctx, r, NewSession())
	if err != nil {
		p.logOAuthError(r, "token", err)
		p.f.WriteAccessError(ctx, w, ar, err)
		return
	}
	resp, err := p.f.NewAccessResponse(ctx, ar)
	if err != nil {
		p.logOAuthError(r, "token", err)
		p.f.WriteAccessError(ctx, w, ar, err)
		return
	}
	p.f.WriteAccessResponse(ctx, w, ar, resp)
}

func (p *Provider) serveRevoke(w http.ResponseWriter, r *http.Request) {
	err := p.f.NewRevocationRequest(r.Context(), r)
	p.f.WriteRevocationResponse(r.Context(), w, err)
}

func (p *Provider) serveIntrospect(w http.ResponseWriter, r *http.Request) {
	ir, err := p.f.NewIntrospectionRequest(r.Context(), r, NewSession())
	if err != nil {
		p.f.WriteIntrospectionError(r.Context(), w, err)
		return
	}
	// fosite authenticated the caller; a client learns only about its own
	// tokens, or it could read another sector's pairwise sub.
	if caller := callerID(r); ir.IsActive() && ir.GetAccessRequester().GetClient().GetID() != caller {
		problem.JSON(w, http.StatusOK, map[string]bool{"active": false})
		return
	}
	p.f.WriteIntrospectionResponse(r.Context(), w, ir)
}

// callerID is the client_id a request authenticated with (HTTP Basic,
// form-encoded per RFC 6749 §2.3.1, or client_secret_post).
func callerID(r *http.Request) string {
	if id, _, ok := r.BasicAuth(); ok {
		if u, err := url.QueryUnescape(id); err == nil {
			return u
		}
		return id
	}
	return r.PostForm.Get("client_id")
}

// serveUserinfo answers with the claims of the access token's grant: the
// same pairwise sub and proven claims as the ID token, nothing more.
func (p *Provider) serveUserinfo(w http.ResponseWriter, r *http.Request) {
	sess := NewSession()
	_, ar, err := p.f.IntrospectToken(r.Context(), fosite.AccessTokenFromRequest(r), fosite.AccessToken, sess)
	if err != nil {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		problem.JSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token", "error_description": "The access token is missing, expired or revoked"})
		return
	}
	c := ar.GetSession().(*openidSession).Claims
	out := map[string]any{"sub": c.Subject}
	if c.AuthenticationContextClassReference != "" {
		out["acr"] = c.AuthenticationContextClassReference
	}
	for k, v := range c.Extra {
		out[k] = v
	}
	problem.JSON(w, http.StatusOK, out)
}

// serveRegister is RFC 7591 dynamic registration behind an initial access
// token.
func (p *Provider) serveRegister(w http.ResponseWriter, r *http.Request) {
	policy, ok := p.registrationPolicy(r)
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		problem.JSON(w, http.StatusUnauthorized, &errRegistration{"invalid_token", "A valid initial access token is required to register a client"})
		return
	}
	var reg Registration
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&reg); err != nil {
		problem.JSON(w, http.StatusBadRequest, badMetadata("the body is not a registration request: %v", err))
		return
	}
	c, out, err := p.Register(r.Context(), &reg, policy)
	if err != nil {
		var re *errRegistration
		if errors.As(err, &re) {
			problem.JSON(w, http.StatusBadRequest, re)
			return
		}
		problem.Write(w, r, err)
		return
	}
	slog.InfoContext(r.Context(), "oidc client registered", "client_id", c.ID, "sector", c.Sector)
	problem.JSON(w, http.StatusCreated, out)
}

// Register registers a client under policy (the operator's path, and the
// registration endpoint's).
func (p *Provider) Register(ctx context.Context, reg *Registration, policy RegistrationPolicy) (*Client, *Registration, error) {
	c, out, err := newClient(ctx, reg, policy, p.cfg.Now())
	if err != nil {
		return nil, nil, err
	}
	b, err := json.Marshal(c)
	if err != nil {
		return nil, nil, err
	}
	if err := p.cfg.Backend.PutClient(ctx, c.ID, b, p.cfg.Now()); err != nil {
		return nil, nil, err
	}
	return c, out, nil
}

func (p *Provider) registrationPolicy(r *http.Request) (RegistrationPolicy, bool) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || tok == "" {
		return RegistrationPolicy{}, false
	}
	h := sha256.Sum256([]byte(tok))
	got := hex.EncodeToString(h[:])
	// Compare against every configured token in constant time.
	var found RegistrationPolicy
	ok = false
	for k, pol := range p.cfg.RegistrationTokens {
		if subtle.ConstantTimeCompare([]byte(k), []byte(got)) == 1 {
			found, ok = pol, true
		}
	}
	return found, ok
}

// TokenHash is the key under which Config.RegistrationTokens holds an
// initial access token.
func TokenHash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// logOAuthError logs an OAuth error's code only: descriptions can echo
// request parameters.
func (p *Provider) logOAuthError(r *http.Request, where string, err error) {
	var re *fosite.RFC6749Error
	code := "server_error"
	if errors.As(err, &re) {
		code = re.ErrorField
	}
	level := slog.LevelInfo
	if code == "server_error" {
		level = slog.LevelError
	}
	slog.Log(r.Context(), level, "oidc error", "endpoint", where, "error", code)
}

// client loads a registered client.
func (p *Provider) client(ctx context.Context, id string) (*Client, error) {
	c, err := p.store.GetClient(ctx, id)
	if err != nil {
		return nil, errUnknownClient
	}
	return c.(*Client), nil
}

// requestedClaims collects the claims a request asks for: through scopes,
// and through the claims parameter (OIDC Core §5.5) for the ID token or
// userinfo. Names Mustard cannot release are refused only when essential.
func requestedClaims(scopes []string, claimsParam string) ([]string, error) {
	var out []string
	for _, s := range scopes {
		if _, ok := claimDefs[s]; ok && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	if claimsParam == "" {
		return out, nil
	}
	var req map[string]map[string]*struct {
		Essential bool `json:"essential"`
	}
	if len(claimsParam) > 4<<10 || json.Unmarshal([]byte(claimsParam), &req) != nil {
		return nil, fosite.ErrInvalidRequest.WithHint("The claims parameter is not a valid claims request.")
	}
	for _, member := range []string{"id_token", "userinfo"} {
		for name, spec := range req[member] {
			if _, ok := claimDefs[name]; !ok {
				if spec != nil && spec.Essential && !isStandardClaim(name) {
					return nil, fosite.ErrInvalidRequest.WithHintf("The essential claim %q is not one a persona can prove.", name)
				}
				continue
			}
			if !slices.Contains(out, name) {
				out = append(out, name)
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

// isStandardClaim reports claims that are always in an ID token.
func isStandardClaim(name string) bool {
	switch name {
	case "sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr":
		return true
	}
	return false
}

// gradeOf maps acr_values to a minimum grade (the lowest one requested).
func gradeOf(acrValuesParam string) (string, error) {
	if acrValuesParam == "" {
		return "", nil
	}
	for _, g := range []string{"low", "substantial", "high"} {
		for _, v := range strings.Fields(acrValuesParam) {
			if v == acrValues[g] || v == g {
				return g, nil
			}
		}
	}
	return "", fosite.ErrInvalidRequest.WithHint("acr_values names no eIDAS level of assurance this OP knows.")
}
