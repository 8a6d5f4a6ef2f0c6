// Package wallettest drives `mustard wallet` in-process against a real
// Mustard server on a loopback port: real enrollment, real proofs, real
// persona credentials, the real verification API.
package wallettest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/coreid"
	"github.com/mustard-id/mustard/internal/cli"
	"github.com/mustard-id/mustard/internal/community"
	"github.com/mustard-id/mustard/internal/portal"
	"github.com/mustard-id/mustard/internal/server"
	"github.com/mustard-id/mustard/persona"
	"github.com/mustard-id/mustard/verifier"
)

// env is one server for the whole package: the Groth16 setup runs once.
var env struct {
	dir  string
	srv  *server.Server
	base string
	keys string // the server's zk directory, which wallets prove with
}

func TestMain(m *testing.M) {
	if args := os.Getenv(cliProcessEnv); args != "" {
		os.Exit(cliProcess(args)) // a second device, in a process of its own
	}
	dir, err := os.MkdirTemp("", "mustard-wallet-")
	if err != nil {
		panic(err)
	}
	code := func() int {
		env.dir = dir
		hs := httptest.NewUnstartedServer(nil)
		env.base = "http://" + hs.Listener.Addr().String()
		env.srv, err = server.Open(context.Background(), server.Options{DataDir: dir, Passphrase: "wallet-test", PublicURL: env.base})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer env.srv.Close()
		hs.Config.Handler = env.srv.Handler()
		hs.Start()
		defer hs.Close()
		env.keys = filepath.Join(dir, "zk")
		return m.Run()
	}()
	os.RemoveAll(dir)
	os.Exit(code)
}

// result is one run of the command line.
type result struct {
	code           int
	stdout, stderr string
}

// run runs `mustard wallet --wallet dir args...` in-process.
func run(t *testing.T, dir string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	full := append([]string{"wallet", "--wallet", dir}, args...)
	code := cli.Main(context.Background(), full, &stdout, &stderr)
	return result{code, stdout.String(), stderr.String()}
}

// ok runs a command that must succeed.
func ok(t *testing.T, dir string, args ...string) result {
	t.Helper()
	r := run(t, dir, args...)
	require.Equal(t, 0, r.code, "mustard wallet %v\nstdout:\n%s\nstderr:\n%s", args, r.stdout, r.stderr)
	return r
}

// fails runs a command that must fail with one line on stderr containing
// want, and returns that line.
func fails(t *testing.T, dir, want string, args ...string) string {
	t.Helper()
	r := run(t, dir, args...)
	require.NotEqual(t, 0, r.code, "mustard wallet %v succeeded:\n%s", args, r.stdout)
	line := strings.TrimSpace(r.stderr)
	lines := strings.Split(line, "\n")
	last := lines[len(lines)-1]
	require.True(t, strings.HasPrefix(last, "mustard: "), "stderr: %q", r.stderr)
	require.Equal(t, 1, strings.Count(r.stderr, "mustard: "), "more than one error line: %q", r.stderr)
	require.Contains(t, last, want)
	return last
}

// keys returns the top-level keys of a JSON object, sorted.
func keys(t *testing.T, s string) []string {
	t.Helper()
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal([]byte(s), &m), s)
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// sourceFile writes a fresh JWT-VC from the sample government issuer.
func sourceFile(t *testing.T, claims map[string]any) string {
	t.Helper()
	now := time.Now()
	claims["personal_number"] = fmt.Sprintf("pn-%d", rand.Int64())
	src, err := coreid.SignJWTVC(env.srv.SampleSource, server.SampleSourceID, "did:example:holder", []string{"PersonIdentificationData"}, claims, now, now.Add(time.Hour))
	require.NoError(t, err)
	p := filepath.Join(t.TempDir(), "source.jwt")
	require.NoError(t, os.WriteFile(p, []byte(src+"\n"), 0o600))
	return p
}

// newWallet makes and enrolls a software-keystore wallet.
func newWallet(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "wallet")
	r := ok(t, dir, "init", "--software")
	require.Contains(t, r.stderr, "lower grade")
	ok(t, dir, "enroll", "--credential", sourceFile(t, map[string]any{"birthdate": "1990-04-12", "nationality": "NL"}), "--server", env.base)
	return dir
}

// relyingParty serves presentation request documents, as a relying party
// (or the OpenID Provider's login page) does, and receives the wallet's
// answers, which it verifies through the real verification API.
type relyingParty struct {
	srv      *httptest.Server
	mu       sync.Mutex
	docs     map[string]*verifier.PresentationRequest
	verdicts map[string]*verifier.VerdictJSON
}

