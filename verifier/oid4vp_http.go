package verifier

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/skip2/go-qrcode"

	"github.com/mustard-id/mustard/internal/problem"
	"github.com/mustard-id/mustard/zk"
)

// OpenID4VP problems: each a stable reason code.
var (
	ErrState           = problem.New("invalid-state", http.StatusBadRequest, "The response's state is not the request's")
	ErrDCQLUnsatisfied = problem.New("dcql-unsatisfied", http.StatusForbidden, "The vp_token does not answer the request's DCQL query")
	ErrOID4VPDisabled  = problem.New("oid4vp-unavailable", http.StatusNotFound, "This verifier has no OpenID4VP client identity configured")
	ErrResponseCode    = problem.New("invalid-response-code", http.StatusForbidden, "The response_code is missing or not this transaction's")
)

// OID4VPClient is the verifier's OpenID4VP identity.
type OID4VPClient struct {
	// ClientID is decentralized_identifier:<did> (requests signed by
	// Key, named <did>#<kid>, the DID document publishing it), or empty:
	// every request is then its own redirect_uri:<response_uri> client,
	// unsigned.
	ClientID string
	// Key returns the current signing key (the DID's).
	Key func() jwk.Key
	// Name is shown by wallets (client_metadata.client_name) when the
	// relying party gives none.
	Name string
}

// OID4VPRequestJSON is the body of POST /v1/oid4vp/requests. Scope is
// required (the persona scope, the relying party's sector). Either
// RequiredClaims, or DCQLQuery for full control (its credentials must ask
// for dc+sd-jwt with the persona vct).
type OID4VPRequestJSON struct {
	Scope          string          `json:"scope"`
	MinGrade       string          `json:"min_grade,omitempty"`
	RequiredClaims []string        `json:"required_claims,omitempty"`
	Predicates     []string        `json:"predicates,omitempty"`
	Disclose       []string        `json:"disclose,omitempty"`
	ClientName     string          `json:"client_name,omitempty"`
	DCQLQuery      json.RawMessage `json:"dcql_query,omitempty"`
	// RedirectURI (same-device flow): where the wallet sends the browser
	// after a successful response, with #response_code=…, which the result
	// then requires (§13.3: no session fixation).
	RedirectURI string `json:"redirect_uri,omitempty"`
	// ResponseMode is direct_post (default) or direct_post.jwt: the
	// wallet then encrypts its response to a key of this transaction.
	ResponseMode string `json:"response_mode,omitempty"`
	// DeviceBound asks for, and the result requires, a device-bound
	// persona (the Request Object's mustard.device_bound).
	DeviceBound bool `json:"device_bound,omitempty"`
}

// OID4VPTransactionJSON answers POST /v1/oid4vp/requests. The relying
// party keeps TransactionID secret (it reads the result with it) and
// shows AuthorizationRequest as a link or QR code.
type OID4VPTransactionJSON struct {
	TransactionID        string     `json:"transaction_id"`
	ClientID             string     `json:"client_id"`
	AuthorizationRequest string     `json:"authorization_request"` // openid4vp://?client_id=…&request_uri=…
	RequestURI           string     `json:"request_uri"`
	QRCode               string     `json:"qr_code"`
	ResultURI            string     `json:"result_uri"`
	Nonce                string     `json:"nonce"`
	State                string     `json:"state"`
	DCQLQuery            *DCQLQuery `json:"dcql_query"`
	ExpiresIn            int64      `json:"expires_in"`
}

// OID4VPResultJSON is GET /v1/oid4vp/transactions/{id}: pending, accepted
// (the verdicts by credential query id) or error (the wallet declined).
type OID4VPResultJSON struct {
	Status           string               `json:"status"`
	Verdicts         map[string][]Verdict `json:"verdicts,omitempty"`
	Error            string               `json:"error,omitempty"`
	ErrorDescription string               `json:"error_description,omitempty"`
	// CodeHash is the SHA-256 of the response_code (never sent).
	CodeHash []byte `json:"code_hash,omitempty"`
}

