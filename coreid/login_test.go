package coreid

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jwt"
	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/internal/trust"
)

// testOP is a small, independent OpenID Provider on loopback: discovery,
// an authorization endpoint that logs the one test user in at once, a
// token endpoint that checks client secret, redirect URI and the PKCE S256
// verifier, and its JWKS. Written here with jwx only, so the relying
// party is tested against code it does not share.
type testOP struct {
	srv    *httptest.Server
	key    jwk.Key
	secret string
	// nonceOverride, when set, replaces the nonce the client asked for.
	nonceOverride string

	mu    sync.Mutex
	codes map[string]authCode
}

type authCode struct {
	challenge, nonce, redirect string
}

func newTestOP(t testing.TB) *testOP {
	op := &testOP{key: ecKey(t, "op-1"), secret: "s3cret", codes: map[string]authCode{}}
	mux := http.NewServeMux()
	op.srv = httptest.NewServer(mux)
	t.Cleanup(op.srv.Close)
	iss := op.srv.URL
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer": iss, "authorization_endpoint": iss + "/authorize", "token_endpoint": iss + "/token", "jwks_uri": iss + "/jwks",
			"response_types_supported": []string{"code"}, "subject_types_supported": []string{"public"},
			"id_token_signing_alg_values_supported": []string{"ES256"}, "code_challenge_methods_supported": []string{"S256"},
		})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(jwks(t, op.key))
	})
	mux.HandleFunc("GET /authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("client_id") != clientID || q.Get("response_type") != "code" || q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("nonce") == "" {
			http.Error(w, "bad authorization request", http.StatusBadRequest)
			return
		}
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		code := base64.RawURLEncoding.EncodeToString(b)
		op.mu.Lock()
		op.codes[code] = authCode{challenge: q.Get("code_challenge"), nonce: q.Get("nonce"), redirect: q.Get("redirect_uri")}
		op.mu.Unlock()
		http.Redirect(w, r, q.Get("redirect_uri")+"?"+url.Values{"code": {code}, "state": {q.Get("state")}}.Encode(), http.StatusFound)
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		id, secret, ok := r.BasicAuth()
		if !ok {
			id, secret = r.PostFormValue("client_id"), r.PostFormValue("client_secret")
		}
		op.mu.Lock()
		c, found := op.codes[r.PostFormValue("code")]
		delete(op.codes, r.PostFormValue("code"))
		op.mu.Unlock()
		sum := sha256.Sum256([]byte(r.PostFormValue("code_verifier")))
		if id != clientID || secret != op.secret || !found || r.PostFormValue("grant_type") != "authorization_code" ||
			r.PostFormValue("redirect_uri") != c.redirect || base64.RawURLEncoding.EncodeToString(sum[:]) != c.challenge {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":"invalid_grant"}`))
			return
		}
		nonce := c.nonce
		if op.nonceOverride != "" {
			nonce = op.nonceOverride
		}
		tok := jwt.New()
		now := time.Now()
		for k, v := range with(person, "iss", iss, "sub", "op-user-1", "aud", clientID, "iat", now.Unix(), "exp", now.Add(5*time.Minute).Unix(), "nonce", nonce) {
			_ = tok.Set(k, v)
		}
		signed, err := jwt.Sign(tok, jwt.WithKey(jwa.ES256, op.key))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "at", "token_type": "Bearer", "expires_in": 300, "id_token": string(signed)})
	})
	return op
}

func TestLoginCodePKCE(t *testing.T) {
	op := newTestOP(t)
	e := newEnv(t, func(fw *trust.Document, cfg *Config) {
		fw.Sources = append(fw.Sources, trust.Source{ID: op.srv.URL, Formats: []string{trust.FormatOIDC}, Grade: "substantial", JWKS: jwks(t, op.key), Claims: pidClaims})
		cfg.ClientIDs[op.srv.URL] = clientID
		cfg.Now = time.Now
	})
	ctx := context.Background()
	const redirect = "https://core.mustard.example/v1/enroll/oidc/callback"
	login, err := e.p.NewLogin(ctx, LoginConfig{Issuer: op.srv.URL, ClientID: clientID, ClientSecret: op.secret, RedirectURL: redirect})
	require.NoError(t, err)
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	// authorize plays the browser: follow the authorization URL to the
	// IdP and read the code from its redirect.
	authorize := func(authURL string) (code, state string) {
		u, err := url.Parse(authURL)
		require.NoError(t, err)
		require.Equal(t, "S256", u.Query().Get("code_challenge_method"))
		require.NotEmpty(t, u.Query().Get("nonce"))
		resp, err := noFollow.Get(authURL)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusFound, resp.StatusCode)
		back, err := url.Parse(resp.Header.Get("Location"))
		require.NoError(t, err)
		return back.Query().Get("code"), back.Query().Get("state")
	}

	authURL, state, err := login.Start(ctx)
	require.NoError(t, err)
	code, gotState := authorize(authURL)
	require.Equal(t, state, gotState)
	idTok, nonce, err := login.Finish(ctx, state, code)
	require.NoError(t, err)
	req := e.commitment(t)
	req.Nonce = nonce
	req.Sources = []SourceCredential{{Format: trust.FormatOIDC, Credential: idTok}}
	enr, err := e.p.Enroll(ctx, req)
	require.NoError(t, err)
	require.Equal(t, uint64(2), enr.Credential.Grade)

	// The callback is single-use.
	_, _, err = login.Finish(ctx, state, code)
	require.ErrorIs(t, err, ErrLoginState)
	_, _, err = login.Finish(ctx, "never-started", code)
	require.ErrorIs(t, err, ErrLoginState)

	// A code intercepted from one login is useless in another: the IdP
	// checks it against that login's PKCE challenge.
	urlA, _, err := login.Start(ctx)
	require.NoError(t, err)
	_, stateB, err := login.Start(ctx)
	require.NoError(t, err)
	codeA, _ := authorize(urlA)
	_, _, err = login.Finish(ctx, stateB, codeA)
	require.ErrorIs(t, err, ErrSource)

	// An IdP that answers with another nonce is refused at enrollment.
	op.nonceOverride = "not-the-providers"
	authURL, state, err = login.Start(ctx)
	require.NoError(t, err)
	code, _ = authorize(authURL)
	idTok, nonce, err = login.Finish(ctx, state, code)
	require.NoError(t, err)
	req = e.commitment(t)
	req.Nonce = nonce
	req.Sources = []SourceCredential{{Format: trust.FormatOIDC, Credential: idTok}}
	_, err = e.p.Enroll(ctx, req)
	require.ErrorIs(t, err, ErrNonce)

	// Only IdPs in the framework, with the configured client id.
	_, err = e.p.NewLogin(ctx, LoginConfig{Issuer: "https://stranger.example", ClientID: clientID})
	require.ErrorIs(t, err, ErrUnknownIssuer)
	_, err = e.p.NewLogin(ctx, LoginConfig{Issuer: op.srv.URL, ClientID: "other"})
	require.Error(t, err)
}