func newRelyingParty(t *testing.T) *relyingParty {
	rp := &relyingParty{docs: map[string]*verifier.PresentationRequest{}, verdicts: map[string]*verifier.VerdictJSON{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /request/{id}", func(w http.ResponseWriter, r *http.Request) {
		rp.mu.Lock()
		doc, ok := rp.docs[r.PathValue("id")]
		rp.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", verifier.RequestMediaType)
		_ = json.NewEncoder(w).Encode(doc)
	})
	mux.HandleFunc("POST /response/{id}", func(w http.ResponseWriter, r *http.Request) {
		rp.mu.Lock()
		doc, ok := rp.docs[r.PathValue("id")]
		rp.mu.Unlock()
		var body verifier.ResponseJSON
		if !ok || json.NewDecoder(io.LimitReader(r.Body, 128<<10)).Decode(&body) != nil {
			http.Error(w, "bad response", http.StatusBadRequest)
			return
		}
		var verdict verifier.VerdictJSON
		err := (&persona.Client{BaseURL: env.base}).Post(r.Context(), "/v1/presentations/verify", verifier.VerifyJSON{Presentation: body.Presentation,
			Audience: doc.Audience, Scope: doc.Scope, Nonce: doc.Nonce, MinGrade: doc.MinGrade, RequiredClaims: doc.RequiredClaims}, &verdict)
		if pe, ok := err.(*persona.ProblemError); ok {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(pe.Status)
			_ = json.NewEncoder(w).Encode(pe.Body)
			return
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		rp.mu.Lock()
		rp.verdicts[r.PathValue("id")] = &verdict
		rp.mu.Unlock()
		_, _ = w.Write([]byte(`{"ok":true}`))
	})
	rp.srv = httptest.NewServer(mux)
	t.Cleanup(rp.srv.Close)
	return rp
}

// request makes a request document with a fresh nonce from the
// verification API and returns its id and deep link (the QR payload).
func (rp *relyingParty) request(t *testing.T, doc verifier.PresentationRequest) (id, link string) {
	t.Helper()
	var preq verifier.PresentationRequestJSON
	require.NoError(t, (&persona.Client{BaseURL: env.base}).Post(context.Background(), "/v1/presentation-requests", verifier.RequestJSON{Audience: doc.Audience}, &preq))
	id = persona.NewID()
	doc.Type, doc.Nonce = verifier.RequestType, preq.Nonce
	doc.ResponseURI = rp.srv.URL + "/response/" + id
	doc.ExpiresAt = time.Now().Add(5 * time.Minute)
	rp.mu.Lock()
	rp.docs[id] = &doc
	rp.mu.Unlock()
	return id, verifier.DeepLink(rp.srv.URL + "/request/" + id)
}

func (rp *relyingParty) verdict(id string) *verifier.VerdictJSON {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	return rp.verdicts[id]
}

// presentationRequest returns a deep link asking for the shop.example-style
// persona of audience with claims.
func presentationRequest(t *testing.T, rp *relyingParty, audience, scope string, claims ...string) (string, string) {
	return rp.request(t, verifier.PresentationRequest{Audience: audience, Scope: scope, RequiredClaims: claims, MinGrade: "substantial", ClientName: "Test Shop"})
}

// TestWalletStory walks the wallet's whole life through the command line.
func TestWalletStory(t *testing.T) {
	t.Setenv("MUSTARD_PIN", "a long wallet passphrase")
	dir := newWallet(t)

	st := ok(t, dir, "status", "--json")
	var status map[string]any
	require.NoError(t, json.Unmarshal([]byte(st.stdout), &status))
	require.Equal(t, []string{"audit_entries", "core_expires", "enrolled", "grade", "hardware_backed", "issuer", "keystore", "personas", "revoked", "server", "wallet"}, keys(t, st.stdout))
	require.Equal(t, true, status["enrolled"])
	require.Equal(t, "software", status["keystore"])
	// The provider enrolls an unattested (software) wallet at most at
	// grade substantial.
	require.Equal(t, "substantial", status["grade"])

	r := ok(t, dir, "persona", "new", "--scope", "shop.example", "--predicate", "age>=18", "--disclose", "nationality", "--keys", env.keys, "--json")
	require.Equal(t, []string{"created", "disclosed", "expires", "format", "id", "issuer", "predicates", "proving_ms", "pseudonym", "scope"}, keys(t, r.stdout))
	var shop map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &shop))
	require.Equal(t, "shop.example", shop["scope"])

	// Over OpenID4VCI: offer, token, c_nonce, key proof.
	r = ok(t, dir, "persona", "new", "--scope", "forum.example", "--keys", env.keys, "--oid4vci")
	require.Contains(t, r.stdout, "New persona")
	require.Contains(t, r.stdout, "forum.example will recognize you")

	// Human list: an aligned table, one row per persona.
	r = ok(t, dir, "persona", "list")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	require.Len(t, lines, 3, r.stdout)
	require.True(t, strings.HasPrefix(lines[0], "ID"))
	require.Equal(t, strings.Index(lines[0], "SCOPE"), strings.Index(lines[1], "forum.example"), "columns align:\n%s", r.stdout)
	require.Contains(t, lines[2], "age>=18, nationality")

	r = ok(t, dir, "persona", "list", "--json")
	var list struct {
		Personas []map[string]any `json:"personas"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &list))
	require.Len(t, list.Personas, 2)
	require.NotEqual(t, list.Personas[0]["pseudonym"], list.Personas[1]["pseudonym"])
	item, _ := json.Marshal(list.Personas[0])
	require.Equal(t, []string{"created", "disclosed", "expires", "format", "id", "issuer", "predicates", "pseudonym", "scope"}, keys(t, string(item)))

	// Same scope again: refused unless --replace.
	fails(t, dir, "--replace", "persona", "new", "--scope", "shop.example", "--keys", env.keys)

	r = ok(t, dir, "credentials", "--json")
	var creds struct {
		Credentials []map[string]any `json:"credentials"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &creds))
	require.Len(t, creds.Credentials, 3)
	item, _ = json.Marshal(creds.Credentials[1])
	require.Equal(t, []string{"expires", "format", "id", "issuer", "kind", "scope", "state"}, keys(t, string(item)))
	require.Equal(t, "core", creds.Credentials[0]["kind"])
	for _, c := range creds.Credentials {
		require.Equal(t, "valid", c["state"])
	}
	r = ok(t, dir, "credentials")
	require.Contains(t, r.stdout, "KIND")

	// A relying party's request, as its QR code carries it: the wallet
	// fetches it and posts the presentation to its response_uri.
	rp := newRelyingParty(t)
	id, link := presentationRequest(t, rp, "https://shop.example", "shop.example", "age_over_18", "nationality")
	r = ok(t, dir, "present", link, "--json")
	require.Equal(t, []string{"accepted", "audience", "client_name", "derived", "disclosed", "persona", "scope", "sent_to"}, keys(t, r.stdout))
	var pres map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &pres))
	require.Equal(t, true, pres["accepted"], r.stdout)
	require.Equal(t, false, pres["derived"])
	require.Equal(t, shop["id"], pres["persona"])
	v := rp.verdict(id)
	require.NotNil(t, v)
	require.Equal(t, shop["pseudonym"], v.Pseudonym)
	require.Equal(t, true, v.Claims["age_over_18"])
	require.Equal(t, "528", fmt.Sprint(v.Claims["nationality"]), "ISO 3166 numeric for NL")
	// The same request again: the nonce was used.
	fails(t, dir, "refused", "present", link)

	// The request document in a file.
	_, link = presentationRequest(t, rp, "https://forum.example", "forum.example")
	uri, err := verifier.RequestURIOf(link)
	require.NoError(t, err)
	doc, err := persona.FetchRequest(context.Background(), http.DefaultClient, uri)
	require.NoError(t, err)
	f := filepath.Join(t.TempDir(), "request.json")
	b, _ := json.Marshal(doc)
	require.NoError(t, os.WriteFile(f, b, 0o600))
	r = ok(t, dir, "present", f)
	require.Contains(t, r.stdout, "accepted")
	require.Contains(t, r.stderr, "Test Shop (https://forum.example) asks for your forum.example persona")

	// A site the wallet has no persona for, asking for a predicate: the
	// wallet derives the persona first.
	_, link = rp.request(t, verifier.PresentationRequest{Audience: "https://bar.example", Scope: "bar.example", Predicates: []string{"age>=18"}, RequiredClaims: []string{"age_over_18"}})
	fails(t, dir, "no persona for bar.example", "present", link, "--no-derive")
	r = ok(t, dir, "present", link, "--keys", env.keys, "--json")
	require.Contains(t, r.stdout, `"derived": true`)
	// Grade high from a software wallet: refused before anything is sent.
	_, link = rp.request(t, verifier.PresentationRequest{Audience: "https://bank.example", Scope: "bank.example", MinGrade: "high"})
	fails(t, dir, "at most substantial", "present", link, "--keys", env.keys)

	// The audit trail says what was shown to whom.
	r = ok(t, dir, "audit", "--json")
	var trail struct {
		Entries []persona.AuditEntry `json:"entries"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &trail))
	var rawTrail struct {
		Entries []map[string]any `json:"entries"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &rawTrail))
	item, _ = json.Marshal(rawTrail.Entries[len(rawTrail.Entries)-1])
	require.Equal(t, []string{"audience", "disclosed", "event", "outcome", "persona", "scope", "time"}, keys(t, string(item)))
	var shown []string
	for _, e := range trail.Entries {
		if e.Event == "present" {
			shown = append(shown, e.Scope+"→"+e.Audience+":"+e.Outcome)
		}
	}
	require.Equal(t, []string{"shop.example→https://shop.example:accepted", "shop.example→https://shop.example:refused", "forum.example→https://forum.example:accepted", "bar.example→https://bar.example:accepted"}, shown)
	r = ok(t, dir, "audit")
	require.Contains(t, r.stdout, "https://shop.example")

	// status without the PIN
	t.Setenv("MUSTARD_PIN", "")
	r = ok(t, dir, "status")
	require.Contains(t, r.stdout, "personas:")
	require.Contains(t, r.stdout, "2")
	fails(t, dir, "no PIN", "persona", "list")
}

