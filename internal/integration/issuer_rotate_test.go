package integration

import (
	"bytes"
	"context"
	"crypto"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/coreid"
	"github.com/mustard-id/mustard/internal/cli"
	"github.com/mustard-id/mustard/internal/dataintegrity"
	"github.com/mustard-id/mustard/internal/keystore"
	"github.com/mustard-id/mustard/internal/sdjwt"
	"github.com/mustard-id/mustard/internal/server"
	"github.com/mustard-id/mustard/issuer"
	wallet "github.com/mustard-id/mustard/persona"
	"github.com/mustard-id/mustard/verifier"
	"github.com/mustard-id/mustard/zk"
)

// rotClock is a settable clock for the rotation test's server.
type rotClock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *rotClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return time.Now().Add(c.off) }
func (c *rotClock) Add(d time.Duration) {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
}

// rotServer is a server at an https public URL (did:web identity).
type rotServer struct {
	srv  *server.Server
	ts   *httptest.Server
	opts server.Options
}

func (r *rotServer) client() *wallet.Client {
	return &wallet.Client{BaseURL: r.ts.URL, HTTP: r.ts.Client()}
}

// issue enrolls a fresh subject at r and has a persona credential issued
// in format over a real proof.
func (r *rotServer) issue(t *testing.T, scope, format string) (*issuer.IssuedJSON, *wallet.Wallet) {
	t.Helper()
	ctx := context.Background()
	c := r.client()
	gov, err := c.Governance(ctx)
	require.NoError(t, err)
	fw, err := c.Framework(ctx, gov)
	require.NoError(t, err)
	pin := []byte("4711")
	w, err := wallet.Create(keystore.NewSoftware(), pin)
	require.NoError(t, err)
	now := time.Now()
	src, err := coreid.SignJWTVC(r.srv.SampleSource, server.SampleSourceID, "did:example:holder", []string{"PersonIdentificationData"},
		map[string]any{"personal_number": fmt.Sprintf("pn-%d", rand.Int64()), "birthdate": "2001-02-03"}, now, now.Add(time.Hour))
	require.NoError(t, err)
	comm, err := w.Commitment(pin)
	require.NoError(t, err)
	e, err := c.Enroll(ctx, coreid.EnrollBody{Source: src, Commitment: zk.Hex(comm), DeviceKeyHash: zk.Hex(w.DeviceKeyHash())})
	require.NoError(t, err)
	require.NoError(t, w.Accept(pin, fw, e))
	nonce, err := c.Nonce(ctx, scope)
	require.NoError(t, err)
	snap, err := c.Revocations(ctx)
	require.NoError(t, err)
	key, err := wallet.NewPersonaKey()
	require.NoError(t, err)
	proof, err := w.Derive(ctx, r.srv.Keys, pin, fw, snap, key, wallet.Query{Scope: scope, Nonce: nonce, MinGrade: zk.GradeSubstantial, Now: time.Now()})
	require.NoError(t, err)
	pub, err := key.PublicKey()
	require.NoError(t, err)
	pop, err := issuer.SignPossession(key, r.srv.Issuer.ID(), nonce)
	require.NoError(t, err)
	var out issuer.IssuedJSON
	require.NoError(t, c.Post(ctx, "/v1/persona", issuer.RequestJSON{Proof: *proof, HolderJWK: mustJSON(pub), PoP: pop, Format: format}, &out))
	rotKeys.Store(out.Credential, key)
	return &out, w
}

var rotKeys sync.Map // credential → persona key

// kidOf is the kid a credential's JWS names.
func kidOf(t *testing.T, cred string) string {
	msg, err := jws.Parse([]byte(strings.SplitN(cred, "~", 2)[0]))
	require.NoError(t, err)
	return msg.Signatures()[0].ProtectedHeaders().KeyID()
}

// didKids lists the verification methods' kids of the served DID
// document, and of the JWKS.
func (r *rotServer) didKids(t *testing.T) (did, jwks []string) {
	t.Helper()
	var raw struct {
		VerificationMethod []struct{ ID string } `json:"verificationMethod"`
	}
	require.NoError(t, r.client().Get(context.Background(), "/.well-known/did.json", &raw))
	for _, vm := range raw.VerificationMethod {
		_, kid, _ := strings.Cut(vm.ID, "#")
		did = append(did, kid)
	}
	var set struct{ Keys []struct{ Kid, D string } }
	require.NoError(t, r.client().Get(context.Background(), "/.well-known/jwks.json", &set))
	for _, k := range set.Keys {
		require.Empty(t, k.D, "a private key is published")
		jwks = append(jwks, k.Kid)
	}
	return did, jwks
}

// rpLibrary is a relying party's own verifier: the issuer's keys from
// its DID document over TLS (did:web), status lists over TLS, a fresh
// cache.
func (r *rotServer) rpLibrary(t *testing.T, now func() time.Time) *verifier.Verifier {
	// did:web resolution uses http for a loopback host; this issuer is
	// the https test server, so the relying party's client asks it over
	// TLS (as it would any public did:web host).
	tls := r.ts.Client()
	keys, err := verifier.DIDWebKeys(verifier.DIDWebConfig{
		Accredited: func(id string) bool { return id == r.srv.Issuer.ID() },
		HTTPClient: &http.Client{Transport: upgradeTLS{tls.Transport}}, Now: now,
	})
	require.NoError(t, err)
	v, err := verifier.New(verifier.Config{Issuers: keys, HTTPClient: r.ts.Client(), Now: now})
	require.NoError(t, err)
	return v
}

