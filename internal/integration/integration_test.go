// Package integration drives Mustard black-box: a real server on a
// loopback port, real HTTP clients, the real TPM simulator, real proofs.
package integration

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/circuits/persona"
	"github.com/mustard-id/mustard/coreid"
	"github.com/mustard-id/mustard/internal/cli"
	"github.com/mustard-id/mustard/internal/keystore"
	"github.com/mustard-id/mustard/internal/problem"
	"github.com/mustard-id/mustard/internal/sdjwt"
	"github.com/mustard-id/mustard/internal/server"
	"github.com/mustard-id/mustard/internal/trust"
	wallet "github.com/mustard-id/mustard/persona"
	"github.com/mustard-id/mustard/verifier"
	"github.com/mustard-id/mustard/zk"
)

// env is one server for the whole package: the Groth16 setup runs once.
var env struct {
	dir  string
	srv  *server.Server
	base string
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "mustard-it-")
	if err != nil {
		panic(err)
	}
	code := func() int {
		env.dir = dir
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		env.srv, err = server.Open(context.Background(), server.Options{DataDir: dir, Passphrase: "integration-test", PublicURL: "http://" + ln.Addr().String(), AdminToken: adminToken})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer env.srv.Close()
		hs := &http.Server{Handler: env.srv.Handler()}
		go hs.Serve(ln)
		defer hs.Close()
		env.base = "http://" + ln.Addr().String()
		return m.Run()
	}()
	os.RemoveAll(dir)
	os.Exit(code)
}

func client() *wallet.Client {
	return &wallet.Client{BaseURL: env.base, HTTP: &http.Client{Timeout: time.Minute}}
}

// TestStory walks the demo's story over HTTP.
func TestStory(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, cli.Story(context.Background(), &out, env.base, env.srv), out.String())
	require.Contains(t, out.String(), "invalid-proof")
}

// TestDemoCommand runs `mustard demo` in-process on the package's data
// directory (its keys are already there, so no second setup).
func TestDemoCommand(t *testing.T) {
	var stdout, stderr bytes.Buffer
	t.Setenv("MUSTARD_PASSPHRASE", "integration-test")
	code := cli.Main(context.Background(), []string{"demo", "--data", env.dir}, &stdout, &stderr)
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	require.Contains(t, stdout.String(), "Every step held.")
}

func TestCLIBadFlag(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := cli.Main(context.Background(), []string{"serve", "--no-such-flag"}, &stdout, &stderr)
	require.NotEqual(t, 0, code)
	require.Equal(t, 1, strings.Count(strings.TrimSpace(stderr.String()), "\n")+1, "one line: %q", stderr.String())
}

// enrolled returns a wallet (software keystore: the simulator is the
// story's) enrolled with a fresh subject born 2001-02-03.
func enrolled(t *testing.T) (*wallet.Wallet, []byte, *trust.Document) {
	return enrolledWith(t, map[string]any{"birthdate": "2001-02-03", "nationality": "DE"})
}

// enrolledWith enrolls a fresh subject whose source credential carries claims.
func enrolledWith(t *testing.T, claims map[string]any) (*wallet.Wallet, []byte, *trust.Document) {
	t.Helper()
	ctx := context.Background()
	c := client()
	gov, err := c.Governance(ctx)
	require.NoError(t, err)
	fw, err := c.Framework(ctx, gov)
	require.NoError(t, err)
	pin := []byte("4711")
	w, err := wallet.Create(keystore.NewSoftware(), pin)
	require.NoError(t, err)
	now := time.Now()
	claims["personal_number"] = fmt.Sprintf("pn-%d", rand.Int64())
	src, err := coreid.SignJWTVC(env.srv.SampleSource, server.SampleSourceID, "did:example:holder", []string{"PersonIdentificationData"}, claims, now, now.Add(time.Hour))
	require.NoError(t, err)
	comm, err := w.Commitment(pin)
	require.NoError(t, err)
	e, err := c.Enroll(ctx, coreid.EnrollBody{Source: src, Commitment: zk.Hex(comm), DeviceKeyHash: zk.Hex(w.DeviceKeyHash())})
	require.NoError(t, err)
	require.NoError(t, w.Accept(pin, fw, e))
	return w, pin, fw
}

func sourceCredential(t *testing.T, sub string) string {
	now := time.Now()
	src, err := coreid.SignJWTVC(env.srv.SampleSource, server.SampleSourceID, "did:example:holder", []string{"PersonIdentificationData"},
		map[string]any{"personal_number": sub, "birthdate": "2001-02-03", "nationality": "DE"}, now, now.Add(time.Hour))
	require.NoError(t, err)
	return src
}

