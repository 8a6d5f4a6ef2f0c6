package oidc

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/openid"

	"github.com/mustard-id/mustard/internal/store/sqlite"
)

// Backend is what the OpenID Provider needs from a database: session
// records keyed by (kind, key) and grouped by grant, and clients. The
// SQLite store implements it.
type Backend interface {
	PutOAuth(ctx context.Context, kind, key, requestID string, data []byte, expires time.Time) error
	OAuth(ctx context.Context, kind, key string) (data []byte, active bool, err error)
	UpdateOAuth(ctx context.Context, kind, key string, old, data []byte) error
	DeactivateOAuth(ctx context.Context, kind, key string) error
	DeactivateOAuthRequest(ctx context.Context, kind, requestID string) error
	DeleteOAuth(ctx context.Context, kind, key string) error
	DeleteOAuthRequest(ctx context.Context, kind, requestID string) error
	PutClient(ctx context.Context, id string, data []byte, now time.Time) error
	Client(ctx context.Context, id string) ([]byte, error)
	RecordConsent(ctx context.Context, clientID, subject, manifest, claims string, now time.Time) error
}

// Record kinds.
const (
	kindCode    = "code"
	kindAccess  = "access"
	kindRefresh = "refresh"
	kindPKCE    = "pkce"
	kindOIDC    = "oidc"
	kindLogin   = "login"
	kindJTI     = "jti"
)

// storage implements fosite's storage interfaces over a Backend. Tokens
// are stored under their HMAC signatures, never in clear.
type storage struct {
	b       Backend
	ttl     func(kind string) time.Duration
	clients sync.Map // id -> cachedClient
}

// cachedClient keeps a decoded client for a few seconds: a token request
// looks its client up several times, and registrations change rarely.
type cachedClient struct {
	c    *Client
	when time.Time
}

const clientCacheTTL = 10 * time.Second

// storedRequest is a fosite.Requester at rest. The client is stored by id
// and looked up again on load, so a client's changed registration applies
// to its grants at once.
type storedRequest struct {
	ID                string          `json:"id"`
	RequestedAt       time.Time       `json:"requested_at"`
	ClientID          string          `json:"client_id"`
	RequestedScope    []string        `json:"requested_scope"`
	GrantedScope      []string        `json:"granted_scope"`
	Form              url.Values      `json:"form"`
	RequestedAudience []string        `json:"requested_audience"`
	GrantedAudience   []string        `json:"granted_audience"`
	Session           json.RawMessage `json:"session"`
}

// formKept are the request parameters a later step needs (the token
// endpoint checks redirect_uri; PKCE needs the challenge; OIDC the nonce).
var formKept = []string{"redirect_uri", "code_challenge", "code_challenge_method", "nonce", "scope", "response_type", "claims", "max_age", "acr_values"}

func (s *storage) put(ctx context.Context, kind, key string, r fosite.Requester) error {
	sess, err := json.Marshal(r.GetSession())
	if err != nil {
		return fmt.Errorf("oidc: encode session: %w", err)
	}
	form := url.Values{}
	for _, k := range formKept {
		if v, ok := r.GetRequestForm()[k]; ok {
			form[k] = v
		}
	}
	b, err := json.Marshal(storedRequest{
		ID: r.GetID(), RequestedAt: r.GetRequestedAt(), ClientID: r.GetClient().GetID(),
		RequestedScope: r.GetRequestedScopes(), GrantedScope: r.GetGrantedScopes(), Form: form,
		RequestedAudience: r.GetRequestedAudience(), GrantedAudience: r.GetGrantedAudience(), Session: sess,
	})
	if err != nil {
		return fmt.Errorf("oidc: encode request: %w", err)
	}
	return s.b.PutOAuth(ctx, kind, key, r.GetID(), b, time.Now().Add(s.ttl(kind)))
}

