package issuer

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/mustard-id/mustard/circuits/persona"
	"github.com/mustard-id/mustard/internal/problem"
)

// NonceJSON is the response of POST /v1/persona/nonce (named as in
// OpenID for Verifiable Credential Issuance's nonce endpoint).
type NonceJSON struct {
	Nonce     string `json:"c_nonce"`
	ExpiresIn int64  `json:"c_nonce_expires_in"`
}

// RequestJSON is the body of POST /v1/persona.
type RequestJSON struct {
	Proof     persona.ProofJSON `json:"proof"`
	HolderJWK json.RawMessage   `json:"holder_jwk"`
	PoP       string            `json:"pop"`
	// Format is "dc+sd-jwt" (default), "jwt_vc_json" (W3C VC 2.0, JOSE
	// secured), "jwt_vc_json_v1" (W3C VC 1.1 JWT, for older verifiers),
	// "ldp_vc" (W3C VC 2.0 JSON-LD with a DataIntegrityProof) or
	// "ldp_vc_v1" (W3C VC 1.1 JSON-LD, JsonWebSignature2020).
	Format string `json:"format,omitempty"`
	// DeviceR is a device-bound proof's signature point (base64url x ‖ y,
	// circuits/devicebound); absent for a persona-circuit proof.
	DeviceR string `json:"device_r,omitempty"`
}

// IssuedJSON is the response of POST /v1/persona.
type IssuedJSON struct {
	Credential  string `json:"credential"`
	Format      string `json:"format"`
	StatusIndex int64  `json:"status_index"`
	StatusList  string `json:"status_list"`
	Pseudonym   string `json:"pseudonym"`
	Expiry      int64  `json:"exp"`
}

// MaxRequest bounds a persona request body.
const MaxRequest = 64 << 10

// Handler serves the issuer's HTTP API:
//
//	POST /v1/persona/nonce        a single-use nonce
//	POST /v1/persona              issue a persona credential
//	GET  /.well-known/jwks.json   the issuer's public keys (current and retired)
//	GET  /.well-known/did.json    its did:web document (the same keys, JsonWebKey2020)
//	GET  /v1/status-lists/{n}     a Status List Token (application/statuslist+jwt)
//	POST /v1/admin/credentials/{idx}/status   revoke, suspend, reinstate (admin bearer token)
//	POST /v1/persona/revocation-nonce         a nonce for holder self-revocation
//	POST /v1/persona/revocation               a holder revokes its own credential
//	POST /v1/validation                       current status and grade, as a signed JWT
func (i *Issuer) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/persona/nonce", i.serveNonce)
	mux.HandleFunc("POST /v1/persona", i.serveIssue)
	mux.HandleFunc("GET /.well-known/jwks.json", i.serveJWKS)
	mux.HandleFunc("GET /.well-known/did.json", i.serveDID)
	i.statusRoutes(mux)
	return mux
}

// NonceRequestJSON is the body of POST /v1/persona/nonce.
type NonceRequestJSON struct {
	Scope string `json:"scope"`
}

func (i *Issuer) serveNonce(w http.ResponseWriter, r *http.Request) {
	var body NonceRequestJSON
	if err := problem.Decode(w, r, 4<<10, &body); err != nil {
		problem.Write(w, r, err)
		return
	}
	n, exp, err := i.Nonce(r.Context(), body.Scope)
	if err != nil {
		problem.Write(w, r, err)
		return
	}
	problem.JSON(w, http.StatusOK, NonceJSON{Nonce: n, ExpiresIn: int64(time.Until(exp).Seconds())})
}

func (i *Issuer) serveIssue(w http.ResponseWriter, r *http.Request) {
	var body RequestJSON
	if err := problem.Decode(w, r, MaxRequest, &body); err != nil {
		problem.Write(w, r, err)
		return
	}
	key, err := jwk.ParseKey(body.HolderJWK)
	if err != nil {
		problem.Write(w, r, ErrHolderBinding)
		return
	}
	if _, ok := key.(jwk.ECDSAPublicKey); !ok {
		problem.Write(w, r, ErrHolderBinding) // refuse private keys and other types
		return
	}
	out, err := i.Issue(r.Context(), Request{Proof: body.Proof, HolderKey: key, PoP: body.PoP, Format: body.Format, DeviceR: body.DeviceR})
	if err != nil {
		problem.Write(w, r, err)
		return
	}
	problem.JSON(w, http.StatusCreated, IssuedJSON{Credential: out.Credential, Format: out.Format, StatusIndex: out.StatusIndex, StatusList: out.Status.URI, Pseudonym: out.Pseudonym, Expiry: out.Expiry.Unix()})
}

func (i *Issuer) serveJWKS(w http.ResponseWriter, r *http.Request) {
	set, err := i.PublicKeys()
	if err != nil {
		problem.Write(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/jwk-set+json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_ = json.NewEncoder(w).Encode(set)
}

func (i *Issuer) serveDID(w http.ResponseWriter, r *http.Request) {
	doc, err := i.DIDDocument()
	if err != nil {
		problem.Write(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/did+json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_ = json.NewEncoder(w).Encode(doc)
}
