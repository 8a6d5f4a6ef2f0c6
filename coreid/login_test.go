package coreid

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/internal/fedidp"
	"github.com/mustard-id/mustard/internal/trust"
)

// testOP is an independent OpenID Provider on loopback (internal/fedidp,
// written with jwx only), so the relying party is tested against code it
// does not share.
type testOP struct {
	*fedidp.IdP
	srv *httptest.Server
}

func newTestOP(t testing.TB) *testOP {
	idp, err := fedidp.New(clientID, "s3cret", "op-user-1", person)
	require.NoError(t, err)
	srv := httptest.NewServer(idp.Handler())
	t.Cleanup(srv.Close)
	idp.Issuer = srv.URL
	return &testOP{IdP: idp, srv: srv}
}

func TestLoginCodePKCE(t *testing.T) {
	op := newTestOP(t)
	e := newEnv(t, func(fw *trust.Document, cfg *Config) {
		fw.Sources = append(fw.Sources, trust.Source{ID: op.srv.URL, Formats: []string{trust.FormatOIDC}, Grade: "substantial", JWKS: op.JWKS(), Claims: pidClaims})
		cfg.ClientIDs[op.srv.URL] = clientID
		cfg.Now = time.Now
	})
	ctx := context.Background()
	const redirect = "https://core.mustard.example/v1/enroll/oidc/callback"
	login, err := e.p.NewLogin(ctx, LoginConfig{Issuer: op.srv.URL, ClientID: clientID, ClientSecret: op.ClientSecret, RedirectURL: redirect})
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
	op.NonceOverride = "not-the-providers"
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
