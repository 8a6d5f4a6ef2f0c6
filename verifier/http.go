package verifier

import (
	"context"
	"net/http"
	"time"

	"github.com/mustard-id/mustard/internal/problem"
	"github.com/mustard-id/mustard/zk"
)

// Storage holds the verification API's single-use nonces.
type Storage interface {
	CreateNonce(ctx context.Context, purpose, nonce string, expires time.Time) error
	ConsumeNonce(ctx context.Context, purpose, nonce string, now time.Time) error
}

// RequestJSON is the body of POST /v1/presentation-requests.
type RequestJSON struct {
	Audience string `json:"audience"`
}

// PresentationRequestJSON is what a relying party hands the wallet.
type PresentationRequestJSON struct {
	Nonce     string `json:"nonce"`
	Audience  string `json:"audience"`
	ExpiresIn int64  `json:"expires_in"`
}

// VerifyJSON is the body of POST /v1/presentations/verify.
type VerifyJSON struct {
	Presentation   string   `json:"presentation"`
	Audience       string   `json:"audience"`
	Scope          string   `json:"scope"`
	Nonce          string   `json:"nonce"`
	MinGrade       string   `json:"min_grade,omitempty"`
	RequiredClaims []string `json:"required_claims,omitempty"`
}

// VerdictJSON is the response of a successful verification.
type VerdictJSON struct {
	Valid bool `json:"valid"`
	Verdict
}

// API is the HTTP verification API over a Verifier.
type API struct {
	V        *Verifier
	Store    Storage
	NonceTTL time.Duration
	// IsNonceUsed recognizes the store's "unknown, expired or used" error,
	// so that only that becomes invalid-nonce and a store failure a 500.
	IsNonceUsed func(error) bool
}

// Handler serves:
//
//	POST /v1/presentation-requests   a nonce for one presentation
//	POST /v1/presentations/verify    verify a presentation against a policy
func (a *API) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/presentation-requests", a.serveRequest)
	mux.HandleFunc("POST /v1/presentations/verify", a.serveVerify)
	return mux
}

func (a *API) ttl() time.Duration {
	if a.NonceTTL == 0 {
		return 5 * time.Minute
	}
	return a.NonceTTL
}

func (a *API) serveRequest(w http.ResponseWriter, r *http.Request) {
	var body RequestJSON
	if err := problem.Decode(w, r, 4<<10, &body); err != nil {
		problem.Write(w, r, err)
		return
	}
	if body.Audience == "" || len(body.Audience) > 255 {
		problem.Write(w, r, ErrInvalidRequest)
		return
	}
	n, err := newNonce()
	if err == nil {
		err = a.Store.CreateNonce(r.Context(), noncePurpose(body.Audience), n, a.V.cfg.Now().Add(a.ttl()))
	}
	if err != nil {
		problem.Write(w, r, err)
		return
	}
	problem.JSON(w, http.StatusCreated, PresentationRequestJSON{Nonce: n, Audience: body.Audience, ExpiresIn: int64(a.ttl().Seconds())})
}

// noncePurpose binds a nonce to the audience it was issued for, so that it
// is accepted only with that audience.
func noncePurpose(audience string) string { return NoncePurpose + ":" + audience }

// MaxPresentation bounds a presentation.
const MaxPresentation = 64 << 10

func (a *API) serveVerify(w http.ResponseWriter, r *http.Request) {
	var body VerifyJSON
	if err := problem.Decode(w, r, MaxPresentation+8<<10, &body); err != nil {
		problem.Write(w, r, err)
		return
	}
	pol := Policy{Audience: body.Audience, Scope: body.Scope, Nonce: body.Nonce, RequiredClaims: body.RequiredClaims}
	if body.MinGrade != "" {
		g, err := zk.ParseGrade(body.MinGrade)
		if err != nil {
			problem.Write(w, r, ErrInvalidRequest)
			return
		}
		pol.MinGrade = g
	}
	if len(body.RequiredClaims) > 16 {
		problem.Write(w, r, ErrInvalidRequest)
		return
	}
	verdict, err := a.V.Verify(r.Context(), body.Presentation, pol)
	if err != nil {
		problem.Write(w, r, err)
		return
	}
	// The nonce is consumed only by a presentation that verified: a forged
	// one cannot burn a relying party's nonce.
	if err := a.Store.ConsumeNonce(r.Context(), noncePurpose(body.Audience), body.Nonce, a.V.cfg.Now()); err != nil {
		if a.IsNonceUsed == nil || a.IsNonceUsed(err) {
			err = ErrNonce
		}
		problem.Write(w, r, err)
		return
	}
	problem.JSON(w, http.StatusOK, VerdictJSON{Valid: true, Verdict: *verdict})
}