// upgradeTLS sends plain-http requests over https.
type upgradeTLS struct{ rt http.RoundTripper }

func (u upgradeTLS) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "http" {
		req = req.Clone(req.Context())
		req.URL.Scheme = "https"
	}
	return u.rt.RoundTrip(req)
}

func presentSDJWT(t *testing.T, cred, aud, nonce string, at time.Time) string {
	t.Helper()
	k, ok := rotKeys.Load(cred)
	require.True(t, ok)
	tok, err := sdjwt.Parse(cred)
	require.NoError(t, err)
	vp, err := tok.Present(sdjwt.PresentRequest{Audience: aud, Nonce: nonce, IssuedAt: at}, k.(jwk.Key))
	require.NoError(t, err)
	return vp
}

// verifyAPI verifies cred through the server's verification API: a
// nonce from it, a presentation for it.
func (r *rotServer) verifyAPI(t *testing.T, cred, scope string, at time.Time) error {
	t.Helper()
	ctx := context.Background()
	const aud = "https://rp.example"
	var req verifier.PresentationRequestJSON
	require.NoError(t, r.client().Post(ctx, "/v1/presentation-requests", verifier.RequestJSON{Audience: aud}, &req))
	var out verifier.VerdictJSON
	return r.client().Post(ctx, "/v1/presentations/verify", verifier.VerifyJSON{Presentation: presentSDJWT(t, cred, aud, req.Nonce, at), Audience: aud, Scope: scope, Nonce: req.Nonce}, &out)
}

// verifyLDPAPI verifies an ldp_vc credential through the server's
// verification API, presented in a VerifiablePresentation signed by its
// persona key over the API's nonce and the audience.
func (r *rotServer) verifyLDPAPI(t *testing.T, cred, scope string, at time.Time) error {
	t.Helper()
	ctx := context.Background()
	const aud = "https://rp.example"
	var req verifier.PresentationRequestJSON
	require.NoError(t, r.client().Post(ctx, "/v1/presentation-requests", verifier.RequestJSON{Audience: aud}, &req))
	k, ok := rotKeys.Load(cred)
	require.True(t, ok)
	var raw any
	require.NoError(t, k.(jwk.Key).Raw(&raw))
	var vc map[string]any
	require.NoError(t, json.Unmarshal([]byte(cred), &vc))
	holder := vc["credentialSubject"].(map[string]any)["id"].(string)
	loader, err := dataintegrity.NewLoader(nil)
	require.NoError(t, err)
	vp, err := dataintegrity.Present([]map[string]any{vc}, holder, raw.(crypto.Signer), holder+"#0", req.Nonce, aud, loader, at)
	require.NoError(t, err)
	var out verifier.VerdictJSON
	return r.client().Post(ctx, "/v1/presentations/verify", verifier.VerifyJSON{Presentation: string(mustJSON(vp)), Audience: aud, Scope: scope, Nonce: req.Nonce}, &out)
}

// verifyLibrary verifies cred with a relying party's own verifier.
func (r *rotServer) verifyLibrary(t *testing.T, cred, scope string, now func() time.Time) error {
	t.Helper()
	const aud = "https://rp.example"
	_, err := r.rpLibrary(t, now).Verify(context.Background(), presentSDJWT(t, cred, aud, "n-1", now()), verifier.Policy{Audience: aud, Nonce: "n-1", Scope: scope})
	return err
}

