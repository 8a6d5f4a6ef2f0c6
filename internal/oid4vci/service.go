package oid4vci

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/mustard-id/mustard/internal/problem"
)

// Storage is what a Service needs from a store: single-use nonces, and
// grants (offers, pre-authorized codes, access tokens) that can be read
// and consumed once, atomically.
type Storage interface {
	CreateNonce(ctx context.Context, purpose, nonce string, expires time.Time) error
	NonceValid(ctx context.Context, purpose, nonce string, now time.Time) (bool, error)
	ConsumeNonce(ctx context.Context, purpose, nonce string, now time.Time) error
	PutGrant(ctx context.Context, kind, key string, doc []byte, expires time.Time) error
	// Grant returns an unexpired unused grant; ConsumeGrant marks it used
	// and returns it. Both fail for unknown, expired or used grants.
	Grant(ctx context.Context, kind, key string, now time.Time) ([]byte, error)
	ConsumeGrant(ctx context.Context, kind, key string, now time.Time) ([]byte, error)
}

// Mint is one credential to issue, whose access token, request and key
// proof were checked.
type Mint struct {
	ConfigurationID string
	Request         *CredentialRequest
	KeyProof        *KeyProof       // the holder's key and the c_nonce (live, not yet consumed)
	Data            json.RawMessage // what the offer's creator attached to it
	// Commit consumes the c_nonce and the access token. The minter calls
	// it once every check of its own passed and before it records or
	// signs anything; an error from it is an *Error to return as is.
	Commit func(ctx context.Context) error
}

// Minter issues the credentials of one configuration. Its errors are
// *Error (sent as they are); any other error is a server_error.
type Minter interface {
	Mint(ctx context.Context, m *Mint) (string, error)
}

// MinterFunc adapts a function to Minter.
type MinterFunc func(ctx context.Context, m *Mint) (string, error)

// Mint calls f.
func (f MinterFunc) Mint(ctx context.Context, m *Mint) (string, error) { return f(ctx, m) }

// Configuration is a credential configuration: its metadata and its minter.
type Configuration struct {
	Metadata CredentialConfiguration
	Minter   Minter
}

// Config configures a Service.
type Config struct {
	// Issuer is the credential issuer identifier: its https URL (http on
	// loopback for development), no query, no trailing slash. The
	// endpoints are under Issuer + /v1/oid4vci; the authorization server
	// identifier is that URL.
	Issuer         string
	Name           string
	Configurations map[string]Configuration
	// PublicOffers are the configuration ids anyone may ask an offer for
	// (POST /v1/oid4vci/offers); empty disables that API.
	PublicOffers []string
	NoncePurpose string // namespace of the c_nonces in the store; default "oid4vci"
	// CodeTTL bounds a pre-authorized code (and its offer) and TokenTTL an
	// access token; NonceTTL a c_nonce. Defaults 10, 5 and 5 minutes.
	CodeTTL, TokenTTL, NonceTTL time.Duration
	ClockSkew                   time.Duration // key proof iat vs. the clock; default 5 minutes
	Now                         func() time.Time
}

// Service runs the issuer side of OpenID4VCI.
type Service struct {
	cfg   Config
	store Storage
}

// Base is the path under which the endpoints live.
const Base = "/v1/oid4vci"

// Routes are the patterns a Service's Handler serves.
var Routes = []string{
	"GET " + WellKnownIssuer,
	"GET " + WellKnownAS + Base,
	"POST " + Base + "/offers",
	"GET " + Base + "/offers/{id}",
	"POST " + Base + "/token",
	"POST " + Base + "/nonce",
	"POST " + Base + "/credential",
}

// Grant kinds in the store.
const (
	kindOffer = "offer"
	kindCode  = "code"
	kindToken = "token"
)

