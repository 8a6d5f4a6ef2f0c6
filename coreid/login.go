package coreid

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/mustard-id/mustard/internal/problem"
	"github.com/mustard-id/mustard/internal/trust"
)

// MaxPendingLogins bounds the logins started and not yet finished.
const MaxPendingLogins = 10_000

// ErrLoginState is a login callback whose state is unknown, expired or
// already used.
var ErrLoginState = problem.New("invalid-login-state", http.StatusBadRequest, "The login is unknown, expired or already finished")

// LoginConfig configures the provider as an OpenID Connect relying party
// of one federation identity provider.
type LoginConfig struct {
	Issuer       string // the IdP, listed in the framework for format "oidc"
	ClientID     string // must equal Config.ClientIDs[Issuer]
	ClientSecret string
	RedirectURL  string
	Scopes       []string // beyond "openid"
	// HTTPClient reaches the IdP (discovery, token endpoint); nil means
	// http.DefaultClient.
	HTTPClient *http.Client
}

// Login runs the authorization code flow with PKCE (S256) against a
// federation IdP: Start gives the URL to send the person to, Finish
// exchanges the code the IdP returns for an id_token, which the caller
// then enrolls with as a FormatOIDC source (Enroll checks it against the
// framework's JWKS for that IdP, not against anything fetched here).
type Login struct {
	p      *Provider
	oauth  oauth2.Config
	client *http.Client
	now    func() time.Time
}

// pendingLogin is a login between Start and Finish, in the provider's
// PendingStorage under its state (so the IdP may send the person back to
// any server).
type pendingLogin struct {
	Verifier string `json:"verifier"`
	Nonce    string `json:"nonce"`
	IdP      string `json:"idp"` // the IdP's authorization endpoint: Finish on its own Login only
}

// NewLogin discovers the IdP's endpoints and returns a relying party.
func (p *Provider) NewLogin(ctx context.Context, cfg LoginConfig) (*Login, error) {
	src, err := p.cfg.Framework.Source(cfg.Issuer)
	if err != nil || !src.Accepts(trust.FormatOIDC) {
		return nil, ErrUnknownIssuer
	}
	if cfg.ClientID == "" || cfg.ClientID != p.cfg.ClientIDs[cfg.Issuer] {
		return nil, errors.New("coreid: login client id is not the one configured for this IdP")
	}
	client := cfg.HTTPClient
	if client == nil {
		client = http.DefaultClient
	}
	idp, err := oidc.NewProvider(oidc.ClientContext(ctx, client), cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("coreid: discover %s: %w", cfg.Issuer, err)
	}
	return &Login{
		p: p, client: client, now: p.cfg.Now,
		oauth: oauth2.Config{
			ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, RedirectURL: cfg.RedirectURL,
			Endpoint: idp.Endpoint(), Scopes: append([]string{oidc.ScopeOpenID}, cfg.Scopes...),
		},
	}, nil
}

// Start begins a login: a fresh state, PKCE verifier and enrollment nonce
// (the provider's, single-use), and the IdP's authorization URL carrying
// the S256 challenge and the nonce.
func (l *Login) Start(ctx context.Context) (authURL, state string, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", "", err
	}
	state = base64.RawURLEncoding.EncodeToString(b)
	nonce, err := l.p.NewNonce(ctx, NonceEnroll)
	if err != nil {
		return "", "", err
	}
	verifier := oauth2.GenerateVerifier()
	now := l.now()
	data, err := json.Marshal(pendingLogin{Verifier: verifier, Nonce: nonce, IdP: l.oauth.Endpoint.AuthURL})
	if err != nil {
		return "", "", err
	}
	ok, err := l.p.pend.PutPending(ctx, pendingLoginState, state, data, now, now.Add(NonceTTL), MaxPendingLogins)
	if err != nil {
		return "", "", err
	}
	if !ok {
		return "", "", problem.New("too-many-logins", http.StatusServiceUnavailable, "Too many logins in progress")
	}
	return l.oauth.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce)), state, nil
}

// Finish takes the IdP's callback (state and code), once: it exchanges
// the code with the PKCE verifier and returns the id_token and the nonce
// to enroll with.
func (l *Login) Finish(ctx context.Context, state, code string) (idToken, nonce string, err error) {
	if state == "" || len(state) > 128 {
		return "", "", ErrLoginState
	}
	data, err := l.p.pend.TakePending(ctx, pendingLoginState, state, l.now())
	if err != nil {
		return "", "", err
	}
	var pl pendingLogin
	if data == nil || json.Unmarshal(data, &pl) != nil || pl.IdP != l.oauth.Endpoint.AuthURL || code == "" {
		return "", "", ErrLoginState
	}
	tok, err := l.oauth.Exchange(context.WithValue(ctx, oauth2.HTTPClient, l.client), code, oauth2.VerifierOption(pl.Verifier))
	if err != nil {
		return "", "", fmt.Errorf("%w: the IdP refused the code", ErrSource)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return "", "", fmt.Errorf("%w: no id_token", ErrSource)
	}
	return raw, pl.Nonce, nil
}