// post sends raw bytes and returns the status and body.
func post(t *testing.T, path, contentType string, body []byte) (int, http.Header, []byte) {
	t.Helper()
	resp, err := http.Post(env.base+path, contentType, bytes.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header, b
}

func counts(t *testing.T) map[string]int {
	c, err := env.srv.Store.Counts(context.Background())
	require.NoError(t, err)
	return c
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// TestBadInput sends each kind of bad input and checks that it is answered
// with problem+json carrying its own type, and that the store is unchanged.
func TestBadInput(t *testing.T) {
	ctx := context.Background()
	w, pin, fw := enrolled(t)
	c := client()

	// A valid proof for shop.example, with its nonce still unused.
	nonce, err := c.Nonce(ctx, "shop.example")
	require.NoError(t, err)
	snap, err := c.Revocations(ctx)
	require.NoError(t, err)
	key, err := wallet.NewPersonaKey()
	require.NoError(t, err)
	proof, err := w.Derive(ctx, env.srv.Keys, pin, fw, snap, key, wallet.Query{Scope: "shop.example", Nonce: nonce, MinGrade: zk.GradeSubstantial, Predicates: []string{"age>=18"}, Now: time.Now()})
	require.NoError(t, err)
	personaRequest := func(p *persona.ProofJSON) []byte {
		pub, _ := key.PublicKey()
		pop, err := issuerPoP(key, p.Public.Nonce)
		require.NoError(t, err)
		return mustJSON(map[string]any{"proof": p, "holder_jwk": pub, "pop": pop})
	}

	// A source credential from an issuer the framework does not list, and
	// one whose payload was altered after signing.
	stranger, err := wallet.NewPersonaKey()
	require.NoError(t, err)
	now := time.Now()
	unknownSrc, err := coreid.SignJWTVC(stranger, "https://forger.example", "x", []string{"PersonIdentificationData"}, map[string]any{"birthdate": "1970-01-01"}, now, now.Add(time.Hour))
	require.NoError(t, err)
	good := sourceCredential(t, fmt.Sprintf("sub-%d", rand.Int64()))
	parts := strings.Split(good, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	parts[1] = base64.RawURLEncoding.EncodeToString(bytes.Replace(payload, []byte("2001-02-03"), []byte("1901-02-03"), 1))
	tamperedSrc := strings.Join(parts, ".")
	comm, err := w.Commitment(pin)
	require.NoError(t, err)
	enroll := func(src string) []byte {
		return mustJSON(coreid.EnrollBody{Source: src, Commitment: zk.Hex(comm), DeviceKeyHash: zk.Hex(zk.Int64(0))})
	}

	otherScope := *proof
	otherScope.Public.Scope = "forum.example"
	altered := *proof
	altered.Public.MinGrade = zk.GradeLow

	cases := []struct {
		name, path string
		body       []byte
		status     int
		typ        string
	}{
		{"source from an issuer not in the framework", "/v1/enroll", enroll(unknownSrc), 403, "unknown-source-issuer"},
		{"source with a tampered signature", "/v1/enroll", enroll(tamperedSrc), 401, "invalid-source-signature"},
		{"proof for another scope", "/v1/persona", personaRequest(&otherScope), 400, "scope-mismatch"},
		{"proof with altered public inputs", "/v1/persona", personaRequest(&altered), 400, "invalid-proof"},
		{"malformed body", "/v1/enroll", []byte(`{"source": `), 400, "malformed-request"},
		{"unknown field", "/v1/persona", []byte(`{"proof": {}, "extra": 1}`), 400, "malformed-request"},
		{"oversized body", "/v1/enroll", mustJSON(coreid.EnrollBody{Source: strings.Repeat("a", problem.MaxBody)}), 413, "request-too-large"},
		{"oversized persona request", "/v1/persona", bytes.Repeat([]byte(" "), 100<<10), 413, "request-too-large"},
	}
	seen := map[string]bool{}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := counts(t)
			status, hdr, body := post(t, tc.path, "application/json", tc.body)
			require.Equal(t, tc.status, status, string(body))
			require.Equal(t, problem.MediaType, hdr.Get("Content-Type"))
			var pb problem.Body
			require.NoError(t, json.Unmarshal(body, &pb))
			require.Equal(t, problem.TypePrefix+tc.typ, pb.Type)
			require.Equal(t, before, counts(t), "the store changed")
			seen[pb.Type] = true
		})
	}

	// The genuine request succeeds once; its replay is refused and changes nothing.
	status, _, body := post(t, "/v1/persona", "application/json", personaRequest(proof))
	require.Equal(t, http.StatusCreated, status, string(body))
	before := counts(t)
	status, hdr, body := post(t, "/v1/persona", "application/json", personaRequest(proof))
	require.Equal(t, http.StatusBadRequest, status)
	require.Equal(t, problem.MediaType, hdr.Get("Content-Type"))
	var pb problem.Body
	require.NoError(t, json.Unmarshal(body, &pb))
	require.Equal(t, problem.TypePrefix+"invalid-nonce", pb.Type)
	require.Equal(t, before, counts(t))
	seen[pb.Type] = true
	require.GreaterOrEqual(t, len(seen), 6, "each kind of bad input has its own type")
}

