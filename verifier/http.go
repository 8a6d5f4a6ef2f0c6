package verifier

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/skip2/go-qrcode"

	"github.com/mustard-id/mustard/circuits/persona"
	"github.com/mustard-id/mustard/circuits/threshold"
	"github.com/mustard-id/mustard/internal/problem"
	"github.com/mustard-id/mustard/zk"
)

// Storage holds the verification API's single-use nonces.
type Storage interface {
	CreateNonce(ctx context.Context, purpose, nonce string, expires time.Time) error
	ConsumeNonce(ctx context.Context, purpose, nonce string, now time.Time) error
}

// RequestStorage is the optional capability of a Storage to keep
// presentation request documents for request_uri (found by type
// assertion); without it the API answers nonces only.
type RequestStorage interface {
	PutRequest(ctx context.Context, id string, doc []byte, expires time.Time) error
	Request(ctx context.Context, id string, now time.Time) ([]byte, error)
}

// RequestJSON is the body of POST /v1/presentation-requests. Audience
// alone asks for a nonce; with Scope and ResponseURI the API also makes
// the presentation request document (verifier.PresentationRequest) a
// wallet fetches by reference.
type RequestJSON struct {
	Audience       string   `json:"audience"`
	Scope          string   `json:"scope,omitempty"`
	MinGrade       string   `json:"min_grade,omitempty"`
	RequiredClaims []string `json:"required_claims,omitempty"`
	Predicates     []string `json:"predicates,omitempty"`
	Disclose       []string `json:"disclose,omitempty"`
	ClientName     string   `json:"client_name,omitempty"`
	ResponseURI    string   `json:"response_uri,omitempty"`
	// DeviceBound asks for a device-bound persona (PresentationRequest.DeviceBound).
	DeviceBound bool `json:"device_bound,omitempty"`
}

// PresentationRequestJSON is what a relying party hands the wallet: the
// nonce, and when a document was asked for, the document itself, its
// request_uri, the deep link (mustard://present?request_uri=…, also the
// QR code's payload) and the QR code's URL (PNG).
type PresentationRequestJSON struct {
	Nonce      string               `json:"nonce"`
	Audience   string               `json:"audience"`
	ExpiresIn  int64                `json:"expires_in"`
	Request    *PresentationRequest `json:"request,omitempty"`
	RequestURI string               `json:"request_uri,omitempty"`
	DeepLink   string               `json:"deep_link,omitempty"`
	QRCode     string               `json:"qr_code,omitempty"`
}

// VerifyJSON is the body of POST /v1/presentations/verify: a key-bound
// SD-JWT VC presentation, or (proof) a self-issued persona proof whose
// nonce is the one of the presentation request.
type VerifyJSON struct {
	Presentation string             `json:"presentation,omitempty"`
	Proof        *persona.ProofJSON `json:"proof,omitempty"`
	// HolderJWK and PoP bind a self-issued proof to this relying party:
	// the persona key the proof commits to, and its proof of possession
	// for audience and nonce.
	HolderJWK            json.RawMessage `json:"holder_jwk,omitempty"`
	PoP                  string          `json:"pop,omitempty"`
	RequireHolderBinding bool            `json:"require_holder_binding,omitempty"`
	Audience             string          `json:"audience"`
	Scope                string          `json:"scope"`
	Nonce                string          `json:"nonce"`
	MinGrade             string          `json:"min_grade,omitempty"`
	RequiredClaims       []string        `json:"required_claims,omitempty"`
	// MinProviders demands a k-of-n proof of at least this many providers
	// (Policy.MinProviders); self-issued proofs only.
	MinProviders int `json:"min_providers,omitempty"`
	// DeviceBound demands a device-bound persona (Policy.DeviceBound).
	DeviceBound bool `json:"device_bound,omitempty"`
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
	// BaseURL is the API's public base URL, the start of request_uri.
	BaseURL string
	// IsNotFound recognizes the store's "no such request" error.
	IsNotFound func(error) bool
	// OID4VP is the verifier's OpenID4VP client identity; nil serves no
	// OpenID4VP routes' transactions.
	OID4VP *OID4VPClient
}