// The served issuer at an https public URL is its did:web and rotates:
// `issuer rotate-key` on the running server puts a new key in service
// (new credentials carry its kid) while credentials issued before keep
// verifying, with a relying party's verifier library (keys from the DID
// document over TLS) and through the verification API, status lists
// included; the retired key leaves the DID document and the JWKS once
// its credentials have expired; a rotation on a stopped server is in
// service at its start, with the retired keys persisted.
func TestIssuerKeyRotation(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	require.NoError(t, os.CopyFS(filepath.Join(dir, "zk"), os.DirFS(filepath.Join(env.dir, "zk"))))
	clock := &rotClock{}
	var h http.Handler = http.NotFoundHandler()
	var hmu sync.RWMutex
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		hmu.RLock()
		hh := h
		hmu.RUnlock()
		hh.ServeHTTP(w, req)
	}))
	ts.StartTLS()
	t.Cleanup(ts.Close)
	r := &rotServer{ts: ts, opts: server.Options{DataDir: dir, Passphrase: "rotation", PublicURL: ts.URL, AdminToken: adminToken, Now: clock.Now, HTTPClient: ts.Client()}}
	open := func() {
		srv, err := server.Open(ctx, r.opts)
		require.NoError(t, err)
		r.srv = srv
		hmu.Lock()
		h = srv.Handler()
		hmu.Unlock()
	}
	open()
	did, err := issuer.DIDWeb(ts.URL)
	require.NoError(t, err)
	require.Equal(t, did, r.srv.Issuer.ID(), "an https public URL names the issuer by did:web")
	iss, err := r.srv.Framework.Issuer(did)
	require.NoError(t, err)
	require.Empty(t, iss.JWKS, "the framework pins the did:web, not its keys")

	const scope = "rotation.example"
	a, _ := r.issue(t, scope, "")
	kidA := kidOf(t, a.Credential)
	require.NoError(t, r.verifyLibrary(t, a.Credential, scope, clock.Now))
	require.NoError(t, r.verifyAPI(t, a.Credential, scope, clock.Now()))
	// The same in the W3C JSON-LD form: a Data Integrity proof under the
	// did:web's key.
	l, _ := r.issue(t, scope, issuer.FormatLDPVC)
	require.NoError(t, r.verifyLDPAPI(t, l.Credential, scope, clock.Now()))

	// Rotate while serving; the server notices within issuerKeysCheck.
	kidB, err := server.RotateIssuerKey(ctx, r.opts)
	require.NoError(t, err)
	require.NotEqual(t, kidA, kidB)
	clock.Add(11 * time.Second)
	dk, jk := r.didKids(t)
	require.Equal(t, []string{kidB, kidA}, dk, "the DID document lists the new key first, the retired one still")
	require.Equal(t, []string{kidB, kidA}, jk)
	b, _ := r.issue(t, scope, "")
	require.Equal(t, kidB, kidOf(t, b.Credential), "new credentials carry the new kid")
	require.Equal(t, kidB, r.srv.Issuer.CurrentKeyID())

	// The old credential still verifies, and so does the new one; status
	// lists (now signed by the new key) too: suspend a and see it.
	for _, c := range []string{a.Credential, b.Credential} {
		require.NoError(t, r.verifyLibrary(t, c, scope, clock.Now))
		require.NoError(t, r.verifyAPI(t, c, scope, clock.Now()))
	}
	require.NoError(t, r.verifyLDPAPI(t, l.Credential, scope, clock.Now()), "a JSON-LD credential signed before the rotation")
	var st issuer.StatusJSON
	req, err := http.NewRequest("POST", fmt.Sprintf("%s/v1/admin/credentials/%d/status", ts.URL, a.StatusIndex), strings.NewReader(`{"status":"suspended"}`))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := ts.Client().Do(req)
	require.NoError(t, err)
	_ = json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.ErrorIs(t, r.verifyLibrary(t, a.Credential, scope, clock.Now), verifier.ErrSuspended)
	require.NoError(t, r.verifyLibrary(t, b.Credential, scope, clock.Now))

	// Two days later, a rotation on the stopped server: in service at
	// its start, the retired keys persisted with their expiry.
	clock.Add(48 * time.Hour)
	require.NoError(t, r.srv.Close())
	kidC, err := server.RotateIssuerKey(ctx, r.opts)
	require.NoError(t, err)
	open()
	defer r.srv.Close()
	require.Equal(t, kidC, r.srv.Issuer.CurrentKeyID())
	dk, _ = r.didKids(t)
	require.Equal(t, []string{kidC, kidB, kidA}, dk)
	require.NoError(t, r.verifyAPI(t, b.Credential, scope, clock.Now()))

	// Past a's key's retirement plus the credential lifetime the key is
	// gone (every credential it signed has expired); b's key, retired
	// later, is still published until its own end.
	clock.Add(issuer.DefaultCredentialTTL - 47*time.Hour)
	dk, jk = r.didKids(t)
	require.Equal(t, []string{kidC, kidB}, dk)
	require.Equal(t, []string{kidC, kidB}, jk)
	clock.Add(48 * time.Hour)
	dk, _ = r.didKids(t)
	require.Equal(t, []string{kidC}, dk)

	// A server whose framework names the issuer by did:jwk refuses to
	// rotate: the new key would be another, unaccredited issuer.
	// (`mustard issuer rotate-key`, in-process.)
	var stdout, stderr bytes.Buffer
	t.Setenv("MUSTARD_PASSPHRASE", "integration-test")
	code := cli.Main(ctx, []string{"issuer", "rotate-key", "--data", env.dir}, &stdout, &stderr)
	require.NotEqual(t, 0, code)
	require.Contains(t, stderr.String(), "did:jwk")
	before, err := env.srv.Issuer.PublicKeys()
	require.NoError(t, err)
	require.Equal(t, 1, before.Len(), "a refused rotation changed nothing")
	t.Setenv("MUSTARD_PASSPHRASE", "rotation")
	code = cli.Main(ctx, []string{"issuer", "rotate-key", "--data", dir}, &stdout, &stderr)
	require.Equal(t, 0, code, stderr.String())
	require.Contains(t, stdout.String(), "new issuer key")
	require.NoError(t, r.srv.ReloadIssuerKeys(ctx))
	require.NotEqual(t, kidC, r.srv.Issuer.CurrentKeyID())
}
