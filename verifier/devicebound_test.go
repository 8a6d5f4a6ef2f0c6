package verifier

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/circuits/persona"
	"github.com/mustard-id/mustard/internal/problem"
	"github.com/mustard-id/mustard/internal/sdjwt"
	"github.com/mustard-id/mustard/internal/store/sqlite"
	"github.com/mustard-id/mustard/zk"
)

const (
	tDeviceBoundVK = "sha256:devicebound"
	tPersonaVK     = "sha256:persona"
)

// deviceBoundWorld is an accredited issuer and a holder; presentation
// issues a persona credential naming vk as its persona_proof_vk (none
// when empty) and presents it for nonce.
type deviceBoundWorld struct {
	issuerKey, holder jwk.Key
	now               time.Time
}

func (w *deviceBoundWorld) presentation(t *testing.T, vk, nonce string) string {
	return w.presentationFor(t, vk, tRP, nonce)
}

// presentationFor is presentation for another audience.
func (w *deviceBoundWorld) presentationFor(t *testing.T, vk, aud, nonce string) string {
	pub, err := w.holder.PublicKey()
	require.NoError(t, err)
	claims := map[string]any{"scope": tScope, "pseudonym": "0x01", "grade": "high"}
	if vk != "" {
		claims["persona_proof_vk"] = vk
	}
	cred, err := sdjwt.Issue(sdjwt.IssueRequest{
		Issuer: tIssuer, VCT: VCT, IssuedAt: w.now.Add(-time.Minute), Expiry: w.now.Add(time.Hour),
		Claims: claims, HolderKey: pub,
	}, w.issuerKey)
	require.NoError(t, err)
	tok, err := sdjwt.Parse(cred)
	require.NoError(t, err)
	pres, err := tok.Present(sdjwt.PresentRequest{Audience: aud, Nonce: nonce, IssuedAt: w.now}, w.holder)
	require.NoError(t, err)
	return pres
}

// Under a device-bound policy the verifier accepts a credential whose
// persona_proof_vk is the device-bound circuit's key it trusts, and
// refuses with not-device-bound one of the persona circuit, one naming no
// key, any credential when it trusts no device-bound key, and every
// self-issued proof. Without the requirement all are accepted as before.
func TestPolicyDeviceBound(t *testing.T) {
	t.Parallel()
	w := &deviceBoundWorld{issuerKey: key(t), holder: key(t), now: time.Now().Truncate(time.Second)}
	issuers := sdjwt.StaticKeys(tIssuer, pubSet(t, w.issuerKey))
	now := func() time.Time { return w.now }
	root := func() fr.Element { return fr.Element{} }
	v, err := New(Config{Issuers: issuers, Now: now, ZK: &zk.Keys{VKID: tPersonaVK}, RegistryRoot: root, RevocationRoot: root,
		DeviceBoundZK: &zk.Keys{VKID: tDeviceBoundVK}})
	require.NoError(t, err)
	plain, err := New(Config{Issuers: issuers, Now: now})
	require.NoError(t, err)
	ctx := context.Background()
	pol := Policy{Audience: tRP, Nonce: "n", Scope: tScope, DeviceBound: true}

	verdict, err := v.Verify(ctx, w.presentation(t, tDeviceBoundVK, "n"), pol)
	require.NoError(t, err)
	require.Equal(t, tDeviceBoundVK, verdict.Claims["persona_proof_vk"])
	for _, vk := range []string{tPersonaVK, "", tDeviceBoundVK + "x"} {
		_, err := v.Verify(ctx, w.presentation(t, vk, "n"), pol)
		require.ErrorIs(t, err, ErrNotDeviceBound, "persona_proof_vk %q", vk)
		require.True(t, IsPolicyError(err))
		_, err = v.Verify(ctx, w.presentation(t, vk, "n"), Policy{Audience: tRP, Nonce: "n", Scope: tScope})
		require.NoError(t, err, "no requirement, persona_proof_vk %q", vk)
	}
	_, err = plain.Verify(ctx, w.presentation(t, tDeviceBoundVK, "n"), pol)
	require.ErrorIs(t, err, ErrNotDeviceBound, "a verifier that trusts no device-bound key accepts none")

	// The requirement is checked after authenticity: a forged credential
	// is still refused for what it is.
	forged := w.presentation(t, tDeviceBoundVK, "n")
	forged = forged[:10] + "A" + forged[11:]
	_, err = v.Verify(ctx, forged, pol)
	require.Error(t, err)
	require.NotErrorIs(t, err, ErrNotDeviceBound)

	_, err = v.VerifyProof(ctx, &persona.ProofJSON{}, Holder{}, pol)
	require.ErrorIs(t, err, ErrNotDeviceBound, "a self-issued proof is never device-bound")
	_, err = v.VerifyProof(ctx, &persona.ProofJSON{}, Holder{}, Policy{Audience: tRP, Nonce: "n", Scope: tScope})
	require.ErrorIs(t, err, ErrMalformed, "without the requirement the proof is checked as before")
}