// Handler serves:
//
//	POST /v1/presentation-requests   a nonce for one presentation (and its request document)
//	GET  /v1/presentation-requests/{id}      the document, by reference (request_uri)
//	GET  /v1/presentation-requests/{id}/qr   its deep link as a QR code (PNG)
//	POST /v1/presentations/verify    verify a presentation (SD-JWT VC, or a self-issued
//	                                 proof: a "proof" member, or the body itself as
//	                                 application/vnd.mustard.persona-proof+json with the
//	                                 policy in the query) against a policy
//	POST /v1/presentations/verify-batch   many presentations in one call
//
// and OpenID for Verifiable Presentations 1.0 (oid4vp_http.go):
//
//	POST /v1/oid4vp/requests              a transaction: Authorization Request by reference
//	GET|POST /v1/oid4vp/requests/{id}     its signed Request Object (request_uri)
//	GET  /v1/oid4vp/requests/{id}/qr      its openid4vp:// link as a QR code
//	POST /v1/oid4vp/responses/{id}        the Response Endpoint (direct_post)
//	GET  /v1/oid4vp/transactions/{tx}     the result, for the relying party
func (a *API) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/presentation-requests", a.serveRequest)
	mux.HandleFunc("GET /v1/presentation-requests/{id}", a.serveRequestDoc)
	mux.HandleFunc("GET /v1/presentation-requests/{id}/qr", a.serveRequestQR)
	mux.HandleFunc("POST /v1/presentations/verify", a.serveVerify)
	mux.HandleFunc("POST /v1/presentations/verify-batch", a.serveBatch)
	a.oid4vpRoutes(mux)
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
	if err := problem.Decode(w, r, 8<<10, &body); err != nil {
		problem.Write(w, r, err)
		return
	}
	if body.Audience == "" || len(body.Audience) > 255 || IsClientIdentifier(body.Audience) {
		problem.Write(w, r, ErrInvalidRequest)
		return
	}
	now := a.V.cfg.Now()
	n, err := newNonce()
	if err == nil {
		err = a.Store.CreateNonce(r.Context(), noncePurpose(body.Audience), n, now.Add(a.ttl()))
	}
	if err != nil {
		problem.Write(w, r, err)
		return
	}
	out := PresentationRequestJSON{Nonce: n, Audience: body.Audience, ExpiresIn: int64(a.ttl().Seconds())}
	if body.Scope != "" || body.ResponseURI != "" {
		if err := a.makeDocument(r.Context(), &body, &out, now); err != nil {
			problem.Write(w, r, err)
			return
		}
	}
	problem.JSON(w, http.StatusCreated, out)
}

