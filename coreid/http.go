package coreid

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mustard-id/mustard/internal/problem"
	"github.com/mustard-id/mustard/zk"
)

// EnrollBody is the JSON body of POST /v1/enroll.
type EnrollBody struct {
	Source        string       `json:"source,omitempty"`  // a JWT-VC
	Sources       []SourceBody `json:"sources,omitempty"` // or several credentials, each with its format
	Nonce         string       `json:"nonce,omitempty"`   // from POST /v1/enroll/nonce, for id_tokens and key-bound SD-JWT VCs
	Reenroll      bool         `json:"reenroll,omitempty"`
	Attestation   string       `json:"attestation,omitempty"` // ticket from POST /v1/enroll/attestation
	Commitment    string       `json:"commitment"`            // hex field element
	DeviceKeyHash string       `json:"device_key_hash"`       // hex field element
}

// SourceBody is one source credential on the wire.
type SourceBody struct {
	Format     string `json:"format"` // jwt-vc, sd-jwt-vc, ldp-vc, oidc
	Credential string `json:"credential"`
}

// AttestationKeysBody is the JSON body of POST
// /v1/enroll/attestation/challenge: marshalled TPMT_PUBLIC areas, base64;
// and the EK's certificate (X.509 DER, then any intermediate CA
// certificates, concatenated; base64), required when the provider has
// TPM manufacturer roots.
type AttestationKeysBody struct {
	EK            []byte `json:"ek"`
	AK            []byte `json:"ak"`
	Device        []byte `json:"device"`
	EKCertificate []byte `json:"ek_certificate,omitempty"`
}

// AttestationChallengeJSON is its response.
type AttestationChallengeJSON struct {
	ID        string `json:"id"`
	IDObject  []byte `json:"id_object"`
	EncSecret []byte `json:"enc_secret"`
}

// CertificationBody is the JSON body of POST /v1/enroll/attestation.
type CertificationBody struct {
	ID          string `json:"id"`
	Credential  []byte `json:"credential"`
	CertifyInfo []byte `json:"certify_info"`
	Signature   []byte `json:"signature"`
}

// AttestationJSON is its response.
type AttestationJSON struct {
	Ticket        string `json:"ticket"`
	DeviceKeyHash string `json:"device_key_hash"`
}

// NonceJSON is the response of the nonce endpoints.
type NonceJSON struct {
	Nonce     string `json:"nonce"`
	ExpiresIn int    `json:"expires_in"`
}

// HolderRevocationBody is the JSON body of POST /v1/revocations/holder.
type HolderRevocationBody struct {
	Credential CredentialJSON `json:"credential"`
	Signature  string         `json:"signature"`  // hex, the provider's
	DeviceKey  string         `json:"device_key"` // hex uncompressed P-256 point (0x04 || X || Y)
	Nonce      string         `json:"nonce"`      // from POST /v1/revocations/nonce
	Proof      string         `json:"proof"`      // hex DER ECDSA over HolderRevocationDigest
	// Opening is, for a credential without a device key (a software
	// wallet), the core secret itself (hex): it proves possession and
	// retires the secret. Credentials with a device key must use the
	// device key instead.
	Opening string `json:"opening,omitempty"`
}

// ProviderRevocationBody is the JSON body of POST /v1/revocations/provider.
type ProviderRevocationBody struct {
	RevNonce string `json:"rev_nonce"` // hex
}

// SourceRevocationBody is the JSON body of POST /v1/revocations/source.
type SourceRevocationBody struct {
	Notice string `json:"notice"` // a revocation notice JWT
}

// CredentialJSON is a core credential on the wire.
type CredentialJSON struct {
	Commitment    string   `json:"commitment"`
	Attrs         []string `json:"attrs"`
	Grade         uint64   `json:"grade"`
	Expiry        int64    `json:"expiry"`
	RevNonce      string   `json:"rev_nonce"`
	DeviceKeyHash string   `json:"device_key_hash"`
}

// EnrollmentJSON is the response of POST /v1/enroll.
type EnrollmentJSON struct {
	Credential  CredentialJSON `json:"credential"`
	Signature   string         `json:"signature"` // hex R||S
	ProviderKey string         `json:"provider_key"`
	MaxGrade    uint64         `json:"max_grade"`
	ValidUntil  int64          `json:"valid_until"`
	Replaced    bool           `json:"replaced,omitempty"` // a re-enrollment revoked the previous credential
}

