package coreid

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
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

	mu     sync.Mutex
	logins map[string]*Login
}

// fedEnrollment is a federation enrollment in the provider's
// PendingStorage, under its poll token (and the token under the login's
// state), so that the wallet may poll any server and the IdP may send the
// person back to any server. Done, it holds the enrollment or the
// refusal until the wallet collects it.
type fedEnrollment struct {
	Issuer     string          `json:"issuer"`
	State      string          `json:"state"`
	Commitment string          `json:"commitment"` // hex, as the wallet sent it
	Device     string          `json:"device"`
	Ticket     string          `json:"ticket,omitempty"`
	Expires    int64           `json:"expires"`
	Done       bool            `json:"done,omitempty"`
	Result     *EnrollmentJSON `json:"result,omitempty"`
	Refusal    *problem.Error  `json:"refusal,omitempty"`
}

func (f *Federations) putEnrollment(ctx context.Context, token string, e *fedEnrollment, now time.Time) (bool, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return false, err
	}
	return f.p.pend.PutPending(ctx, pendingFedToken, token, b, now, time.Unix(e.Expires, 0), MaxPendingLogins)
}

func (f *Federations) enrollment(b []byte) *fedEnrollment {
	var e fedEnrollment
	if b == nil || json.Unmarshal(b, &e) != nil {
		return nil
	}
	return &e
}

// NewFederations returns the federation enrollment endpoints of p, whose
// public URL is base; each config's RedirectURL is set to the callback.
func (p *Provider) NewFederations(base string, configs []LoginConfig) *Federations {
	f := &Federations{p: p, base: base, configs: map[string]LoginConfig{}, logins: map[string]*Login{}}
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
	e := &fedEnrollment{Issuer: body.Issuer, State: state, Commitment: body.Commitment, Device: body.DeviceKeyHash, Ticket: body.Attestation, Expires: now.Add(NonceTTL).Unix()}
	ok, err := f.putEnrollment(r.Context(), token, e, now)
	if err == nil && ok {
		ok, err = f.p.pend.PutPending(r.Context(), pendingFedState, state, []byte(token), now, now.Add(NonceTTL), MaxPendingLogins)
	}
	if err != nil {
		problem.Write(w, r, err)
		return
	}
	if !ok {
		problem.Write(w, r, problem.New("too-many-logins", http.StatusServiceUnavailable, "Too many logins in progress"))
		return
	}
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
	now := f.p.cfg.Now()
	var e *fedEnrollment
	var token []byte
	if st := q.Get("state"); st != "" && len(st) <= 128 {
		var err error
		if token, err = f.p.pend.TakePending(r.Context(), pendingFedState, st, now); err == nil && token != nil {
			b, _ := f.p.pend.Pending(r.Context(), pendingFedToken, string(token), now)
			e = f.enrollment(b)
		}
	}
	page := func(status int, title, msg string) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(status)
		_ = federationPage.Execute(w, map[string]string{"Title": title, "Message": msg})
	}
	if e == nil || e.State != q.Get("state") || now.After(time.Unix(e.Expires, 0)) {
		page(http.StatusBadRequest, "This enrollment has expired", "Start again from your wallet.")
		return
	}
	result, err := f.enroll(r.Context(), e, q.Get("state"), q.Get("code"), q.Get("error"))
	e.Done, e.Result = true, result
	if err != nil {
		var pe *problem.Error
		if !errors.As(err, &pe) {
			slog.ErrorContext(r.Context(), "federation enrollment failed", "issuer", e.Issuer, "err", err.Error())
			pe = problem.ErrInternal
		}
		e.Refusal = pe
	}
	if _, perr := f.putEnrollment(r.Context(), string(token), e, now); perr != nil {
		slog.ErrorContext(r.Context(), "federation enrollment not recorded", "issuer", e.Issuer, "err", perr.Error())
		page(http.StatusInternalServerError, "Something went wrong", "Start again from your wallet.")
		return
	}
	if err != nil {
		slog.InfoContext(r.Context(), "federation enrollment refused", "issuer", e.Issuer, "error", problemType(err))
		page(http.StatusBadRequest, "Enrollment refused", "The identity provider's answer could not be used to enroll you. Your wallet shows why.")
		return
	}
	page(http.StatusOK, "You are enrolled", "Return to your wallet: it now holds your core credential.")
}

func (f *Federations) enroll(ctx context.Context, e *fedEnrollment, state, code, idpErr string) (*EnrollmentJSON, error) {
	if idpErr != "" {
		return nil, problem.New("federation-login-failed", http.StatusUnauthorized, "The identity provider did not sign the person in")
	}
	l, err := f.login(ctx, e.Issuer)
	if err != nil {
		return nil, err
	}
	idToken, nonce, err := l.Finish(ctx, state, code)
	if err != nil {
		return nil, err
	}
	c, _ := zk.ParseHex(e.Commitment) // both checked when the enrollment started
	d, _ := zk.ParseHex(e.Device)
	enr, err := f.p.Enroll(ctx, EnrollRequest{
		Sources: []SourceCredential{{Format: trust.FormatOIDC, Credential: idToken}}, Nonce: nonce,
		Commitment: c, DeviceKeyHash: d, Attestation: e.Ticket,
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
	now := f.p.cfg.Now()
	var e *fedEnrollment
	if token != "" && len(token) <= 64 {
		b, err := f.p.pend.Pending(r.Context(), pendingFedToken, token, now)
		if err != nil {
			problem.Write(w, r, err)
			return
		}
		if e = f.enrollment(b); e != nil && e.Done {
			// Collected once: only the poll that takes it answers.
			b, err := f.p.pend.TakePending(r.Context(), pendingFedToken, token, now)
			if err != nil {
				problem.Write(w, r, err)
				return
			}
			e = f.enrollment(b)
		}
	}
	switch {
	case e == nil || now.After(time.Unix(e.Expires, 0)):
		problem.Write(w, r, ErrLoginState)
	case !e.Done:
		problem.JSON(w, http.StatusAccepted, map[string]string{"status": "pending"})
	case e.Refusal != nil:
		problem.Write(w, r, e.Refusal)
	default:
		problem.JSON(w, http.StatusCreated, e.Result)
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