// oid4vpTx is a transaction as stored (under oid4vpKey+request id): the
// request, what the verifier checks of the answer, and the hash of the
// relying party's transaction id.
type oid4vpTx struct {
	Request        AuthorizationRequest `json:"request"`
	RequiredClaims []string             `json:"required_claims,omitempty"`
	RedirectURI    string               `json:"redirect_uri,omitempty"`
	TxHash         string               `json:"tx_hash"`
	Expires        time.Time            `json:"expires"`
	// ResponseKey is the private response encryption key of a
	// direct_post.jwt transaction.
	ResponseKey json.RawMessage `json:"response_key,omitempty"`
}

// Store keys of OpenID4VP entries in the request store; the Mustard
// request document route never serves them.
const oid4vpKey = "oid4vp:"

func hashHex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func (a *API) oid4vpRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/oid4vp/requests", a.serveOID4VPCreate)
	mux.HandleFunc("GET /v1/oid4vp/requests/{id}", a.serveRequestObject)
	mux.HandleFunc("POST /v1/oid4vp/requests/{id}", a.serveRequestObject)
	mux.HandleFunc("GET /v1/oid4vp/requests/{id}/qr", a.serveOID4VPQR)
	mux.HandleFunc("POST /v1/oid4vp/responses/{id}", a.serveOID4VPResponse)
	mux.HandleFunc("GET /v1/oid4vp/transactions/{tx}", a.serveOID4VPResult)
}

// DefaultDCQL is the query for a persona disclosing claims: one
// credential "persona", dc+sd-jwt of the persona vct, its pseudonym and
// each claim.
func DefaultDCQL(claims []string) *DCQLQuery {
	c := CredentialQuery{ID: "persona", Format: FormatSDJWT, Meta: &DCQLMeta{VCTValues: []string{VCT}}, Claims: []ClaimsQuery{{Path: []any{"pseudonym"}}}}
	for _, n := range claims {
		c.Claims = append(c.Claims, ClaimsQuery{Path: []any{n}})
	}
	return &DCQLQuery{Credentials: []CredentialQuery{c}}
}

func (a *API) serveOID4VPCreate(w http.ResponseWriter, r *http.Request) {
	rs, ok := a.Store.(RequestStorage)
	if a.OID4VP == nil || !ok || a.BaseURL == "" {
		problem.Write(w, r, ErrOID4VPDisabled)
		return
	}
	var body OID4VPRequestJSON
	if err := problem.Decode(w, r, MaxDCQL+8<<10, &body); err != nil {
		problem.Write(w, r, err)
		return
	}
	tx, out, err := a.newTransaction(&body)
	if err != nil {
		problem.Write(w, r, err)
		return
	}
	ctx := r.Context()
	b, err := json.Marshal(tx)
	if err == nil {
		err = a.Store.CreateNonce(ctx, oid4vpPurpose(tx.Request.ClientID), tx.Request.Nonce, tx.Expires)
	}
	id := strings.TrimPrefix(tx.Request.ResponseURI, a.BaseURL+"/v1/oid4vp/responses/")
	if err == nil {
		err = rs.PutRequest(ctx, oid4vpKey+id, b, tx.Expires)
	}
	if err == nil {
		err = rs.PutRequest(ctx, oid4vpKey+"tx:"+tx.TxHash, []byte(id), tx.Expires)
	}
	if err != nil {
		problem.Write(w, r, err)
		return
	}
	problem.JSON(w, http.StatusCreated, out)
}

