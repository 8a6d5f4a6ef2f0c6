package coreid

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/mustard-id/mustard/internal/problem"
	"github.com/mustard-id/mustard/internal/trust"
	"github.com/mustard-id/mustard/zk"
)

// Federation enrollment: a wallet enrolls with a login at a federation's
// identity provider instead of a credential file.
//
//	wallet  POST /v1/enroll/federation {issuer, commitment, device_key_hash}
//	        ← {authorization_url, poll_url}       and opens the URL in a browser
//	browser → IdP login (code + PKCE S256, the provider's nonce)
//	        → GET /v1/enroll/federation/callback?code&state
//	          the provider exchanges the code, verifies the id_token against
//	          the framework's keys for that IdP and enrolls the commitment
//	wallet  GET /v1/enroll/federation/poll/{token} ← the core credential
//
// The commitment comes from the wallet, never from the browser; the poll
// token is the wallet's alone (it is not in any URL the browser sees).

// ErrFederation is an IdP not configured for federation login.
var ErrFederation = problem.New("unknown-federation", http.StatusBadRequest, "This provider does not run logins at that identity provider")

// FederationBody is the body of POST /v1/enroll/federation.
type FederationBody struct {
	Issuer        string `json:"issuer"`
	Commitment    string `json:"commitment"`
	DeviceKeyHash string `json:"device_key_hash"`
	Attestation   string `json:"attestation,omitempty"` // ticket from POST /v1/enroll/attestation
}

// FederationJSON is its answer.
type FederationJSON struct {
	AuthorizationURL string `json:"authorization_url"`
	PollURL          string `json:"poll_url"`
	ExpiresIn        int    `json:"expires_in"`
}

// Federations runs federation enrollments for the IdPs in logins (by
// issuer). Logins are created on first use, so an IdP that is down at
// start does not stop the provider.
type Federations struct {
	p       *Provider
	base    string // this provider's public URL
	configs map[string]LoginConfig

	mu      sync.Mutex
	logins  map[string]*Login
	pending map[string]*fedEnrollment // by poll token
	byState map[string]*fedEnrollment
}

type fedEnrollment struct {
	issuer     string
	state      string
	commitment string // hex, as the wallet sent it
	device     string
	ticket     string
	expires    time.Time
	done       bool
	result     *EnrollmentJSON
	err        error
}

// NewFederations returns the federation enrollment endpoints of p, whose
// public URL is base; each config's RedirectURL is set to the callback.
func (p *Provider) NewFederations(base string, configs []LoginConfig) *Federations {
	f := &Federations{p: p, base: base, configs: map[string]LoginConfig{}, logins: map[string]*Login{}, pending: map[string]*fedEnrollment{}, byState: map[string]*fedEnrollment{}}
	for _, c := range configs {
		c.RedirectURL = base + "/v1/enroll/federation/callback"
		f.configs[c.Issuer] = c
	}
	return f
}

// Routes are the federation enrollment routes.
var FederationRoutes = []string{"POST /v1/enroll/federation", "GET /v1/enroll/federation/callback", "GET /v1/enroll/federation/poll/{token}"}

// Handler serves FederationRoutes.
func (f *Federations) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/enroll/federation", f.serveStart)
	mux.HandleFunc("GET /v1/enroll/federation/callback", f.serveCallback)
	mux.HandleFunc("GET /v1/enroll/federation/poll/{token}", f.servePoll)
	return mux
}

func (f *Federations) login(ctx context.Context, issuer string) (*Login, error) {
	f.mu.Lock()
	l, ok := f.logins[issuer]
	f.mu.Unlock()
	if ok {
		return l, nil
	}
	cfg, ok := f.configs[issuer]
	if !ok {
		return nil, ErrFederation
	}
	l, err := f.p.NewLogin(ctx, cfg)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.logins[issuer] = l
	f.mu.Unlock()
	return l, nil
}