// An attribute the source did not provide is Absent, not zero: a wallet
// whose source had no birth date cannot prove any age (zero would read as
// 1970-01-01).
func TestAbsentAttributeProvesNothing(t *testing.T) {
	ctx := context.Background()
	c := client()
	now := time.Now()
	w, pin, fw := enrolledWith(t, map[string]any{"nationality": "FR"})
	snap, err := c.Revocations(ctx)
	require.NoError(t, err)
	key, err := wallet.NewPersonaKey()
	require.NoError(t, err)
	for _, q := range []string{"age>=0", "age>=18", "birth_date>=1900-01-01"} {
		pub, priv, err := w.Statement(pin, fw, snap.Entries, snap.Root, key, wallet.Query{Scope: "s", Nonce: "n", MinGrade: zk.GradeLow, Predicates: []string{q}, Now: now})
		require.NoError(t, err)
		require.ErrorIs(t, persona.Check(pub, priv), persona.ErrStatement, q)
	}
	_, _, err = w.Statement(pin, fw, snap.Entries, snap.Root, key, wallet.Query{Scope: "s", Nonce: "n", MinGrade: zk.GradeLow, Disclose: []string{"birth_date"}, Now: now})
	require.ErrorIs(t, err, wallet.ErrPredicate)
	pub, priv, err := w.Statement(pin, fw, snap.Entries, snap.Root, key, wallet.Query{Scope: "s", Nonce: "n", MinGrade: zk.GradeLow, Predicates: []string{"nationality=FR"}, Now: now})
	require.NoError(t, err)
	require.NoError(t, persona.Check(pub, priv))
}

// The verification API refuses a persona for another scope (one person
// could otherwise appear as many) and a nonce issued for another audience.
func TestVerifierScopeAndAudience(t *testing.T) {
	ctx := context.Background()
	w, pin, fw := enrolled(t)
	c := client()
	nonce, err := c.Nonce(ctx, "other.example")
	require.NoError(t, err)
	snap, err := c.Revocations(ctx)
	require.NoError(t, err)
	key, err := wallet.NewPersonaKey()
	require.NoError(t, err)
	proof, err := w.Derive(ctx, env.srv.Keys, pin, fw, snap, key, wallet.Query{Scope: "other.example", Nonce: nonce, MinGrade: zk.GradeSubstantial, Now: time.Now()})
	require.NoError(t, err)
	iss, err := c.Issue(ctx, env.srv.Issuer.ID(), proof, key)
	require.NoError(t, err)
	tok, err := sdjwt.Parse(iss.Credential)
	require.NoError(t, err)

	present := func(aud string) (string, string) {
		var preq verifier.PresentationRequestJSON
		require.NoError(t, c.Post(ctx, "/v1/presentation-requests", verifier.RequestJSON{Audience: aud}, &preq))
		vp, err := tok.Present(sdjwt.PresentRequest{Audience: aud, Nonce: preq.Nonce}, key)
		require.NoError(t, err)
		return vp, preq.Nonce
	}
	problemType := func(err error) string {
		var pe *wallet.ProblemError
		require.ErrorAs(t, err, &pe)
		return pe.Type
	}
	var verdict verifier.VerdictJSON

	vp, n := present("https://shop.example")
	err = c.Post(ctx, "/v1/presentations/verify", verifier.VerifyJSON{Presentation: vp, Audience: "https://shop.example", Scope: "shop.example", Nonce: n}, &verdict)
	require.Equal(t, verifier.ErrScope.Type(), problemType(err))

	// A nonce issued for audience A, used in a presentation for audience B.
	var preq verifier.PresentationRequestJSON
	require.NoError(t, c.Post(ctx, "/v1/presentation-requests", verifier.RequestJSON{Audience: "https://a.example"}, &preq))
	vp, err = tok.Present(sdjwt.PresentRequest{Audience: "https://b.example", Nonce: preq.Nonce}, key)
	require.NoError(t, err)
	err = c.Post(ctx, "/v1/presentations/verify", verifier.VerifyJSON{Presentation: vp, Audience: "https://b.example", Scope: "other.example", Nonce: preq.Nonce}, &verdict)
	require.Equal(t, verifier.ErrNonce.Type(), problemType(err))

	// The same presentation for its own audience and scope verifies.
	vp, n = present("https://other.example")
	require.NoError(t, c.Post(ctx, "/v1/presentations/verify", verifier.VerifyJSON{Presentation: vp, Audience: "https://other.example", Scope: "other.example", Nonce: n}, &verdict))
	require.True(t, verdict.Valid)
	require.Equal(t, "substantial", verdict.Grade)
}