// newTransaction builds a transaction from a relying party's request.
func (a *API) newTransaction(body *OID4VPRequestJSON) (*oid4vpTx, *OID4VPTransactionJSON, error) {
	if body.Scope == "" || len(body.Scope) > 255 || len(body.RequiredClaims) > 16 || len(body.Predicates) > 8 || len(body.Disclose) > 4 || len(body.ClientName) > 255 {
		return nil, nil, ErrInvalidRequest
	}
	if body.MinGrade != "" {
		if _, err := zk.ParseGrade(body.MinGrade); err != nil {
			return nil, nil, ErrInvalidRequest
		}
	}
	if body.RedirectURI != "" {
		u, err := url.Parse(body.RedirectURI)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Fragment != "" || len(body.RedirectURI) > 1024 {
			return nil, nil, ErrInvalidRequest
		}
	}
	q := DefaultDCQL(body.RequiredClaims)
	if len(body.DCQLQuery) > 0 {
		var err error
		if q, err = ParseDCQL(body.DCQLQuery); err != nil {
			return nil, nil, ErrInvalidRequest
		}
	}
	var ids [4]string
	for i := range ids {
		var err error
		if ids[i], err = newNonce(); err != nil {
			return nil, nil, err
		}
	}
	id, txID, nonce, state := ids[0], ids[1], ids[2], ids[3]
	now := a.V.cfg.Now()
	exp := now.Add(a.ttl()).UTC().Truncate(time.Second)
	respURI := a.BaseURL + "/v1/oid4vp/responses/" + id
	clientID := a.OID4VP.ClientID
	if clientID == "" {
		clientID = PrefixRedirectURI + respURI
	}
	name := body.ClientName
	if name == "" {
		name = a.OID4VP.Name
	}
	meta := &ClientMetadata{ClientName: name, VPFormatsSupported: map[string]map[string]any{
		FormatSDJWT: {"sd-jwt_alg_values": []string{"ES256", "EdDSA"}, "kb-jwt_alg_values": []string{"ES256"}},
	}}
	var respKey json.RawMessage
	switch body.ResponseMode {
	case "", ResponseModeDirectPost:
		body.ResponseMode = ResponseModeDirectPost
	case ResponseModeDirectPostJWT:
		k, err := NewResponseKey()
		if err != nil {
			return nil, nil, err
		}
		pub, err := k.PublicKey()
		if err != nil {
			return nil, nil, err
		}
		set := jwk.NewSet()
		_ = set.AddKey(pub)
		if meta.JWKS, err = json.Marshal(set); err != nil {
			return nil, nil, err
		}
		if respKey, err = json.Marshal(k); err != nil {
			return nil, nil, err
		}
		meta.EncryptedResponseEncValuesSupported = responseEncValues
	default:
		return nil, nil, ErrInvalidRequest
	}
	req := AuthorizationRequest{
		Audience: SelfIssuedAudience, Expiry: exp.Unix(),
		ClientID: clientID, ResponseType: "vp_token", ResponseMode: body.ResponseMode, ResponseURI: respURI,
		Nonce: nonce, State: state, DCQLQuery: q, ClientMetadata: meta,
		Mustard: &MustardRequest{Scope: body.Scope, MinGrade: body.MinGrade, Predicates: body.Predicates, Disclose: body.Disclose, DeviceBound: body.DeviceBound},
	}
	if err := req.Check(now); err != nil {
		return nil, nil, ErrInvalidRequest
	}
	tx := &oid4vpTx{Request: req, RequiredClaims: body.RequiredClaims, RedirectURI: body.RedirectURI, TxHash: hashHex(txID), Expires: exp, ResponseKey: respKey}
	reqURI := a.BaseURL + "/v1/oid4vp/requests/" + id
	out := &OID4VPTransactionJSON{
		TransactionID: txID, ClientID: clientID, AuthorizationRequest: AuthorizationLink(clientID, reqURI, ""),
		RequestURI: reqURI, QRCode: reqURI + "/qr", ResultURI: a.BaseURL + "/v1/oid4vp/transactions/" + txID,
		Nonce: nonce, State: state, DCQLQuery: q, ExpiresIn: int64(a.ttl().Seconds()),
	}
	return tx, out, nil
}

func oid4vpPurpose(clientID string) string { return "oid4vp:" + clientID }

// loadTx reads a transaction by its request id.
func (a *API) loadTx(ctx context.Context, r *http.Request, id string) (*oid4vpTx, error) {
	rs, ok := a.Store.(RequestStorage)
	if !ok || a.OID4VP == nil || id == "" || len(id) > 64 {
		return nil, ErrUnknownRequest
	}
	b, err := rs.Request(ctx, oid4vpKey+id, a.V.cfg.Now())
	if err != nil {
		if a.IsNotFound == nil || !a.IsNotFound(err) {
			problem.Write(nopWriter{}, r, err)
		}
		return nil, ErrUnknownRequest
	}
	var tx oid4vpTx
	if err := json.Unmarshal(b, &tx); err != nil {
		return nil, err
	}
	return &tx, nil
}