// get loads a record; inactive ones come back with active false.
func (s *storage) get(ctx context.Context, kind, key string, session fosite.Session) (*fosite.Request, bool, error) {
	b, active, err := s.b.OAuth(ctx, kind, key)
	if errors.Is(err, sqlite.ErrNotFound) {
		return nil, false, fosite.ErrNotFound
	}
	if err != nil {
		return nil, false, err
	}
	var sr storedRequest
	if err := json.Unmarshal(b, &sr); err != nil {
		return nil, false, fmt.Errorf("oidc: decode request: %w", err)
	}
	if session == nil {
		session = NewSession()
	}
	if err := json.Unmarshal(sr.Session, session); err != nil {
		return nil, false, fmt.Errorf("oidc: decode session: %w", err)
	}
	c, err := s.GetClient(ctx, sr.ClientID)
	if err != nil {
		return nil, false, err
	}
	r := &fosite.Request{
		ID: sr.ID, RequestedAt: sr.RequestedAt, Client: c,
		RequestedScope: sr.RequestedScope, GrantedScope: sr.GrantedScope, Form: sr.Form,
		RequestedAudience: sr.RequestedAudience, GrantedAudience: sr.GrantedAudience, Session: session,
	}
	if r.Form == nil {
		r.Form = url.Values{}
	}
	return r, active, nil
}

// NewSession is the session every grant carries: the ID token's claims.
func NewSession() *openid.DefaultSession {
	return &openid.DefaultSession{Claims: new(jwtIDClaims), Headers: new(jwtHeaders)}
}

// GetClient implements fosite.ClientManager.
func (s *storage) GetClient(ctx context.Context, id string) (fosite.Client, error) {
	if id == "" || len(id) > 128 {
		return nil, fosite.ErrNotFound
	}
	if v, ok := s.clients.Load(id); ok && time.Since(v.(cachedClient).when) < clientCacheTTL {
		return v.(cachedClient).c, nil
	}
	b, err := s.b.Client(ctx, id)
	if errors.Is(err, sqlite.ErrNotFound) {
		return nil, fosite.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	var c Client
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("oidc: decode client: %w", err)
	}
	s.clients.Store(id, cachedClient{&c, time.Now()})
	return &c, nil
}