// TestWalletBadInput: each mistake gets one line saying what to do, a
// non-zero exit, and changes nothing.
func TestWalletBadInput(t *testing.T) {
	t.Setenv("MUSTARD_PIN", "a long wallet passphrase")
	empty := filepath.Join(t.TempDir(), "none")
	fails(t, empty, "mustard wallet init", "status")
	fails(t, empty, "mustard wallet init", "persona", "list")
	fails(t, empty, "choose one", "init", "--software", "--tpm-sim")
	if _, err := os.Stat("/dev/tpmrm0"); os.IsNotExist(err) {
		fails(t, empty, "no TPM found: pass --tpm-sim", "init")
	}
	_, err := os.Stat(empty)
	require.True(t, os.IsNotExist(err), "a failed init left a directory behind")

	dir := newWallet(t)
	fails(t, dir, "already exists", "init", "--software")
	fails(t, dir, "already enrolled", "enroll", "--credential", sourceFile(t, map[string]any{"birthdate": "1990-04-12"}), "--server", env.base)

	t.Setenv("MUSTARD_PIN", "wrong")
	fails(t, dir, "wrong PIN", "persona", "list")
	t.Setenv("MUSTARD_PIN", "a long wallet passphrase")

	fails(t, dir, "needs --scope", "persona", "new")
	fails(t, dir, "bad predicate", "persona", "new", "--scope", "x", "--predicate", "age>=old")
	fails(t, dir, "not an attribute", "persona", "new", "--scope", "x", "--disclose", "shoe_size")
	fails(t, dir, "no proving key", "persona", "new", "--scope", "x", "--keys", t.TempDir())
	fails(t, dir, "bad presentation request", "present", "mustard://present?audience=x")
	fails(t, dir, "bad presentation request", "present", `{"nonce":"n","audience":"a","extra":1}`)
	fails(t, dir, "bad presentation request", "present", env.base+"/no-such-request")
	fails(t, dir, "cannot read the request", "present", filepath.Join(t.TempDir(), "missing"))
	fails(t, dir, "no persona for", "present", "--no-derive", `{"type":"mustard-presentation-request","nonce":"n","audience":"https://nowhere.example","scope":"nowhere.example","response_uri":"https://nowhere.example/r"}`)
	fails(t, dir, "expired", "present", `{"type":"mustard-presentation-request","nonce":"n","audience":"a","scope":"s","response_uri":"https://a.example/r","expires_at":"2001-01-01T00:00:00Z"}`)

	// A fresh wallet with a credential that is not a JWT.
	d2 := filepath.Join(t.TempDir(), "w2")
	ok(t, d2, "init", "--software")
	junk := filepath.Join(t.TempDir(), "junk")
	require.NoError(t, os.WriteFile(junk, []byte("hello"), 0o600))
	fails(t, d2, "not a JWT-VC", "enroll", "--credential", junk, "--server", env.base)
	fails(t, d2, "one of --credential FILE", "enroll")
	fails(t, d2, "one of --credential FILE", "enroll", "--server", env.base, "--credential", junk, "--federation", "https://idp.example")
	fails(t, d2, "refused the enrollment", "enroll", "--credential", tamper(t, sourceFile(t, map[string]any{"birthdate": "1990-04-12"})), "--server", env.base)
	fails(t, d2, "enroll first", "persona", "new", "--scope", "x", "--keys", env.keys)

	// A corrupt wallet file: named, with the fix.
	p := filepath.Join(dir, "core.enc")
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	b[len(b)-3] ^= 1
	require.NoError(t, os.WriteFile(p, b, 0o600))
	line := fails(t, dir, "core.enc", "credentials")
	require.Contains(t, line, "restore it from a backup")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "wallet.json"), []byte("{"), 0o600))
	line = fails(t, dir, "wallet.json", "status")
	require.Contains(t, line, "restore it from a backup")
}