// makeDocument builds, checks and stores the presentation request
// document for a nonce, and links it.
func (a *API) makeDocument(ctx context.Context, body *RequestJSON, out *PresentationRequestJSON, now time.Time) error {
	rs, ok := a.Store.(RequestStorage)
	if !ok || a.BaseURL == "" {
		return ErrInvalidRequest
	}
	doc := &PresentationRequest{
		Type: RequestType, Audience: body.Audience, Scope: body.Scope, Nonce: out.Nonce, MinGrade: body.MinGrade,
		RequiredClaims: body.RequiredClaims, Predicates: body.Predicates, Disclose: body.Disclose,
		ResponseURI: body.ResponseURI, ClientName: body.ClientName, ExpiresAt: now.Add(a.ttl()).UTC().Truncate(time.Second),
		DeviceBound: body.DeviceBound,
	}
	if body.MinGrade != "" {
		if _, err := zk.ParseGrade(body.MinGrade); err != nil {
			return ErrInvalidRequest
		}
	}
	if err := doc.Check(); err != nil {
		return ErrInvalidRequest
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	id, err := newNonce()
	if err != nil {
		return err
	}
	if err := rs.PutRequest(ctx, id, b, doc.ExpiresAt); err != nil {
		return err
	}
	out.Request = doc
	out.RequestURI = a.BaseURL + "/v1/presentation-requests/" + id
	out.DeepLink = DeepLink(out.RequestURI)
	out.QRCode = out.RequestURI + "/qr"
	return nil
}

func (a *API) requestDoc(r *http.Request) ([]byte, error) {
	rs, ok := a.Store.(RequestStorage)
	id := r.PathValue("id")
	if !ok || len(id) > 64 || isOID4VPKey(id) {
		return nil, ErrUnknownRequest
	}
	b, err := rs.Request(r.Context(), id, a.V.cfg.Now())
	if err != nil {
		// Unknown and expired look the same; a store failure too, to a
		// wallet, but it is logged as what it is.
		if a.IsNotFound == nil || !a.IsNotFound(err) {
			problem.Write(nopWriter{}, r, err)
		}
		return nil, ErrUnknownRequest
	}
	return b, nil
}

// serveRequestDoc serves a presentation request document by reference.
func (a *API) serveRequestDoc(w http.ResponseWriter, r *http.Request) {
	b, err := a.requestDoc(r)
	if err != nil {
		problem.Write(w, r, err)
		return
	}
	w.Header().Set("Content-Type", RequestMediaType)
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(b)
}

// serveRequestQR serves the request's deep link as a QR code.
func (a *API) serveRequestQR(w http.ResponseWriter, r *http.Request) {
	if _, err := a.requestDoc(r); err != nil {
		problem.Write(w, r, err)
		return
	}
	png, err := qrcode.Encode(DeepLink(a.BaseURL+"/v1/presentation-requests/"+r.PathValue("id")), qrcode.Medium, 256)
	if err != nil {
		problem.Write(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(png)
}

// nopWriter discards a response: problem.Write on it only logs.
type nopWriter struct{}

func (nopWriter) Header() http.Header         { return http.Header{} }
func (nopWriter) Write(b []byte) (int, error) { return len(b), nil }
func (nopWriter) WriteHeader(int)             {}

// noncePurpose binds a nonce to the audience it was issued for, so that it
// is accepted only with that audience.
func noncePurpose(audience string) string { return NoncePurpose + ":" + audience }

// MaxPresentation bounds a presentation.
const MaxPresentation = 64 << 10

func (a *API) serveVerify(w http.ResponseWriter, r *http.Request) {
	var body VerifyJSON
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == ProofMediaType {
		var p persona.ProofJSON
		if err := decodeProof(w, r, &p); err != nil {
			problem.Write(w, r, err)
			return
		}
		q := r.URL.Query()
		body = VerifyJSON{Proof: &p, Audience: q.Get("audience"), Scope: q.Get("scope"), Nonce: p.Public.Nonce, MinGrade: q.Get("min_grade")}
		if rc := q.Get("required_claims"); rc != "" {
			body.RequiredClaims = strings.Split(rc, ",")
		}
	} else if err := problem.Decode(w, r, MaxPresentation+8<<10, &body); err != nil {
		problem.Write(w, r, err)
		return
	}
	res := a.verify(r.Context(), []VerifyJSON{body})[0]
	if res.Err != nil {
		problem.Write(w, r, res.Err)
		return
	}
	problem.JSON(w, http.StatusOK, VerdictJSON{Valid: true, Verdict: *res.Verdict})
}

// decodeProof reads a self-issued proof body: bounded, strict.
func decodeProof(w http.ResponseWriter, r *http.Request, p *persona.ProofJSON) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxPresentation))
	dec.DisallowUnknownFields()
	if err := dec.Decode(p); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return problem.ErrTooLarge
		}
		return problem.ErrMalformed
	}
	if _, err := dec.Token(); err != io.EOF {
		return problem.ErrMalformed
	}
	return nil
}

// policyOf turns a request into a policy.
func policyOf(body *VerifyJSON) (Policy, error) {
	pol := Policy{Audience: body.Audience, Scope: body.Scope, Nonce: body.Nonce, RequiredClaims: body.RequiredClaims, RequireHolderBinding: body.RequireHolderBinding}
	if len(body.RequiredClaims) > 16 || (body.Presentation == "") == (body.Proof == nil) {
		return pol, ErrInvalidRequest
	}
	if body.Proof != nil && body.Nonce != "" && body.Nonce != body.Proof.Public.Nonce {
		return pol, ErrNonce
	}
	if body.Proof != nil {
		pol.Nonce = body.Proof.Public.Nonce
	}
	if body.MinGrade != "" {
		g, err := zk.ParseGrade(body.MinGrade)
		if err != nil {
			return pol, ErrInvalidRequest
		}
		pol.MinGrade = g
	}
	if body.MinProviders < 0 || body.MinProviders > threshold.MaxK || (body.MinProviders > 1 && body.Proof == nil) {
		return pol, ErrInvalidRequest
	}
	pol.MinProviders = body.MinProviders
	pol.DeviceBound = body.DeviceBound
	return pol, nil
}