// serveRequestObject serves the signed Request Object (request_uri, GET
// or, for request_uri_method=post, POST with wallet_nonce, §5.10).
func (a *API) serveRequestObject(w http.ResponseWriter, r *http.Request) {
	tx, err := a.loadTx(r.Context(), r, r.PathValue("id"))
	if err != nil {
		problem.Write(w, r, err)
		return
	}
	req := tx.Request
	req.IssuedAt = a.V.cfg.Now().Unix()
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
		if err := r.ParseForm(); err != nil || len(r.PostForm.Get("wallet_nonce")) > 255 {
			problem.Write(w, r, problem.ErrMalformed)
			return
		}
		req.WalletNonce = r.PostForm.Get("wallet_nonce")
	}
	var key jwk.Key
	kid := ""
	if strings.HasPrefix(req.ClientID, PrefixDID) {
		key = a.OID4VP.Key()
		kid = strings.TrimPrefix(req.ClientID, PrefixDID) + "#" + key.KeyID()
	}
	obj, err := SignRequestObject(&req, key, kid)
	if err != nil {
		problem.Write(w, r, err)
		return
	}
	w.Header().Set("Content-Type", RequestObjectMediaType)
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte(obj))
}

func (a *API) serveOID4VPQR(w http.ResponseWriter, r *http.Request) {
	tx, err := a.loadTx(r.Context(), r, r.PathValue("id"))
	if err != nil {
		problem.Write(w, r, err)
		return
	}
	link := AuthorizationLink(tx.Request.ClientID, a.BaseURL+"/v1/oid4vp/requests/"+r.PathValue("id"), "")
	png, err := qrcode.Encode(link, qrcode.Medium, 320)
	if err != nil {
		problem.Write(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(png)
}

// serveOID4VPResponse is the Response Endpoint (§8.2): a form-encoded
// vp_token and state, or an error. Every presentation must verify for
// the client_id as audience and the request's nonce, the persona's scope
// and grade, and answer the DCQL query; then, and only then, the nonce is
// spent (in the shared store: once across every server) and the result
// recorded for the relying party.
func (a *API) serveOID4VPResponse(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	tx, err := a.loadTx(ctx, r, r.PathValue("id"))
	if err != nil {
		problem.Write(w, r, err)
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
		problem.Write(w, r, problem.New("unsupported-media-type", http.StatusUnsupportedMediaType, "Send application/x-www-form-urlencoded"))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxAuthorizationResponse)
	if err := r.ParseForm(); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			problem.Write(w, r, problem.ErrTooLarge)
			return
		}
		problem.Write(w, r, problem.ErrMalformed)
		return
	}
	var resp *AuthorizationResponse
	if tx.Request.ResponseMode == ResponseModeDirectPostJWT {
		// §8.3: only the encrypted response; nothing in the clear.
		if len(r.PostForm) != 1 {
			problem.Write(w, r, ErrInvalidRequest)
			return
		}
		key, kerr := jwk.ParseKey(tx.ResponseKey)
		if kerr != nil {
			problem.Write(w, r, kerr)
			return
		}
		resp, err = DecryptResponse(r.PostForm.Get("response"), key)
	} else {
		resp, err = ParseAuthorizationResponse(r.PostForm)
	}
	if err != nil {
		problem.Write(w, r, ErrInvalidRequest)
		return
	}
	if subtle.ConstantTimeCompare([]byte(resp.State), []byte(tx.Request.State)) != 1 {
		problem.Write(w, r, ErrState)
		return
	}
	var result OID4VPResultJSON
	if resp.Error != "" {
		result = OID4VPResultJSON{Status: "error", Error: resp.Error, ErrorDescription: resp.ErrorDescription}
	} else {
		verdicts, err := a.checkVPToken(ctx, tx, resp.VPToken)
		if err != nil {
			problem.Write(w, r, err)
			return
		}
		result = OID4VPResultJSON{Status: "accepted", Verdicts: verdicts}
	}
	if err := a.Store.ConsumeNonce(ctx, oid4vpPurpose(tx.Request.ClientID), tx.Request.Nonce, a.V.cfg.Now()); err != nil {
		if a.IsNonceUsed == nil || a.IsNonceUsed(err) {
			err = ErrNonce
		}
		problem.Write(w, r, err)
		return
	}
	out := map[string]string{}
	if tx.RedirectURI != "" && result.Status == "accepted" {
		code, err := newNonce()
		if err != nil {
			problem.Write(w, r, err)
			return
		}
		h := sha256.Sum256([]byte(code))
		result.CodeHash = h[:]
		out["redirect_uri"] = tx.RedirectURI + "#response_code=" + code
	}
	b, err := json.Marshal(result)
	if err == nil {
		err = a.Store.(RequestStorage).PutRequest(ctx, oid4vpKey+"result:"+tx.TxHash, b, tx.Expires.Add(a.ttl()))
	}
	if err != nil {
		problem.Write(w, r, err)
		return
	}
	problem.JSON(w, http.StatusOK, out)
}