func tamper(t *testing.T, path string) string {
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	s := strings.TrimSpace(string(b))
	s = s[:len(s)-4] + "AAAA"
	require.NoError(t, os.WriteFile(path, []byte(s), 0o600))
	return path
}

// TestWalletTPMSimulator seals the core secret in the TPM simulator, and
// refuses a wrong PIN there.
func TestWalletTPMSimulator(t *testing.T) {
	t.Setenv("MUSTARD_PIN", "2468")
	dir := filepath.Join(t.TempDir(), "wallet")
	r := ok(t, dir, "init", "--tpm-sim", "--json")
	require.Equal(t, []string{"hardware_backed", "keystore", "wallet"}, keys(t, r.stdout))
	require.Contains(t, r.stdout, `"tpm-simulator"`)
	ok(t, dir, "enroll", "--credential", sourceFile(t, map[string]any{"birthdate": "1980-01-01"}), "--server", env.base)
	r = ok(t, dir, "status", "--json")
	require.Contains(t, r.stdout, `"keystore": "tpm-simulator"`)
	r = ok(t, dir, "credentials", "--json")
	require.Contains(t, r.stdout, `"grade": "high"`)
	// A TPM-sealed wallet proves grade high.
	r = ok(t, dir, "persona", "new", "--scope", "tax.example", "--predicate", "age>=18", "--keys", env.keys, "--json")
	require.Contains(t, r.stdout, `"scope": "tax.example"`)
	rp := newRelyingParty(t)
	_, link := rp.request(t, verifier.PresentationRequest{Audience: "https://tax.example", Scope: "tax.example", MinGrade: "high", RequiredClaims: []string{"age_over_18"}})
	r = ok(t, dir, "present", link, "--no-derive", "--json")
	require.Contains(t, r.stdout, `"accepted": true`)
	t.Setenv("MUSTARD_PIN", "1357")
	fails(t, dir, "wrong PIN", "credentials")
	// The PIN from a file, when MUSTARD_PIN is unset.
	t.Setenv("MUSTARD_PIN", "")
	pf := filepath.Join(t.TempDir(), "pin")
	require.NoError(t, os.WriteFile(pf, []byte("2468\n"), 0o600))
	ok(t, dir, "credentials", "--pin-file", pf)
	require.NoError(t, os.WriteFile(pf, []byte("\n"), 0o600))
	fails(t, dir, "is empty", "credentials", "--pin-file", pf)
	fails(t, dir, "cannot read the PIN file", "credentials", "--pin-file", pf+".missing")

	// Revoking a TPM wallet: the device key signs, nothing secret leaves.
	t.Setenv("MUSTARD_PIN", "2468")
	r = ok(t, dir, "revoke", "--yes", "--json")
	require.Contains(t, r.stdout, `"revoked": true`)
	fails(t, dir, "revoked", "persona", "new", "--scope", "tax2.example", "--keys", env.keys)
}