// New checks cfg and applies its defaults.
func New(cfg Config, store Storage) (*Service, error) {
	if err := checkIssuerID(cfg.Issuer); err != nil {
		return nil, fmt.Errorf("oid4vci: issuer identifier: %v", err)
	}
	if u, _ := url.Parse(cfg.Issuer); u.Path != "" {
		return nil, errors.New("oid4vci: the issuer identifier must have no path (its metadata is at the host's well-known location)")
	}
	if store == nil || len(cfg.Configurations) == 0 {
		return nil, errors.New("oid4vci: a store and at least one configuration are required")
	}
	for id, c := range cfg.Configurations {
		if id == "" || len(id) > maxID || c.Minter == nil || c.Metadata.Format == "" {
			return nil, fmt.Errorf("oid4vci: configuration %q needs an id, a format and a minter", id)
		}
	}
	for _, id := range cfg.PublicOffers {
		if _, ok := cfg.Configurations[id]; !ok {
			return nil, fmt.Errorf("oid4vci: public offers name unknown configuration %q", id)
		}
	}
	if cfg.NoncePurpose == "" {
		cfg.NoncePurpose = "oid4vci"
	}
	cfg.CodeTTL = cmpOr(cfg.CodeTTL, 10*time.Minute)
	cfg.TokenTTL = cmpOr(cfg.TokenTTL, 5*time.Minute)
	cfg.NonceTTL = cmpOr(cfg.NonceTTL, 5*time.Minute)
	cfg.ClockSkew = cmpOr(cfg.ClockSkew, 5*time.Minute)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{cfg: cfg, store: store}, nil
}