// checkVPToken verifies every presentation of a vp_token and checks that
// together they answer the DCQL query.
func (a *API) checkVPToken(ctx context.Context, tx *oid4vpTx, tok map[string][]string) (map[string][]Verdict, error) {
	q := tx.Request.DCQLQuery
	pol := Policy{Audience: tx.Request.ClientID, Scope: tx.Request.Mustard.Scope, Nonce: tx.Request.Nonce, RequiredClaims: tx.RequiredClaims, DeviceBound: tx.Request.Mustard.DeviceBound}
	if tx.Request.Mustard.MinGrade != "" {
		pol.MinGrade, _ = zk.ParseGrade(tx.Request.Mustard.MinGrade)
	}
	out := map[string][]Verdict{}
	answered := map[string]bool{}
	for id, list := range tok {
		cq, ok := q.Credential(id)
		if !ok || (len(list) > 1 && !cq.Multiple) {
			return nil, ErrDCQLUnsatisfied
		}
		for _, p := range list {
			// Verify also takes JSON-LD presentations; the query asked for
			// an SD-JWT (Check allows no other format).
			if cq.Format == FormatSDJWT && strings.HasPrefix(strings.TrimSpace(p), "{") {
				return nil, ErrDCQLUnsatisfied
			}
			v, err := a.V.Verify(ctx, p, pol)
			if err != nil {
				return nil, err
			}
			if !cq.Satisfied(v.Claims) {
				return nil, ErrDCQLUnsatisfied
			}
			out[id] = append(out[id], *v)
		}
		answered[id] = true
	}
	if !q.Answered(answered) {
		return nil, ErrDCQLUnsatisfied
	}
	return out, nil
}

// serveOID4VPResult tells the relying party, by its secret transaction
// id, whether the wallet has answered, and with what.
func (a *API) serveOID4VPResult(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	rs, ok := a.Store.(RequestStorage)
	txID := r.PathValue("tx")
	if !ok || a.OID4VP == nil || txID == "" || len(txID) > 64 {
		problem.Write(w, r, ErrUnknownRequest)
		return
	}
	h := hashHex(txID)
	b, err := rs.Request(ctx, oid4vpKey+"result:"+h, a.V.cfg.Now())
	if err != nil {
		if a.IsNotFound == nil || !a.IsNotFound(err) {
			problem.Write(w, r, err)
			return
		}
		if _, err := rs.Request(ctx, oid4vpKey+"tx:"+h, a.V.cfg.Now()); err != nil {
			problem.Write(w, r, ErrUnknownRequest)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		problem.JSON(w, http.StatusAccepted, OID4VPResultJSON{Status: "pending"})
		return
	}
	var res OID4VPResultJSON
	if err := json.Unmarshal(b, &res); err != nil {
		problem.Write(w, r, err)
		return
	}
	if res.CodeHash != nil {
		got := sha256.Sum256([]byte(r.URL.Query().Get("response_code")))
		if subtle.ConstantTimeCompare(got[:], res.CodeHash) != 1 {
			problem.Write(w, r, ErrResponseCode)
			return
		}
		res.CodeHash = nil
	}
	w.Header().Set("Cache-Control", "no-store")
	problem.JSON(w, http.StatusOK, res)
}

// isOID4VPKey reports whether a request store id is an OpenID4VP entry.
func isOID4VPKey(id string) bool { return strings.HasPrefix(id, oid4vpKey) }