// TestWalletExportImport restores a wallet from its backup elsewhere.
func TestWalletExportImport(t *testing.T) {
	t.Setenv("MUSTARD_PIN", "a long wallet passphrase")
	dir := newWallet(t)
	out := filepath.Join(t.TempDir(), "backup.json")
	r := ok(t, dir, "export", "--out", out, "--json")
	require.Equal(t, []string{"bytes", "files", "out"}, keys(t, r.stdout))
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	require.NotContains(t, string(b), "1990")
	fails(t, dir, "exists", "export", "--out", out)
	d2 := filepath.Join(t.TempDir(), "restored")
	ok(t, d2, "import", "--backup", out)
	r = ok(t, d2, "credentials", "--json")
	require.Contains(t, r.stdout, `"kind": "core"`)
	fails(t, d2, "already exists", "import", "--backup", out)
}

// TestWalletRevoke revokes the core identity from a copy of the wallet
// (the other copy standing for the lost device) and checks that the lost
// copy can no longer derive a persona.
func TestWalletRevoke(t *testing.T) {
	t.Setenv("MUSTARD_PIN", "a long wallet passphrase")
	lost := newWallet(t)
	out := filepath.Join(t.TempDir(), "backup.json")
	ok(t, lost, "export", "--out", out)
	here := filepath.Join(t.TempDir(), "here")
	ok(t, here, "import", "--backup", out)

	fails(t, here, "--yes", "revoke")
	r := ok(t, here, "revoke", "--yes", "--json")
	require.Equal(t, []string{"revoked", "server"}, keys(t, r.stdout))
	fails(t, here, "already revoked", "revoke", "--yes")
	fails(t, here, "revoked", "persona", "new", "--scope", "x", "--keys", env.keys)
	fails(t, here, "revoked", "present", "--no-derive", `{"type":"mustard-presentation-request","nonce":"n","audience":"a","scope":"s","response_uri":"https://a.example/r"}`)
	r = ok(t, here, "credentials", "--json")
	require.Contains(t, r.stdout, `"state": "revoked"`)
	// The lost copy does not know, but the provider's revocation tree does.
	fails(t, lost, "has been revoked", "persona", "new", "--scope", "x", "--keys", env.keys)
}

// TestWalletRecovery: five guardians, any three recover the wallet on a
// new device; two cannot; an altered share is refused. The recovered
// wallet derives the same pseudonym.
func TestWalletRecovery(t *testing.T) {
	t.Setenv("MUSTARD_PIN", "a long wallet passphrase")
	dir := newWallet(t)
	r := ok(t, dir, "persona", "new", "--scope", "bank.example", "--keys", env.keys, "--json")
	var before map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &before))

	tmp := t.TempDir()
	var pubs []string
	for i := 1; i <= 5; i++ {
		k := filepath.Join(tmp, fmt.Sprintf("guardian-%d.key", i))
		ok(t, tmp, "recovery", "guardian-key", "--out", k)
		pubs = append(pubs, "--guardian-key", k+".pub")
	}
	fails(t, dir, "3-of-5 needs 5", append([]string{"recovery", "split", "--guardians", "3-of-5", "--out", filepath.Join(tmp, "x")}, pubs[:8]...)...)
	fails(t, dir, "write k-of-n", "recovery", "split", "--guardians", "1-of-5")
	r = ok(t, dir, append([]string{"recovery", "split", "--guardians", "3-of-5", "--out", filepath.Join(tmp, "shares"), "--json"}, pubs...)...)
	require.Equal(t, []string{"count", "shares", "threshold"}, keys(t, r.stdout))

	device := filepath.Join(tmp, "device.key")
	ok(t, tmp, "recovery", "guardian-key", "--out", device)
	open := func(i int) string {
		out := filepath.Join(tmp, fmt.Sprintf("opened-%d.json", i))
		ok(t, tmp, "recovery", "open", "--share", filepath.Join(tmp, "shares", fmt.Sprintf("share-%d.json", i)),
			"--guardian-key", filepath.Join(tmp, fmt.Sprintf("guardian-%d.key", i)), "--to", device+".pub", "--out", out)
		return out
	}
	// Guardian 2 cannot open guardian 1's share.
	fails(t, tmp, "not to", "recovery", "open", "--share", filepath.Join(tmp, "shares", "share-1.json"),
		"--guardian-key", filepath.Join(tmp, "guardian-2.key"), "--to", device+".pub", "--out", filepath.Join(tmp, "nope"))
	s1, s3, s5 := open(1), open(3), open(5)

	t.Setenv("MUSTARD_PIN", "the new device's passphrase")
	restored := filepath.Join(tmp, "restored")
	fails(t, restored, "needs 3", "recovery", "restore", "--software", "--key", device, "--share", s1, "--share", s3)
	// An altered share.
	b, err := os.ReadFile(s3)
	require.NoError(t, err)
	var sh map[string]any
	require.NoError(t, json.Unmarshal(b, &sh))
	sh["x"] = 2
	altered := filepath.Join(tmp, "altered.json")
	bb, _ := json.Marshal(sh)
	require.NoError(t, os.WriteFile(altered, bb, 0o600))
	fails(t, restored, "altered", "recovery", "restore", "--software", "--key", device, "--share", s1, "--share", altered, "--share", s5)
	_, err = os.Stat(filepath.Join(restored, "wallet.json"))
	require.True(t, os.IsNotExist(err), "a failed restore left a wallet")

	r = ok(t, restored, "recovery", "restore", "--software", "--key", device, "--share", s1, "--share", s3, "--share", s5, "--json")
	require.Equal(t, []string{"keystore", "shares", "wallet"}, keys(t, r.stdout))
	r = ok(t, restored, "credentials", "--json")
	require.Contains(t, r.stdout, `"kind": "core"`)
	r = ok(t, restored, "persona", "new", "--scope", "bank.example", "--keys", env.keys, "--json")
	var after map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &after))
	require.Equal(t, before["pseudonym"], after["pseudonym"], "the recovered core secret is the same")
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startSend runs `transfer send` in the background and returns the
// receive command it prints, and a channel with its result.
func startSend(t *testing.T, dir string, args ...string) ([]string, <-chan result) {
	t.Helper()
	var stdout, stderr syncBuffer
	done := make(chan result, 1)
	go func() {
		code := cli.Main(context.Background(), append([]string{"wallet", "--wallet", dir, "transfer", "send"}, args...), &stdout, &stderr)
		done <- result{code, stdout.String(), stderr.String()}
	}()
	re := regexp.MustCompile(`transfer receive --from (\S+) --code (\S+)`)
	var m []string
	require.Eventually(t, func() bool {
		m = re.FindStringSubmatch(stdout.String())
		return m != nil
	}, 30*time.Second, 20*time.Millisecond, "send did not start: %s %s", stdout.String(), stderr.String())
	return []string{"transfer", "receive", "--from", m[1], "--code", m[2]}, done
}

