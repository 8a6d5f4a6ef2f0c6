package issuer

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mustard-id/mustard/internal/problem"
	"github.com/mustard-id/mustard/internal/statuslist"
)

// StatusJSON is the body of POST /v1/admin/credentials/{idx}/status and
// its answer.
type StatusJSON struct {
	Status string `json:"status"` // valid, suspended or revoked
}

// RevokeJSON is the body of POST /v1/persona/revocation.
type RevokeJSON struct {
	Credential string `json:"credential"` // the SD-JWT VC as issued
	Proof      string `json:"proof"`      // SignRevocation by its persona key
}

// RevokedJSON answers POST /v1/persona/revocation.
type RevokedJSON struct {
	Status     string `json:"status"` // "revoked"
	StatusList string `json:"status_list"`
	Index      int64  `json:"idx"`
}

func (i *Issuer) statusRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET "+StatusListPath+"{n}", i.serveStatusList)
	mux.HandleFunc("GET "+StatusListPath+"{n}/{purpose}", i.serveStatusList)
	mux.HandleFunc("POST /v1/admin/credentials/{idx}/status", i.serveSetStatus)
	mux.HandleFunc("POST /v1/persona/revocation-nonce", i.serveRevocationNonce)
	mux.HandleFunc("POST /v1/persona/revocation", i.serveRevokeOwn)
	mux.HandleFunc("POST /v1/validation", i.serveValidate)
}

// serveValidate answers POST /v1/validation with a signed JWT
// (application/jwt).
func (i *Issuer) serveValidate(w http.ResponseWriter, r *http.Request) {
	var body ValidationRequest
	if err := problem.Decode(w, r, MaxRequest+1<<10, &body); err != nil {
		problem.Write(w, r, err)
		return
	}
	answer, err := i.Validate(r.Context(), body)
	if err != nil {
		problem.Write(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/jwt")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte(answer))
}

// serveStatusList serves a Status List Token (draft-ietf-oauth-status-list,
// "Status List Request": the response "MUST use the media type
// application/statuslist+jwt"), or with a purpose a W3C
// BitstringStatusListCredential (application/vc+jwt), with caching
// headers: max-age is what remains of the ttl, the ETag names the signed
// token.
func (i *Issuer) serveStatusList(w http.ResponseWriter, r *http.Request) {
	raw := r.PathValue("n")
	n, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || strconv.FormatInt(n, 10) != raw {
		problem.Write(w, r, ErrNoStatusList)
		return
	}
	mediaType := statuslist.MediaType
	var sl *SignedList
	if purpose := r.PathValue("purpose"); purpose != "" {
		sl, err = i.BitstringStatusList(r.Context(), n, purpose)
		mediaType = mediaTypeVC2
	} else {
		sl, err = i.StatusList(r.Context(), n)
	}
	if err != nil {
		problem.Write(w, r, err)
		return
	}
	age := i.cfg.Now().Sub(sl.IssuedAt)
	maxAge := max(int64((sl.TTL-age)/time.Second), 0)
	w.Header().Set("Cache-Control", fmt.Sprintf("public, max-age=%d", maxAge))
	w.Header().Set("ETag", sl.ETag)
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatch(inm, sl.ETag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", mediaType)
	_, _ = w.Write([]byte(sl.Token))
}

func etagMatch(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}

// authorized checks the admin bearer token in constant time (both sides
// hashed first, so not even its length leaks).
func (i *Issuer) authorized(r *http.Request) bool {
	if i.cfg.AdminToken == "" {
		return false
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return false
	}
	a, b := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(i.cfg.AdminToken))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

func (i *Issuer) serveSetStatus(w http.ResponseWriter, r *http.Request) {
	if !i.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="mustard-admin"`)
		problem.Write(w, r, ErrAdmin)
		return
	}
	idx, err := strconv.ParseInt(r.PathValue("idx"), 10, 64)
	if err != nil {
		problem.Write(w, r, ErrStatusIndex)
		return
	}
	var body StatusJSON
	if err := problem.Decode(w, r, 1<<10, &body); err != nil {
		problem.Write(w, r, err)
		return
	}
	st, ok := statuslist.ParseStatus(body.Status)
	if !ok {
		problem.Write(w, r, ErrStatusValue)
		return
	}
	if err := i.SetStatus(r.Context(), idx, st); err != nil {
		problem.Write(w, r, err)
		return
	}
	problem.JSON(w, http.StatusOK, StatusJSON{Status: st.String()})
}

func (i *Issuer) serveRevocationNonce(w http.ResponseWriter, r *http.Request) {
	n, exp, err := i.RevocationNonce(r.Context())
	if err != nil {
		problem.Write(w, r, err)
		return
	}
	problem.JSON(w, http.StatusOK, NonceJSON{Nonce: n, ExpiresIn: int64(time.Until(exp).Seconds())})
}

func (i *Issuer) serveRevokeOwn(w http.ResponseWriter, r *http.Request) {
	var body RevokeJSON
	if err := problem.Decode(w, r, MaxRequest, &body); err != nil {
		problem.Write(w, r, err)
		return
	}
	ref, err := i.RevokeOwn(r.Context(), body.Credential, body.Proof)
	if err != nil {
		problem.Write(w, r, err)
		return
	}
	problem.JSON(w, http.StatusOK, RevokedJSON{Status: statuslist.Invalid.String(), StatusList: ref.URI, Index: ref.Index})
}