// SnapshotJSON is the response of GET /v1/revocations: the whole tree, or
// with ?since=N the entries after the first N.
type SnapshotJSON struct {
	Root       string   `json:"root"`
	Entries    []string `json:"entries"`
	Since      int      `json:"since"`
	Size       int      `json:"size"`
	SignedRoot string   `json:"signed_root,omitempty"` // JWS of {provider, root, size, time}
}

// ToJSON encodes a core credential.
func ToJSON(c *zk.CoreCredential) CredentialJSON {
	out := CredentialJSON{Commitment: zk.Hex(c.Commitment), Grade: c.Grade, Expiry: c.Expiry, RevNonce: zk.Hex(c.RevNonce), DeviceKeyHash: zk.Hex(c.DeviceKeyHash)}
	for _, a := range c.Attrs {
		out.Attrs = append(out.Attrs, zk.Hex(a))
	}
	return out
}

// FromJSON decodes a core credential.
func FromJSON(j CredentialJSON) (zk.CoreCredential, error) {
	var c zk.CoreCredential
	var err error
	if len(j.Attrs) != zk.NumAttrs {
		return c, fmt.Errorf("coreid: credential has %d attributes, want %d", len(j.Attrs), zk.NumAttrs)
	}
	for i, a := range j.Attrs {
		if c.Attrs[i], err = zk.ParseHex(a); err != nil {
			return c, err
		}
	}
	if c.Commitment, err = zk.ParseHex(j.Commitment); err != nil {
		return c, err
	}
	if c.RevNonce, err = zk.ParseHex(j.RevNonce); err != nil {
		return c, err
	}
	if c.DeviceKeyHash, err = zk.ParseHex(j.DeviceKeyHash); err != nil {
		return c, err
	}
	c.Grade, c.Expiry = j.Grade, j.Expiry
	return c, nil
}

// Handler serves the provider's HTTP API:
//
//	POST /v1/enroll                enroll with source credentials
//	POST /v1/enroll/nonce          a single-use enrollment nonce
//	POST /v1/enroll/cosign         a k-of-n enrollment: lead, or co-sign the lead's credential
//	POST /v1/enroll/attestation/challenge  TPM attestation: MakeCredential for the wallet's EK and AK
//	POST /v1/enroll/attestation    TPM attestation: the activated credential and the device key's certification
//	POST /v1/enroll/rebind         bind the core credential to a new device (the old device key authorizes)
//	GET  /v1/revocations           the whole revocation snapshot, or ?since=N the entries after N (&limit=M: at most M of them)
//	GET  /v1/revocations/keys      the keys that verify signed roots
//	POST /v1/revocations/nonce     a single-use holder-revocation nonce
//	POST /v1/revocations/holder    revocation by the holder (device key)
//	POST /v1/revocations/provider  revocation by the provider (admin token)
//	POST /v1/revocations/source    revocation by a source (signed notice)
func (p *Provider) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/enroll", p.serveEnroll)
	mux.HandleFunc("POST /v1/enroll/nonce", p.serveNonce(NonceEnroll))
	mux.HandleFunc("POST /v1/enroll/cosign", p.serveCosign)
	mux.HandleFunc("POST /v1/enroll/attestation/challenge", p.serveAttestationChallenge)
	mux.HandleFunc("POST /v1/enroll/attestation", p.serveAttestation)
	mux.HandleFunc("GET /v1/revocations", p.serveRevocations)
	mux.HandleFunc("GET /v1/revocations/keys", p.serveRootKeys)
	mux.HandleFunc("POST /v1/revocations/nonce", p.serveNonce(NonceRevoke))
	mux.HandleFunc("POST /v1/revocations/holder", p.serveHolderRevocation)
	mux.HandleFunc("POST /v1/revocations/provider", p.serveProviderRevocation)
	mux.HandleFunc("POST /v1/revocations/source", p.serveSourceRevocation)
	mux.HandleFunc("POST /v1/enroll/rebind", p.serveRebind)
	return mux
}