// TestWalletTransfer moves a wallet whose secret the TPM simulator seals to
// a new device with a software keystore; the old copy is deleted. A wrong
// code moves nothing.
func TestWalletTransfer(t *testing.T) {
	t.Setenv("MUSTARD_PIN", "a long wallet passphrase")
	old := filepath.Join(t.TempDir(), "old")
	ok(t, old, "init", "--tpm-sim")
	ok(t, old, "enroll", "--credential", sourceFile(t, map[string]any{"birthdate": "1970-07-07"}), "--server", env.base)

	// A wrong code: both sides fail, nothing arrives, the old wallet stays.
	recv, done := startSend(t, old, "--allow-unattested-receiver")
	recv[len(recv)-1] = "00000-00000"
	newDir := filepath.Join(t.TempDir(), "new")
	fails(t, newDir, "code does not match", append(recv, "--software")...)
	r := <-done
	require.NotEqual(t, 0, r.code)
	require.Contains(t, r.stderr, "code does not match")
	_, err := os.Stat(filepath.Join(newDir, "wallet.json"))
	require.True(t, os.IsNotExist(err))
	ok(t, old, "status")

	recv, done = startSend(t, old, "--allow-unattested-receiver")
	r = ok(t, newDir, append(recv, "--software", "--json")...)
	require.Equal(t, []string{"duplicated", "keystore", "rebound", "sas", "tpm", "wallet"}, keys(t, r.stdout))
	require.Contains(t, r.stdout, `"tpm": false`)
	var got map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &got))
	sent := <-done
	require.Equal(t, 0, sent.code, sent.stderr)
	require.Contains(t, sent.stdout, "must show "+fmt.Sprint(got["sas"]))
	require.Contains(t, sent.stdout, "deleted")

	fails(t, old, "mustard wallet init", "status")
	r = ok(t, newDir, "credentials", "--json")
	require.Contains(t, r.stdout, `"kind": "core"`)
	r = ok(t, newDir, "audit")
	require.Contains(t, r.stdout, "received")

	// On to a device with a TPM: the secret goes wrapped for that TPM's
	// storage key and the TPM imports it.
	recv, done = startSend(t, newDir, "--keep", "--allow-unattested-receiver")
	third := filepath.Join(t.TempDir(), "third")
	r = ok(t, third, append(recv, "--tpm-sim", "--json")...)
	require.Equal(t, []string{"duplicated", "keystore", "rebound", "sas", "tpm", "wallet"}, keys(t, r.stdout))
	require.Contains(t, r.stdout, `"tpm": true`)
	require.Contains(t, r.stdout, `"keystore": "tpm-simulator"`)
	sent = <-done
	require.Equal(t, 0, sent.code, sent.stderr)
	require.Contains(t, sent.stdout, "wrapped for the new device's TPM")
	ok(t, newDir, "status") // --keep
	r = ok(t, third, "credentials", "--json")
	require.Contains(t, r.stdout, `"kind": "core"`)
}