func cmpOr(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// Issuer is the credential issuer identifier.
func (s *Service) Issuer() string { return s.cfg.Issuer }

// NoncePurpose is the namespace of the service's c_nonces in the store.
func (s *Service) NoncePurpose() string { return s.cfg.NoncePurpose }

// AuthorizationServer is the identifier of the issuer's own
// authorization server (its token endpoint).
func (s *Service) AuthorizationServer() string { return s.cfg.Issuer + Base }

// Metadata is the Credential Issuer Metadata.
func (s *Service) Metadata() IssuerMetadata {
	confs := make(map[string]CredentialConfiguration, len(s.cfg.Configurations))
	for id, c := range s.cfg.Configurations {
		confs[id] = c.Metadata
	}
	m := IssuerMetadata{
		CredentialIssuer:     s.cfg.Issuer,
		AuthorizationServers: []string{s.AuthorizationServer()},
		CredentialEndpoint:   s.cfg.Issuer + Base + "/credential",
		NonceEndpoint:        s.cfg.Issuer + Base + "/nonce",
		Configurations:       confs,
	}
	if s.cfg.Name != "" {
		m.Display = []Display{{Name: s.cfg.Name, Locale: "en"}}
	}
	return m
}

// ASMetadata is the authorization server's metadata (RFC 8414).
func (s *Service) ASMetadata() ASMetadata {
	return ASMetadata{
		Issuer:                   s.AuthorizationServer(),
		TokenEndpoint:            s.cfg.Issuer + Base + "/token",
		ResponseTypesSupported:   []string{},
		GrantTypesSupported:      []string{GrantPreAuthorized},
		TokenAuthMethods:         []string{"none"},
		PreAuthorizedAnonymousOK: true,
	}
}

// OfferRequest asks for a credential offer.
type OfferRequest struct {
	ConfigurationIDs []string
	// TxCode asks for a numeric transaction code of 6 digits, returned to
	// the offer's creator to give the user by another channel.
	TxCode bool
	// Data is handed to the minter with the credential request.
	Data json.RawMessage
}

// OfferResult is a credential offer, with the ways to hand it to a wallet.
type OfferResult struct {
	Offer       Offer     `json:"credential_offer"`
	OfferURI    string    `json:"credential_offer_uri"`
	ByValue     string    `json:"offer_url"`           // openid-credential-offer://?credential_offer=…
	ByReference string    `json:"offer_reference_url"` // openid-credential-offer://?credential_offer_uri=…
	TxCode      string    `json:"tx_code,omitempty"`
	Expires     time.Time `json:"expires_at"`
}

type codeDoc struct {
	IDs    []string        `json:"ids"`
	TxHash string          `json:"tx,omitempty"`
	Data   json.RawMessage `json:"data,omitempty"`
}

// CreateOffer makes a credential offer with a fresh pre-authorized code,
// single-use and valid for CodeTTL, and stores it (by hash) and the offer
// (for credential_offer_uri).
func (s *Service) CreateOffer(ctx context.Context, req OfferRequest) (*OfferResult, error) {
	if len(req.ConfigurationIDs) == 0 || len(req.ConfigurationIDs) > maxConfigurations {
		return nil, ErrOfferConfig
	}
	for i, id := range req.ConfigurationIDs {
		if _, ok := s.cfg.Configurations[id]; !ok || slices.Contains(req.ConfigurationIDs[:i], id) {
			return nil, ErrOfferConfig
		}
	}
	now := s.cfg.Now()
	exp := now.Add(s.cfg.CodeTTL)
	// The offer id is the secret of its credential_offer_uri; the code is
	// derived from it, so that the store keeps neither: the offer (without
	// its code) under the id's hash, the code's grant under the code's.
	offerID := randomToken(32)
	code := offerCode(offerID)
	doc := codeDoc{IDs: req.ConfigurationIDs, Data: req.Data}
	res := &OfferResult{Expires: exp}
	grant := &PreAuthorizedGrant{Code: code}
	if req.TxCode {
		n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
		if err != nil {
			return nil, err
		}
		res.TxCode = fmt.Sprintf("%06d", n)
		doc.TxHash = hashOf(res.TxCode)
		grant.TxCode = &TxCode{InputMode: "numeric", Length: 6, Description: "Enter the code you were given with this offer"}
	}
	res.Offer = Offer{CredentialIssuer: s.cfg.Issuer, CredentialConfigurationIDs: req.ConfigurationIDs, Grants: &Grants{PreAuthorized: grant}}
	cd, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	od, err := json.Marshal(res.Offer)
	if err != nil {
		return nil, err
	}
	stored := res.Offer
	storedGrant := *grant
	storedGrant.Code = ""
	stored.Grants = &Grants{PreAuthorized: &storedGrant}
	sd, err := json.Marshal(stored)
	if err != nil {
		return nil, err
	}
	if err := s.store.PutGrant(ctx, kindCode, hashOf(code), cd, exp); err != nil {
		return nil, err
	}
	if err := s.store.PutGrant(ctx, kindOffer, hashOf(offerID), sd, exp); err != nil {
		return nil, err
	}
	res.OfferURI = s.cfg.Issuer + Base + "/offers/" + offerID
	res.ByValue = OfferScheme + "://?credential_offer=" + url.QueryEscape(string(od))
	res.ByReference = OfferScheme + "://?credential_offer_uri=" + url.QueryEscape(res.OfferURI)
	return res, nil
}

func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read does not fail (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// offerCode is the pre-authorized code of the offer whose id is offerID.
func offerCode(offerID string) string {
	m := hmac.New(sha256.New, []byte(offerID))
	m.Write([]byte("mustard oid4vci pre-authorized_code"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func hashOf(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// Handler serves the Routes.
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(Routes[0], s.serveMetadata)
	mux.HandleFunc(Routes[1], s.serveASMetadata)
	mux.HandleFunc(Routes[2], s.serveCreateOffer)
	mux.HandleFunc(Routes[3], s.serveOffer)
	mux.HandleFunc(Routes[4], s.serveToken)
	mux.HandleFunc(Routes[5], s.serveNonce)
	mux.HandleFunc(Routes[6], s.serveCredential)
	return mux
}

func (s *Service) serveMetadata(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=300")
	writeJSON(w, http.StatusOK, s.Metadata())
}

func (s *Service) serveASMetadata(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=300")
	writeJSON(w, http.StatusOK, s.ASMetadata())
}

// OfferRequestJSON is the body of POST /v1/oid4vci/offers.
type OfferRequestJSON struct {
	ConfigurationIDs []string `json:"credential_configuration_ids"`
	TxCode           bool     `json:"tx_code,omitempty"`
}

// Offer API problems (a Mustard API: problem+json).
var (
	ErrOffersDisabled = problem.New("offers-disabled", http.StatusNotFound, "This issuer does not make credential offers on request")
	ErrOfferConfig    = problem.New("unknown-credential-configuration", http.StatusBadRequest, "Ask for 1 to 16 distinct credential configurations this issuer offers")
)

func (s *Service) serveCreateOffer(w http.ResponseWriter, r *http.Request) {
	if len(s.cfg.PublicOffers) == 0 {
		problem.Write(w, r, ErrOffersDisabled)
		return
	}
	var body OfferRequestJSON
	if err := problem.Decode(w, r, 4<<10, &body); err != nil {
		problem.Write(w, r, err)
		return
	}
	if len(body.ConfigurationIDs) == 0 {
		body.ConfigurationIDs = s.cfg.PublicOffers
	}
	for _, id := range body.ConfigurationIDs {
		if !slices.Contains(s.cfg.PublicOffers, id) {
			problem.Write(w, r, ErrOfferConfig)
			return
		}
	}
	res, err := s.CreateOffer(r.Context(), OfferRequest{ConfigurationIDs: body.ConfigurationIDs, TxCode: body.TxCode})
	if err != nil {
		problem.Write(w, r, err)
		return
	}
	problem.JSON(w, http.StatusCreated, res)
}

func (s *Service) serveOffer(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if len(id) > 64 {
		problem.Write(w, r, problem.ErrNotFound)
		return
	}
	doc, err := s.store.Grant(r.Context(), kindOffer, hashOf(id), s.cfg.Now())
	if err != nil {
		problem.Write(w, r, problem.ErrNotFound)
		return
	}
	var o Offer
	if err := json.Unmarshal(doc, &o); err != nil || o.Grants == nil || o.Grants.PreAuthorized == nil {
		s.fail(w, r, fmt.Errorf("oid4vci: stored offer: %v", err))
		return
	}
	o.Grants.PreAuthorized.Code = offerCode(id)
	writeJSON(w, http.StatusOK, o)
}

// serveToken is the token endpoint (§6) for the pre-authorized code grant.
func (s *Service) serveToken(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		writeError(w, ErrInvalidRequest.With("Send application/x-www-form-urlencoded"))
		return
	}
	if err := r.ParseForm(); err != nil {
		writeError(w, ErrInvalidRequest.With("The form is malformed or too large"))
		return
	}
	f := r.PostForm
	if f.Get("grant_type") != GrantPreAuthorized {
		writeError(w, ErrUnsupportedGrantType)
		return
	}
	code := f.Get("pre-authorized_code")
	if code == "" || len(code) > maxCode || len(f["pre-authorized_code"]) != 1 {
		writeError(w, ErrInvalidRequest.With("Send one pre-authorized_code"))
		return
	}
	now := s.cfg.Now()
	key := hashOf(code)
	raw, err := s.store.Grant(ctx, kindCode, key, now)
	if err != nil {
		writeError(w, ErrInvalidGrant)
		return
	}
	var doc codeDoc
	if err := json.Unmarshal(raw, &doc); err != nil {
		s.fail(w, r, err)
		return
	}
	tx, hasTx := f["tx_code"]
	if hasTx != (doc.TxHash != "") {
		writeError(w, ErrInvalidRequest.With("The tx_code is required for this offer, and only for it"))
		return
	}
	// Consumed before the transaction code is compared: a wrong code burns
	// the offer, so a short code cannot be guessed by trying.
	if _, err := s.store.ConsumeGrant(ctx, kindCode, key, now); err != nil {
		writeError(w, ErrInvalidGrant)
		return
	}
	if hasTx && (len(tx) != 1 || subtle.ConstantTimeCompare([]byte(hashOf(tx[0])), []byte(doc.TxHash)) != 1) {
		writeError(w, ErrInvalidGrant)
		return
	}
	token := randomToken(32)
	td, err := json.Marshal(codeDoc{IDs: doc.IDs, Data: doc.Data})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.store.PutGrant(ctx, kindToken, hashOf(token), td, now.Add(s.cfg.TokenTTL)); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, TokenResponse{AccessToken: token, TokenType: "Bearer", ExpiresIn: int64(s.cfg.TokenTTL.Seconds())})
}

// serveNonce is the nonce endpoint (§7): a fresh single-use c_nonce.
func (s *Service) serveNonce(w http.ResponseWriter, r *http.Request) {
	n, err := s.Nonce(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, NonceResponse{CNonce: n})
}

// Nonce makes and stores a fresh c_nonce.
func (s *Service) Nonce(ctx context.Context) (string, error) {
	n := randomToken(16)
	if err := s.store.CreateNonce(ctx, s.cfg.NoncePurpose, n, s.cfg.Now().Add(s.cfg.NonceTTL)); err != nil {
		return "", err
	}
	return n, nil
}

// bearer is the access token of an Authorization: Bearer header.
func bearer(r *http.Request) string {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || len(tok) > 256 {
		return ""
	}
	return strings.TrimSpace(tok)
}

// serveCredential is the credential endpoint (§8).
func (s *Service) serveCredential(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	now := s.cfg.Now()
	tok := bearer(r)
	if tok == "" {
		writeError(w, ErrInvalidToken)
		return
	}
	tkey := hashOf(tok)
	raw, err := s.store.Grant(ctx, kindToken, tkey, now)
	if err != nil {
		writeError(w, ErrInvalidToken)
		return
	}
	var grant codeDoc
	if err := json.Unmarshal(raw, &grant); err != nil {
		s.fail(w, r, err)
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		writeError(w, ErrCredentialRequest.With("Send application/json"))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxCredentialRequest))
	if err != nil {
		e := ErrCredentialRequest.With("The credential request is too large")
		e.status = http.StatusRequestEntityTooLarge
		writeError(w, e)
		return
	}
	req, err := ParseCredentialRequest(body)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	if req.Identifier != "" {
		writeError(w, ErrUnknownIdentifier)
		return
	}
	conf, ok := s.cfg.Configurations[req.ConfigurationID]
	if !ok || !slices.Contains(grant.IDs, req.ConfigurationID) {
		writeError(w, ErrUnknownConfiguration)
		return
	}
	if req.Proofs == nil {
		writeError(w, ErrInvalidProof.With("This credential is bound to a key: send proofs.jwt"))
		return
	}
	kp, err := ParseKeyProof(req.Proofs.JWT[0], s.cfg.Issuer, now, s.cfg.ClockSkew)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	if ok, err := s.store.NonceValid(ctx, s.cfg.NoncePurpose, kp.Nonce, now); err != nil {
		s.fail(w, r, err)
		return
	} else if !ok {
		writeError(w, ErrInvalidNonce)
		return
	}
	committed := false
	m := &Mint{ConfigurationID: req.ConfigurationID, Request: req, KeyProof: kp, Data: grant.Data, Commit: func(ctx context.Context) error {
		if committed {
			return ErrServer
		}
		committed = true
		if err := s.store.ConsumeNonce(ctx, s.cfg.NoncePurpose, kp.Nonce, now); err != nil {
			return ErrInvalidNonce
		}
		if _, err := s.store.ConsumeGrant(ctx, kindToken, tkey, now); err != nil {
			return ErrInvalidToken
		}
		return nil
	}}
	cred, err := conf.Minter.Mint(ctx, m)
	if err == nil && !committed {
		err = errors.New("oid4vci: the minter did not commit")
	}
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, CredentialResponse{Credentials: []IssuedCredential{{Credential: cred}}})
}

// writeErr sends an *Error as is and anything else as a logged
// server_error.
func (s *Service) writeErr(w http.ResponseWriter, r *http.Request, err error) {
	var e *Error
	if errors.As(err, &e) {
		writeError(w, e)
		return
	}
	s.fail(w, r, err)
}

func (s *Service) fail(w http.ResponseWriter, r *http.Request, err error) {
	slog.ErrorContext(r.Context(), "oid4vci: internal error", "path", r.URL.Path, "err", err.Error())
	writeError(w, ErrServer)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	if w.Header().Get("Cache-Control") == "" {
		w.Header().Set("Cache-Control", "no-store")
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