// ClientAssertionJWTValid implements fosite.ClientManager.
func (s *storage) ClientAssertionJWTValid(ctx context.Context, jti string) error {
	_, _, err := s.b.OAuth(ctx, kindJTI, jti)
	if errors.Is(err, sqlite.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return fosite.ErrJTIKnown
}

// SetClientAssertionJWT implements fosite.ClientManager.
func (s *storage) SetClientAssertionJWT(ctx context.Context, jti string, exp time.Time) error {
	err := s.b.PutOAuth(ctx, kindJTI, jti, jti, []byte{1}, exp)
	if errors.Is(err, sqlite.ErrDuplicate) {
		return fosite.ErrJTIKnown
	}
	return err
}

func (s *storage) CreateAuthorizeCodeSession(ctx context.Context, code string, r fosite.Requester) error {
	return s.put(ctx, kindCode, code, r)
}

// GetAuthorizeCodeSession returns the request with
// fosite.ErrInvalidatedAuthorizeCode for a redeemed code, so that fosite
// revokes every token the first redemption issued (RFC 6749 §4.1.2).
func (s *storage) GetAuthorizeCodeSession(ctx context.Context, code string, session fosite.Session) (fosite.Requester, error) {
	r, active, err := s.get(ctx, kindCode, code, session)
	if err != nil {
		return nil, err
	}
	if !active {
		return r, fosite.ErrInvalidatedAuthorizeCode
	}
	return r, nil
}

func (s *storage) InvalidateAuthorizeCodeSession(ctx context.Context, code string) error {
	err := s.b.DeactivateOAuth(ctx, kindCode, code)
	switch {
	case errors.Is(err, sqlite.ErrNotFound):
		return fosite.ErrNotFound
	case errors.Is(err, sqlite.ErrUsed):
		// Two concurrent redemptions: the second loses.
		return fosite.ErrInvalidatedAuthorizeCode
	}
	return err
}

func (s *storage) CreatePKCERequestSession(ctx context.Context, sig string, r fosite.Requester) error {
	return s.put(ctx, kindPKCE, sig, r)
}

func (s *storage) GetPKCERequestSession(ctx context.Context, sig string, session fosite.Session) (fosite.Requester, error) {
	r, _, err := s.get(ctx, kindPKCE, sig, session)
	if err != nil {
		return nil, err
	}
	return r, nil
}

func (s *storage) DeletePKCERequestSession(ctx context.Context, sig string) error {
	return s.b.DeleteOAuth(ctx, kindPKCE, sig)
}

func (s *storage) CreateOpenIDConnectSession(ctx context.Context, code string, r fosite.Requester) error {
	return s.put(ctx, kindOIDC, code, r)
}

func (s *storage) GetOpenIDConnectSession(ctx context.Context, code string, r fosite.Requester) (fosite.Requester, error) {
	got, _, err := s.get(ctx, kindOIDC, code, r.GetSession())
	if errors.Is(err, fosite.ErrNotFound) {
		return nil, openid.ErrNoSessionFound
	}
	if err != nil {
		return nil, err
	}
	return got, nil
}

func (s *storage) DeleteOpenIDConnectSession(ctx context.Context, code string) error {
	return s.b.DeleteOAuth(ctx, kindOIDC, code)
}

func (s *storage) CreateAccessTokenSession(ctx context.Context, sig string, r fosite.Requester) error {
	return s.put(ctx, kindAccess, sig, r)
}

func (s *storage) GetAccessTokenSession(ctx context.Context, sig string, session fosite.Session) (fosite.Requester, error) {
	r, _, err := s.get(ctx, kindAccess, sig, session)
	if err != nil {
		return nil, err
	}
	return r, nil
}

func (s *storage) DeleteAccessTokenSession(ctx context.Context, sig string) error {
	return s.b.DeleteOAuth(ctx, kindAccess, sig)
}

func (s *storage) CreateRefreshTokenSession(ctx context.Context, sig, _ string, r fosite.Requester) error {
	return s.put(ctx, kindRefresh, sig, r)
}

// GetRefreshTokenSession returns fosite.ErrInactiveToken (with the
// request) for a rotated refresh token, so that its reuse revokes the grant.
func (s *storage) GetRefreshTokenSession(ctx context.Context, sig string, session fosite.Session) (fosite.Requester, error) {
	r, active, err := s.get(ctx, kindRefresh, sig, session)
	if err != nil {
		return nil, err
	}
	if !active {
		return r, fosite.ErrInactiveToken
	}
	return r, nil
}

func (s *storage) DeleteRefreshTokenSession(ctx context.Context, sig string) error {
	return s.b.DeleteOAuth(ctx, kindRefresh, sig)
}

// RotateRefreshToken retires every refresh and access token of the grant
// before fosite issues the new pair.
func (s *storage) RotateRefreshToken(ctx context.Context, requestID, _ string) error {
	if err := s.RevokeRefreshToken(ctx, requestID); err != nil {
		return err
	}
	return s.RevokeAccessToken(ctx, requestID)
}

func (s *storage) RevokeRefreshToken(ctx context.Context, requestID string) error {
	return s.b.DeactivateOAuthRequest(ctx, kindRefresh, requestID)
}

func (s *storage) RevokeAccessToken(ctx context.Context, requestID string) error {
	return s.b.DeleteOAuthRequest(ctx, kindAccess, requestID)
}

// secretHasher hashes client secrets with SHA-256. Mustard generates every
// client secret itself with 256 bits of entropy, so a slow password hash
// (fosite's default, bcrypt) adds nothing but 50 ms to each token request:
// there is no low-entropy secret to protect from guessing.
type secretHasher struct{}

func (secretHasher) Hash(_ context.Context, data []byte) ([]byte, error) {
	h := sha256.Sum256(data)
	return h[:], nil
}

func (secretHasher) Compare(_ context.Context, hash, data []byte) error {
	h := sha256.Sum256(data)
	if subtle.ConstantTimeCompare(hash, h[:]) != 1 {
		return fosite.ErrNotFound
	}
	return nil
}