// TestWalletUI serves the wallet page, reads it as a browser would, and
// approves a presentation request through its forms.
func TestWalletUI(t *testing.T) {
	t.Setenv("MUSTARD_PIN", "a long wallet passphrase")
	dir := newWallet(t)
	ok(t, dir, "persona", "new", "--scope", "shop.example", "--predicate", "age>=18", "--keys", env.keys)
	fails(t, dir, "only on loopback", "ui", "--addr", "0.0.0.0:0")

	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- cli.Main(ctx, []string{"wallet", "--wallet", dir, "ui"}, &stdout, &stderr)
	}()
	defer func() {
		cancel()
		require.Equal(t, 0, <-done, stderr.String())
	}()
	re := regexp.MustCompile(`(http://127\.0\.0\.1:\d+)/\?token=(\w+)`)
	var m []string
	require.Eventually(t, func() bool { m = re.FindStringSubmatch(stdout.String()); return m != nil }, 30*time.Second, 20*time.Millisecond, stderr.String())
	base := m[1]

	get := func(c *http.Client, u string) (int, string) {
		resp, err := c.Get(u)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	// Without the token: nothing.
	code, _ := get(http.DefaultClient, base+"/")
	require.Equal(t, http.StatusForbidden, code)
	code, _ = get(http.DefaultClient, base+"/?token=wrong")
	require.Equal(t, http.StatusForbidden, code)
	// Another Host (DNS rebinding): refused even with the token.
	req, _ := http.NewRequest(http.MethodGet, m[0], nil)
	req.Host = "evil.example"
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusMisdirectedRequest, resp.StatusCode)

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	code, page := get(browser, m[0])
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, page, "shop.example")
	require.Contains(t, page, "age&gt;=18")
	require.Contains(t, page, "grade <b>substantial</b>")
	require.NotContains(t, page, "<script")
	csrf := regexp.MustCompile(`name="csrf" value="(\w+)"`).FindStringSubmatch(page)[1]

	post := func(path string, form url.Values) (int, string) {
		resp, err := browser.PostForm(base+path, form)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	_, preq := presentationRequest(t, newRelyingParty(t), "https://shop.example", "shop.example", "age_over_18")
	code, _ = post("/review", url.Values{"request": {preq}, "csrf": {"forged"}})
	require.Equal(t, http.StatusForbidden, code)
	code, page = post("/review", url.Values{"request": {preq}, "csrf": {csrf}})
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, page, "<b>Test Shop (https://shop.example)</b> asks for your <b>shop.example</b> persona")
	require.Contains(t, page, "<b>age_over_18</b>")
	code, page = post("/approve", url.Values{"request": {preq}, "csrf": {csrf}})
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, page, "accepted", page)
	require.Contains(t, page, "<td>present</td>")
	// An OpenID4VP request, reviewed and approved the same way.
	tx := oid4vpTx(t, verifier.OID4VPRequestJSON{Scope: "shop.example", RequiredClaims: []string{"age_over_18"}, Predicates: []string{"age>=18"}, ClientName: "VP Shop"})
	code, page = post("/review", url.Values{"request": {tx.AuthorizationRequest}, "csrf": {csrf}})
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, page, "<b>VP Shop ("+tx.ClientID+")</b> asks for your <b>shop.example</b> persona", page)
	require.Equal(t, "pending", oid4vpResult(t, tx).Status, "reviewing sends nothing")
	code, page = post("/approve", url.Values{"request": {tx.AuthorizationRequest}, "csrf": {csrf}})
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, page, "accepted", page)
	require.Equal(t, "accepted", oid4vpResult(t, tx).Status)
	code, page = post("/review", url.Values{"request": {"nonsense"}, "csrf": {csrf}})
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, page, "bad presentation request")
}

// TestWalletOIDCLogin signs in to a relying party's portal over OpenID
// Connect: the login page's request link is answered by `mustard wallet
// present`, which derives the persona the request asks for.
func TestWalletOIDCLogin(t *testing.T) {
	t.Setenv("MUSTARD_PIN", "a long wallet passphrase")
	dir := newWallet(t)
	ctx := context.Background()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	base := "http://" + ln.Addr().String()
	hc := &http.Client{Timeout: 30 * time.Second}
	id, secret, err := portal.Register(ctx, hc, env.base, env.srv.RegistrationToken, portal.Registration{
		RedirectURIs: []string{base + "/callback"}, ClientName: "Wine shop", SectorIdentifier: "wine.example",
		Manifest: map[string]any{"purpose": "Sell wine to adults.", "claims": []string{"age_over_18"}, "retention": "90 days", "framework": env.srv.Framework.ID},
	})
	require.NoError(t, err)
	p, err := portal.New(ctx, hc, env.base, base, id, secret, []string{"openid", "age_over_18"})
	require.NoError(t, err)
	hs := &http.Server{Handler: p.Handler()}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })

	b := portal.NewBrowser()
	link, err := b.SignIn(ctx, base)
	require.NoError(t, err)
	r := ok(t, dir, "present", link, "--keys", env.keys, "--json")
	var pres map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &pres))
	require.Equal(t, true, pres["accepted"])
	require.Equal(t, "wine.example", pres["scope"])
	res, err := b.Consent(ctx, true)
	require.NoError(t, err)
	require.Empty(t, res.Error)
	require.Equal(t, true, res.Claims["age_over_18"])

	r = ok(t, dir, "persona", "list", "--json")
	var list struct {
		Personas []map[string]any `json:"personas"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &list))
	require.Len(t, list.Personas, 1)
	require.Equal(t, list.Personas[0]["pseudonym"], res.Subject, "sub is the persona's pseudonym")
}

// chromium finds Debian's chromium; outside CI its absence skips the test.
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is missing in CI: .ci/run installs Debian's chromium")
	}
	t.Skip("chromium not installed (apt-get install chromium); CI runs this test")
	return ""
}

// startUI runs `mustard wallet ui` until the test ends and returns its
// link (with the access token).
func startUI(t *testing.T, dir string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- cli.Main(ctx, []string{"wallet", "--wallet", dir, "ui"}, &stdout, &stderr)
	}()
	t.Cleanup(func() {
		cancel()
		require.Equal(t, 0, <-done, stderr.String())
	})
	re := regexp.MustCompile(`http://127\.0\.0\.1:\d+/\?token=\w+`)
	var link string
	require.Eventually(t, func() bool { link = re.FindString(stdout.String()); return link != "" }, 30*time.Second, 20*time.Millisecond, stderr.String())
	return link
}