// The HTTP API carries device_bound into the request document and into
// the policy of POST /v1/presentations/verify, whose refusal is a problem
// of type not-device-bound that does not burn the nonce.
func TestDeviceBoundHTTP(t *testing.T) {
	t.Parallel()
	w := &deviceBoundWorld{issuerKey: key(t), holder: key(t), now: time.Now().Truncate(time.Second)}
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "m.db"))
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	v, err := New(Config{Issuers: sdjwt.StaticKeys(tIssuer, pubSet(t, w.issuerKey)), Now: func() time.Time { return w.now },
		DeviceBoundZK: &zk.Keys{VKID: tDeviceBoundVK}})
	require.NoError(t, err)
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) { h.ServeHTTP(rw, r) }))
	t.Cleanup(srv.Close)
	h = (&API{V: v, Store: st, BaseURL: srv.URL, IsNonceUsed: func(err error) bool { return errors.Is(err, sqlite.ErrUsed) },
		IsNotFound: func(err error) bool { return errors.Is(err, sqlite.ErrNotFound) }}).Handler()
	post := func(path string, body any) (int, []byte) {
		b, _ := json.Marshal(body)
		resp, err := http.Post(srv.URL+path, "application/json", bytes.NewReader(b))
		require.NoError(t, err)
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, out
	}

	code, b := post("/v1/presentation-requests", RequestJSON{Audience: tRP, Scope: tScope, ResponseURI: "https://shop.example/present", DeviceBound: true})
	require.Equal(t, http.StatusCreated, code, string(b))
	var req PresentationRequestJSON
	require.NoError(t, json.Unmarshal(b, &req))
	require.True(t, req.Request.DeviceBound)
	resp, err := http.Get(req.RequestURI)
	require.NoError(t, err)
	doc, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	parsed, err := ParseRequest(doc)
	require.NoError(t, err)
	require.True(t, parsed.DeviceBound, "the wallet reads device_bound from the document")

	body := VerifyJSON{Presentation: w.presentation(t, tPersonaVK, req.Nonce), Audience: tRP, Scope: tScope, Nonce: req.Nonce, DeviceBound: true}
	code, b = post("/v1/presentations/verify", body)
	require.Equal(t, http.StatusForbidden, code, string(b))
	var pb problem.Body
	require.NoError(t, json.Unmarshal(b, &pb))
	require.Equal(t, ErrNotDeviceBound.Type(), pb.Type)

	body.Presentation = w.presentation(t, tDeviceBoundVK, req.Nonce)
	code, b = post("/v1/presentations/verify", body)
	require.Equal(t, http.StatusOK, code, string(b))
	var verdict VerdictJSON
	require.NoError(t, json.Unmarshal(b, &verdict))
	require.True(t, verdict.Valid)
}

// The OpenID4VP Request Object's mustard parameter carries device_bound
// to the wallet's presentation request.
func TestOID4VPDeviceBound(t *testing.T) {
	a := AuthorizationRequest{ClientID: "redirect_uri:https://shop.example/cb", Nonce: "n", Mustard: &MustardRequest{Scope: tScope, DeviceBound: true}}
	b, err := json.Marshal(a)
	require.NoError(t, err)
	require.Contains(t, string(b), `"device_bound":true`)
	var back AuthorizationRequest
	require.NoError(t, json.Unmarshal(b, &back))
	require.True(t, back.PresentationRequest().DeviceBound)
	a.Mustard.DeviceBound = false
	b, _ = json.Marshal(a)
	require.NotContains(t, string(b), "device_bound", "omitted when not asked")
}

// An OpenID4VP transaction created with device_bound puts it in the
// Request Object's mustard parameter, and its response endpoint refuses a
// vp_token of an ordinary persona with not-device-bound (the transaction
// stays open) and accepts a device-bound one.
func TestOID4VPDeviceBoundHTTP(t *testing.T) {
	t.Parallel()
	w := &deviceBoundWorld{issuerKey: key(t), holder: key(t), now: time.Now().Truncate(time.Second)}
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "m.db"))
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	v, err := New(Config{Issuers: sdjwt.StaticKeys(tIssuer, pubSet(t, w.issuerKey)), Now: func() time.Time { return w.now },
		DeviceBoundZK: &zk.Keys{VKID: tDeviceBoundVK}})
	require.NoError(t, err)
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) { h.ServeHTTP(rw, r) }))
	t.Cleanup(srv.Close)
	h = (&API{V: v, Store: st, BaseURL: srv.URL, IsNonceUsed: func(err error) bool { return errors.Is(err, sqlite.ErrUsed) },
		IsNotFound: func(err error) bool { return errors.Is(err, sqlite.ErrNotFound) }, OID4VP: &OID4VPClient{Name: "Bank"}}).Handler()

	b, _ := json.Marshal(OID4VPRequestJSON{Scope: tScope, DeviceBound: true})
	resp, err := http.Post(srv.URL+"/v1/oid4vp/requests", "application/json", bytes.NewReader(b))
	require.NoError(t, err)
	var tx OID4VPTransactionJSON
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&tx))
	resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	link, err := ParseAuthorizationLink(tx.AuthorizationRequest)
	require.NoError(t, err)
	resp, err = http.Get(link.RequestURI)
	require.NoError(t, err)
	obj, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	a, err := ParseRequestObject(context.Background(), string(obj), link.ClientID, nil, time.Now())
	require.NoError(t, err)
	require.True(t, a.Mustard.DeviceBound)
	require.True(t, a.PresentationRequest().DeviceBound)

	answer := func(vk string) (int, []byte) {
		vp, _ := json.Marshal(map[string][]string{a.DCQLQuery.Credentials[0].ID: {w.presentationFor(t, vk, a.ClientID, a.Nonce)}})
		resp, err := http.Post(a.ResponseURI, "application/x-www-form-urlencoded",
			strings.NewReader(url.Values{"vp_token": {string(vp)}, "state": {a.State}}.Encode()))
		require.NoError(t, err)
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, out
	}
	code, out := answer(tPersonaVK)
	require.Equal(t, http.StatusForbidden, code, string(out))
	var pb problem.Body
	require.NoError(t, json.Unmarshal(out, &pb))
	require.Equal(t, ErrNotDeviceBound.Type(), pb.Type)
	code, out = answer(tDeviceBoundVK)
	require.Equal(t, http.StatusOK, code, string(out))
}