func (f *Federations) serveStart(w http.ResponseWriter, r *http.Request) {
	var body FederationBody
	if err := problem.Decode(w, r, 4<<10, &body); err != nil {
		problem.Write(w, r, err)
		return
	}
	if _, err := zk.ParseHex(body.Commitment); err != nil {
		problem.Write(w, r, ErrCommitment)
		return
	}
	if _, err := zk.ParseHex(body.DeviceKeyHash); err != nil {
		problem.Write(w, r, ErrCommitment)
		return
	}
	l, err := f.login(r.Context(), body.Issuer)
	if err != nil {
		problem.Write(w, r, err)
		return
	}
	authURL, state, err := l.Start(r.Context())
	if err != nil {
		problem.Write(w, r, err)
		return
	}
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		problem.Write(w, r, err)
		return
	}
	token := base64.RawURLEncoding.EncodeToString(b)
	now := f.p.cfg.Now()
	e := &fedEnrollment{issuer: body.Issuer, state: state, commitment: body.Commitment, device: body.DeviceKeyHash, ticket: body.Attestation, expires: now.Add(NonceTTL)}
	f.mu.Lock()
	for k, p := range f.pending {
		if now.After(p.expires) {
			delete(f.pending, k)
			delete(f.byState, p.state)
		}
	}
	if len(f.pending) >= MaxPendingLogins {
		f.mu.Unlock()
		problem.Write(w, r, problem.New("too-many-logins", http.StatusServiceUnavailable, "Too many logins in progress"))
		return
	}
	f.pending[token], f.byState[state] = e, e
	f.mu.Unlock()
	problem.JSON(w, http.StatusCreated, FederationJSON{AuthorizationURL: authURL, PollURL: f.base + "/v1/enroll/federation/poll/" + token, ExpiresIn: int(NonceTTL.Seconds())})
}

var federationPage = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Enrollment · Mustard</title>
<style>body{font:17px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;background:#fffdf5;color:#1b1b1b}</style></head>
<body><p style="color:#8a6d00;font-weight:600">Mustard</p><main><h1>{{.Title}}</h1><p role="status">{{.Message}}</p></main></body></html>`))

// serveCallback finishes the IdP login and enrolls the wallet's commitment.
func (f *Federations) serveCallback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f.mu.Lock()
	e := f.byState[q.Get("state")]
	delete(f.byState, q.Get("state"))
	f.mu.Unlock()
	page := func(status int, title, msg string) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(status)
		_ = federationPage.Execute(w, map[string]string{"Title": title, "Message": msg})
	}
	if e == nil || f.p.cfg.Now().After(e.expires) {
		page(http.StatusBadRequest, "This enrollment has expired", "Start again from your wallet.")
		return
	}
	result, err := f.enroll(r.Context(), e, q.Get("state"), q.Get("code"), q.Get("error"))
	f.mu.Lock()
	e.done, e.result, e.err = true, result, err
	f.mu.Unlock()
	if err != nil {
		slog.InfoContext(r.Context(), "federation enrollment refused", "issuer", e.issuer, "error", problemType(err))
		page(http.StatusBadRequest, "Enrollment refused", "The identity provider's answer could not be used to enroll you. Your wallet shows why.")
		return
	}
	page(http.StatusOK, "You are enrolled", "Return to your wallet: it now holds your core credential.")
}

func (f *Federations) enroll(ctx context.Context, e *fedEnrollment, state, code, idpErr string) (*EnrollmentJSON, error) {
	if idpErr != "" {
		return nil, problem.New("federation-login-failed", http.StatusUnauthorized, "The identity provider did not sign the person in")
	}
	l, err := f.login(ctx, e.issuer)
	if err != nil {
		return nil, err
	}
	idToken, nonce, err := l.Finish(ctx, state, code)
	if err != nil {
		return nil, err
	}
	c, _ := zk.ParseHex(e.commitment) // both checked when the enrollment started
	d, _ := zk.ParseHex(e.device)
	enr, err := f.p.Enroll(ctx, EnrollRequest{
		Sources: []SourceCredential{{Format: trust.FormatOIDC, Credential: idToken}}, Nonce: nonce,
		Commitment: c, DeviceKeyHash: d, Attestation: e.ticket,
	})
	if err != nil {
		return nil, err
	}
	j := enr.JSON()
	return &j, nil
}

// servePoll answers the wallet: 202 while pending, the enrollment when
// done (once), or the refusal.
func (f *Federations) servePoll(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	f.mu.Lock()
	e, ok := f.pending[token]
	if ok && e.done {
		delete(f.pending, token)
	}
	f.mu.Unlock()
	switch {
	case !ok || f.p.cfg.Now().After(e.expires):
		problem.Write(w, r, ErrLoginState)
	case !e.done:
		problem.JSON(w, http.StatusAccepted, map[string]string{"status": "pending"})
	case e.err != nil:
		problem.Write(w, r, e.err)
	default:
		problem.JSON(w, http.StatusCreated, e.result)
	}
}

// problemType names an error for a log line without its text.
func problemType(err error) string {
	var p *problem.Error
	if errors.As(err, &p) {
		return p.Type()
	}
	return "internal"
}