// TestWalletUIInChromium drives the wallet page in headless Chromium:
// the lists render, a pasted request is reviewed and approved, and the
// audit trail shows it; screenshots are decoded and kept
// ($MUSTARD_SCREENSHOTS to keep them somewhere).
func TestWalletUIInChromium(t *testing.T) {
	bin := chromium(t)
	t.Setenv("MUSTARD_PIN", "a long wallet passphrase")
	dir := newWallet(t)
	ok(t, dir, "persona", "new", "--scope", "shop.example", "--predicate", "age>=18", "--disclose", "nationality", "--keys", env.keys)
	link := startUI(t, dir)
	rp := newRelyingParty(t)
	id, req := presentationRequest(t, rp, "https://shop.example", "shop.example", "age_over_18")

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(bin), chromedp.NoSandbox, chromedp.WindowSize(1000, 1000))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	shots := t.TempDir()
	if d := os.Getenv("MUSTARD_SCREENSHOTS"); d != "" {
		shots = d
	}
	screenshot := func(name string) {
		var buf []byte
		require.NoError(t, chromedp.Run(ctx, chromedp.FullScreenshot(&buf, 100)))
		img, err := png.Decode(bytes.NewReader(buf))
		require.NoError(t, err, "screenshot is a PNG")
		require.Greater(t, img.Bounds().Dx(), 300)
		require.NoError(t, os.WriteFile(filepath.Join(shots, "wallet-"+name+".png"), buf, 0o644))
	}

	var text string
	require.NoError(t, chromedp.Run(ctx,
		chromedp.Navigate(link),
		chromedp.WaitVisible(`#request`, chromedp.ByID),
		chromedp.Text(`body`, &text, chromedp.ByQuery),
	))
	screenshot("1-home")
	require.Contains(t, text, "Personas")
	require.Contains(t, text, "shop.example")
	require.Contains(t, text, "age>=18, nationality")
	require.Contains(t, text, "Enrolled with "+env.base)

	require.NoError(t, chromedp.Run(ctx,
		chromedp.SendKeys(`#request`, req, chromedp.ByID),
		chromedp.Click(`form[action="/review"] button`, chromedp.ByQuery),
		chromedp.WaitVisible(`section.ask`, chromedp.ByQuery),
		chromedp.Text(`section.ask`, &text, chromedp.ByQuery),
	))
	screenshot("2-review")
	require.Contains(t, text, "Test Shop (https://shop.example) asks for your shop.example persona")
	require.Contains(t, text, "It will see: age_over_18")
	require.Nil(t, rp.verdict(id), "nothing is sent before approval")

	require.NoError(t, chromedp.Run(ctx,
		chromedp.Click(`section.ask button`, chromedp.ByQuery),
		chromedp.WaitVisible(`p.ok`, chromedp.ByQuery),
		chromedp.Text(`body`, &text, chromedp.ByQuery),
	))
	screenshot("3-approved")
	require.Contains(t, text, "Shared your shop.example persona with https://shop.example: accepted.")
	require.NotNil(t, rp.verdict(id))
	require.Equal(t, true, rp.verdict(id).Claims["age_over_18"])
}

// TestWalletDownloadsProvingKey: with no key directory given, the wallet
// fetches the server's proving key into its own directory, once.
func TestWalletDownloadsProvingKey(t *testing.T) {
	t.Setenv("MUSTARD_PIN", "a long wallet passphrase")
	t.Setenv("MUSTARD_ZK_KEYS", "")
	dir := newWallet(t)
	ok(t, dir, "persona", "new", "--scope", "download.example")
	st, err := os.Stat(filepath.Join(dir, "zk", "persona.pk"))
	require.NoError(t, err)
	require.Greater(t, st.Size(), int64(1<<20))
	ok(t, dir, "persona", "new", "--scope", "download2.example")
	again, err := os.Stat(filepath.Join(dir, "zk", "persona.pk"))
	require.NoError(t, err)
	require.Equal(t, st.ModTime(), again.ModTime(), "the key is downloaded once")
}

// TestWalletCommunity: join after accepting the manifest, speak once per
// topic, list, leave.
func TestWalletCommunity(t *testing.T) {
	t.Setenv("MUSTARD_PIN", "a long wallet passphrase")
	require.NoError(t, env.srv.Communities.Register(context.Background(), "choir", community.Manifest{
		Name: "Choir", Purpose: "Pick the next concert's programme.", Joining: "Adults, once each.",
		Shares: "Anonymous votes only.", Leaving: "Any time; votes stay.", RequiredClaims: []string{"age_over_18"},
	}))
	a, b := newWallet(t), newWallet(t)
	fails(t, a, "--yes", "community", "join", "choir")
	r := ok(t, a, "community", "join", "choir", "--yes", "--keys", env.keys, "--json")
	require.Contains(t, r.stdout, `"joined": true`)
	fails(t, a, "already a member", "community", "join", "choir", "--yes")
	ok(t, b, "community", "join", "choir", "--yes", "--keys", env.keys)

	r = ok(t, a, "community", "say", "choir", "--topic", "autumn", "Bach", "--json")
	require.Contains(t, r.stdout, `"recorded": true`)
	fails(t, a, "nullifier-used", "community", "say", "choir", "--topic", "autumn", "Brahms")
	ok(t, b, "community", "say", "choir", "--topic", "autumn", "Brahms")
	fails(t, a, "--topic", "community", "say", "choir", "Bach")

	r = ok(t, a, "community", "list", "--json")
	require.Contains(t, r.stdout, `"state": "member"`)
	ok(t, b, "community", "leave", "choir")
	fails(t, b, "you left", "community", "say", "choir", "--topic", "winter", "Handel")
	ok(t, a, "community", "say", "choir", "--topic", "winter", "Handel")
	fails(t, a, "not a member", "community", "say", "unknown", "--topic", "x", "y")
}