// Routes are the patterns Handler serves, for a composition root that
// mounts them on its own mux.
var Routes = []string{
	"POST /v1/enroll", "POST /v1/enroll/nonce", "POST /v1/enroll/attestation/challenge", "POST /v1/enroll/attestation", "GET /v1/revocations", "GET /v1/revocations/keys",
	"POST /v1/revocations/nonce", "POST /v1/revocations/holder", "POST /v1/revocations/provider", "POST /v1/revocations/source",
	"POST /v1/enroll/rebind", "POST /v1/enroll/cosign",
}

func (p *Provider) serveNonce(purpose string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		n, err := p.NewNonce(r.Context(), purpose)
		if err != nil {
			problem.Write(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		problem.JSON(w, http.StatusCreated, NonceJSON{Nonce: n, ExpiresIn: int(NonceTTL / time.Second)})
	}
}

func (p *Provider) serveAttestationChallenge(w http.ResponseWriter, r *http.Request) {
	var body AttestationKeysBody
	if err := problem.Decode(w, r, problem.MaxBody, &body); err != nil {
		problem.Write(w, r, err)
		return
	}
	ch, err := p.Challenge(AttestationKeys{EK: body.EK, AK: body.AK, Device: body.Device, EKCertificate: body.EKCertificate})
	if err != nil {
		problem.Write(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	problem.JSON(w, http.StatusCreated, AttestationChallengeJSON{ID: ch.ID, IDObject: ch.IDObject, EncSecret: ch.EncSecret})
}

func (p *Provider) serveAttestation(w http.ResponseWriter, r *http.Request) {
	var body CertificationBody
	if err := problem.Decode(w, r, problem.MaxBody, &body); err != nil {
		problem.Write(w, r, err)
		return
	}
	da, err := p.VerifyAttestation(body.ID, Certification{Credential: body.Credential, CertifyInfo: body.CertifyInfo, Signature: body.Signature})
	if err != nil {
		problem.Write(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	problem.JSON(w, http.StatusCreated, AttestationJSON{Ticket: da.Ticket, DeviceKeyHash: zk.Hex(da.DeviceKeyHash)})
}

func (p *Provider) serveRootKeys(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/jwk-set+json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_ = json.NewEncoder(w).Encode(p.RootKeys())
}

func (p *Provider) serveHolderRevocation(w http.ResponseWriter, r *http.Request) {
	var body HolderRevocationBody
	if err := problem.Decode(w, r, problem.MaxBody, &body); err != nil {
		problem.Write(w, r, err)
		return
	}
	cred, err := FromJSON(body.Credential)
	if err != nil {
		problem.Write(w, r, ErrUnauthorized)
		return
	}
	sig, err1 := hex.DecodeString(body.Signature)
	proof, err2 := hex.DecodeString(body.Proof)
	pt, err3 := hex.DecodeString(body.DeviceKey)
	if err1 != nil || err2 != nil || err3 != nil {
		problem.Write(w, r, ErrUnauthorized)
		return
	}
	if body.Opening != "" {
		s, err := zk.ParseHex(body.Opening)
		if err != nil {
			problem.Write(w, r, ErrUnauthorized)
			return
		}
		if err := p.RevokeByHolder(r.Context(), HolderRevocation{Credential: cred, Signature: sig, Opening: &s}); err != nil {
			problem.Write(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
		return
	}
	dk, err := ecdh.P256().NewPublicKey(pt)
	if err != nil {
		problem.Write(w, r, ErrUnauthorized)
		return
	}
	pub, err := devicePublicKey(dk)
	if err != nil {
		problem.Write(w, r, ErrUnauthorized)
		return
	}
	if err := p.RevokeByHolder(r.Context(), HolderRevocation{Credential: cred, Signature: sig, DeviceKey: pub, Nonce: body.Nonce, Proof: proof}); err != nil {
		problem.Write(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (p *Provider) serveProviderRevocation(w http.ResponseWriter, r *http.Request) {
	// Bearer token, compared in constant time; no token configured means
	// no provider revocations over HTTP.
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if len(p.cfg.AdminToken) == 0 || !ok || subtle.ConstantTimeCompare([]byte(got), p.cfg.AdminToken) != 1 {
		problem.Write(w, r, ErrUnauthorized)
		return
	}
	var body ProviderRevocationBody
	if err := problem.Decode(w, r, problem.MaxBody, &body); err != nil {
		problem.Write(w, r, err)
		return
	}
	rn, err := zk.ParseHex(body.RevNonce)
	if err != nil {
		problem.Write(w, r, ErrSource)
		return
	}
	if err := p.Revoke(r.Context(), rn, ReasonProvider); err != nil {
		problem.Write(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (p *Provider) serveSourceRevocation(w http.ResponseWriter, r *http.Request) {
	var body SourceRevocationBody
	if err := problem.Decode(w, r, problem.MaxBody, &body); err != nil {
		problem.Write(w, r, err)
		return
	}
	if err := p.RevokeBySource(r.Context(), body.Notice); err != nil {
		problem.Write(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (p *Provider) serveEnroll(w http.ResponseWriter, r *http.Request) {
	var body EnrollBody
	if err := problem.Decode(w, r, problem.MaxBody, &body); err != nil {
		problem.Write(w, r, err)
		return
	}
	req, err := enrollRequest(&body)
	if err != nil {
		problem.Write(w, r, err)
		return
	}
	e, err := p.Enroll(r.Context(), req)
	if err != nil {
		problem.Write(w, r, err)
		return
	}
	problem.JSON(w, http.StatusCreated, e.JSON())
}

// enrollRequest decodes an enrollment body's fields.
func enrollRequest(body *EnrollBody) (EnrollRequest, error) {
	c, err := zk.ParseHex(body.Commitment)
	if err != nil {
		return EnrollRequest{}, ErrCommitment
	}
	d, err := zk.ParseHex(body.DeviceKeyHash)
	if err != nil {
		return EnrollRequest{}, ErrCommitment
	}
	if len(body.Sources) > MaxSources {
		return EnrollRequest{}, ErrSource
	}
	req := EnrollRequest{Source: body.Source, Nonce: body.Nonce, Reenroll: body.Reenroll, Attestation: body.Attestation, Commitment: c, DeviceKeyHash: d}
	for _, s := range body.Sources {
		req.Sources = append(req.Sources, SourceCredential{Format: s.Format, Credential: s.Credential})
	}
	return req, nil
}

// JSON is the enrollment on the wire.
func (e *Enrollment) JSON() EnrollmentJSON {
	return EnrollmentJSON{
		Credential:  ToJSON(&e.Credential),
		Signature:   fmt.Sprintf("%x", e.Signature),
		ProviderKey: e.ProviderKey,
		MaxGrade:    e.MaxGrade,
		ValidUntil:  e.ValidUntil,
		Replaced:    e.Replaced,
	}
}

func (p *Provider) serveRevocations(w http.ResponseWriter, r *http.Request) {
	since := 0
	if q := r.URL.Query().Get("since"); q != "" {
		n, err := strconv.Atoi(q)
		if err != nil || len(q) > 12 {
			problem.Write(w, r, ErrSince)
			return
		}
		since = n
	}
	limit := -1
	if q := r.URL.Query().Get("limit"); q != "" {
		n, err := strconv.Atoi(q)
		if err != nil || len(q) > 12 || n < 1 {
			problem.Write(w, r, ErrLimit)
			return
		}
		limit = n
	}
	// A page: Size and Root stay the whole tree's, so the wallet knows
	// there is more and what the last page must lead to.
	u, err := p.RevocationsPage(since, limit)
	if err != nil {
		problem.Write(w, r, err)
		return
	}
	out := SnapshotJSON{Root: zk.Hex(u.Root), Since: u.Since, Size: u.Size, Entries: make([]string, 0, len(u.Entries))}
	for _, e := range u.Entries {
		out.Entries = append(out.Entries, zk.Hex(e))
	}
	if out.SignedRoot, err = p.SignedRoot(); err != nil {
		problem.Write(w, r, err)
		return
	}
	// Public data, the same for every wallet: cacheable, unlike the rest.
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=60")
	_ = json.NewEncoder(w).Encode(out)
}

// devicePublicKey turns a validated P-256 point into an ECDSA key.
func devicePublicKey(k *ecdh.PublicKey) (*ecdsa.PublicKey, error) {
	b := k.Bytes() // 0x04 || X || Y, on the curve
	if len(b) != 65 {
		return nil, ErrUnauthorized
	}
	return &ecdsa.PublicKey{Curve: elliptic.P256(), X: new(big.Int).SetBytes(b[1:33]), Y: new(big.Int).SetBytes(b[33:])}, nil
}
