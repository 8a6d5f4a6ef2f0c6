package coreid

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"sync"
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

	mu      sync.Mutex
	pending map[string]pendingLogin
}

type pendingLogin struct {
	verifier, nonce string
	expires         time.Time
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
		p: p, client: client, now: p.cfg.Now, pending: map[string]pendingLogin{},
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
	l.mu.Lock()
	for s, pl := range l.pending {
		if now.After(pl.expires) {
			delete(l.pending, s)
		}
	}
	if len(l.pending) >= MaxPendingLogins {
		l.mu.Unlock()
		return "", "", problem.New("too-many-logins", http.StatusServiceUnavailable, "Too many logins in progress")
	}
	l.pending[state] = pendingLogin{verifier: verifier, nonce: nonce, expires: now.Add(NonceTTL)}
	l.mu.Unlock()
	return l.oauth.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce)), state, nil
}

// Finish takes the IdP's callback (state and code), once: it exchanges
// the code with the PKCE verifier and returns the id_token and the nonce
// to enroll with.
func (l *Login) Finish(ctx context.Context, state, code string) (idToken, nonce string, err error) {
	l.mu.Lock()
	pl, ok := l.pending[state]
	delete(l.pending, state)
	l.mu.Unlock()
	if !ok || l.now().After(pl.expires) || code == "" {
		return "", "", ErrLoginState
	}
	tok, err := l.oauth.Exchange(context.WithValue(ctx, oauth2.HTTPClient, l.client), code, oauth2.VerifierOption(pl.verifier))
	if err != nil {
		return "", "", fmt.Errorf("%w: the IdP refused the code", ErrSource)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return "", "", fmt.Errorf("%w: no id_token", ErrSource)
	}
	return raw, pl.nonce, nil
}
