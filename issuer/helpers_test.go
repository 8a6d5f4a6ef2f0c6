package issuer_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/circuits/persona"
	"github.com/mustard-id/mustard/internal/sdjwt"
	"github.com/mustard-id/mustard/internal/store/sqlite"
	"github.com/mustard-id/mustard/issuer"
	"github.com/mustard-id/mustard/verifier"
	"github.com/mustard-id/mustard/zk"
)

const (
	testAdmin = "admin-token-for-tests"
	testScope = "shop.example"
	testRP    = "https://shop.example"
)

// clock is a settable time source shared by issuer and verifier.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// world is an issuer served over loopback HTTP with a real SQLite store.
type world struct {
	iss   *issuer.Issuer
	store *sqlite.Store
	srv   *httptest.Server
	key   jwk.Key // the issuer's signing key
	clock *clock
}

func newKey(t testing.TB) jwk.Key {
	raw, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	k, err := jwk.FromRaw(raw)
	require.NoError(t, err)
	require.NoError(t, jwk.AssignKeyID(k))
	return k
}

func newWorld(t testing.TB, mod func(*issuer.Config)) *world {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "m.db"))
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	w := &world{store: st, key: newKey(t), clock: &clock{t: time.Now().Truncate(time.Second)}}
	var h http.Handler
	w.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) { h.ServeHTTP(rw, r) }))
	t.Cleanup(w.srv.Close)
	cfg := issuer.Config{
		ID:             "did:web:issuer.test",
		Key:            w.key,
		Keys:           &zk.Keys{VKID: "vk-test"}, // proofs are not checked by IssueVerified
		RegistryRoot:   func() fr.Element { return fr.Element{} },
		RevocationRoot: func() fr.Element { return fr.Element{} },
		Now:            w.clock.Now,
		BaseURL:        w.srv.URL,
		AdminToken:     testAdmin,
		IsNotFound:     func(err error) bool { return errors.Is(err, sqlite.ErrNotFound) },
		IsFinal:        func(err error) bool { return errors.Is(err, sqlite.ErrFinal) },
	}
	if mod != nil {
		mod(&cfg)
	}
	w.iss, err = issuer.New(cfg, st)
	require.NoError(t, err)
	h = w.iss.Handler()
	return w
}

// statement is a verified persona statement for scope at the clock's time.
func (w *world) statement(scope string) *persona.Statement {
	s, _ := zk.RandomElement()
	st := &persona.Statement{VK: "vk-test", Scope: scope, Nonce: "n"}
	st.Public.Scope = zk.Scope(scope)
	st.Public.Pseudonym = zk.Pseudonym(s, st.Public.Scope)
	st.Public.MinGrade = zk.GradeHigh
	st.Public.Now = w.clock.Now().Unix()
	// Proves age >= 18 and discloses the nationality: the credential has
	// selectively disclosable claims.
	birth, _ := zk.AttrByName("birth_date")
	st.Public.Predicates[0] = persona.Predicate{Slot: persona.SlotOf(birth.Index), Op: persona.OpLe, Value: zk.Int64(zk.Days(w.clock.Now().AddDate(-18, 0, 0)))}
	nat, _ := zk.AttrByName("nationality")
	de, _ := nat.Encode("DE")
	st.Public.Disclosures[0] = persona.Disclosure{Slot: persona.SlotOf(nat.Index), Value: de}
	return st
}

// issue issues a persona credential (SD-JWT VC) to a fresh persona key.
func (w *world) issue(t testing.TB) (*issuer.Issued, jwk.Key) {
	return w.issueAs(t, "")
}

// issueAs issues a persona credential in format to a fresh persona key.
func (w *world) issueAs(t testing.TB, format string) (*issuer.Issued, jwk.Key) {
	t.Helper()
	holder := newKey(t)
	pub, err := holder.PublicKey()
	require.NoError(t, err)
	out, err := w.iss.IssueVerified(context.Background(), w.statement(testScope), pub, format, w.clock.Now())
	require.NoError(t, err)
	return out, holder
}

// verifier is a relying party that trusts this issuer, on the same clock.
func (w *world) verifier(t testing.TB) *verifier.Verifier {
	set, err := w.iss.PublicKeys()
	require.NoError(t, err)
	v, err := verifier.New(verifier.Config{Issuers: sdjwt.StaticKeys(w.iss.ID(), set), Now: w.clock.Now})
	require.NoError(t, err)
	return v
}

// present verifies a fresh key-bound presentation of cred.
func (w *world) present(t testing.TB, v *verifier.Verifier, cred string, holder jwk.Key) error {
	t.Helper()
	tok, err := sdjwt.Parse(cred)
	require.NoError(t, err)
	pres, err := tok.Present(sdjwt.PresentRequest{Audience: testRP, Nonce: "rp-nonce", IssuedAt: w.clock.Now()}, holder)
	require.NoError(t, err)
	_, err = v.Verify(context.Background(), pres, verifier.Policy{Audience: testRP, Nonce: "rp-nonce", Scope: testScope})
	return err
}

// call sends a JSON request and returns the status and body.
func (w *world) call(t testing.TB, method, path, bearer string, body any) (int, http.Header, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, w.srv.URL+path, rd)
	require.NoError(t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := w.srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header, b
}

// problemType is the type of a problem+json body.
func problemType(t testing.TB, b []byte) string {
	var p struct{ Type string }
	require.NoError(t, json.Unmarshal(b, &p), string(b))
	return p.Type
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