// verify verifies requests (in one batch) and consumes the nonce of each
// one that verified: a forged presentation cannot burn a relying party's
// nonce, and a nonce is accepted once, even twice in one batch.
func (a *API) verify(ctx context.Context, bodies []VerifyJSON) []BatchResult {
	out := make([]BatchResult, len(bodies))
	items := make([]BatchItem, 0, len(bodies))
	idx := make([]int, 0, len(bodies))
	for n := range bodies {
		pol, err := policyOf(&bodies[n])
		if err != nil {
			out[n].Err = err
			continue
		}
		var h Holder
		if len(bodies[n].HolderJWK) > 0 {
			k, err := jwk.ParseKey(bodies[n].HolderJWK)
			if _, public := k.(jwk.ECDSAPublicKey); err != nil || !public {
				out[n].Err = ErrHolderBinding
				continue
			}
			h.Key = k
		}
		h.PoP = bodies[n].PoP
		items = append(items, BatchItem{Presentation: bodies[n].Presentation, Proof: bodies[n].Proof, Holder: h, Policy: pol})
		idx = append(idx, n)
	}
	for k, res := range a.V.VerifyBatch(ctx, items) {
		n := idx[k]
		out[n] = res
		if res.Err != nil {
			continue
		}
		if err := a.Store.ConsumeNonce(ctx, noncePurpose(bodies[n].Audience), items[k].Policy.Nonce, a.V.cfg.Now()); err != nil {
			if a.IsNonceUsed == nil || a.IsNonceUsed(err) {
				err = ErrNonce
			}
			out[n] = BatchResult{Err: err}
		}
	}
	return out
}

// BatchJSON is the body of POST /v1/presentations/verify-batch.
type BatchJSON struct {
	Items []VerifyJSON `json:"items"`
}

// BatchResultJSON is one item's answer: valid with its verdict, or not
// with the problem (its type the reason code).
type BatchResultJSON struct {
	Valid   bool          `json:"valid"`
	Verdict *Verdict      `json:"verdict,omitempty"`
	Problem *problem.Body `json:"problem,omitempty"`
}

// BatchResponseJSON answers POST /v1/presentations/verify-batch, results
// in the order of the items.
type BatchResponseJSON struct {
	Results []BatchResultJSON `json:"results"`
}

// MaxBatchBody bounds a batch request.
const MaxBatchBody = 8 << 20

func (a *API) serveBatch(w http.ResponseWriter, r *http.Request) {
	var body BatchJSON
	if err := problem.Decode(w, r, MaxBatchBody, &body); err != nil {
		problem.Write(w, r, err)
		return
	}
	if len(body.Items) == 0 || len(body.Items) > MaxBatch {
		problem.Write(w, r, ErrInvalidRequest)
		return
	}
	for _, it := range body.Items {
		if len(it.Presentation) > MaxPresentation {
			problem.Write(w, r, problem.ErrTooLarge)
			return
		}
	}
	res := a.verify(r.Context(), body.Items)
	out := BatchResponseJSON{Results: make([]BatchResultJSON, len(res))}
	for n, rr := range res {
		if rr.Err == nil {
			out.Results[n] = BatchResultJSON{Valid: true, Verdict: rr.Verdict}
			continue
		}
		var p *problem.Error
		if !errors.As(rr.Err, &p) {
			// A store failure: the whole call fails, as it would alone.
			problem.Write(w, r, rr.Err)
			return
		}
		out.Results[n] = BatchResultJSON{Problem: &problem.Body{Type: p.Type(), Title: p.Title, Status: p.Status}}
	}
	problem.JSON(w, http.StatusOK, out)
}
