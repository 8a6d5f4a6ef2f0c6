package verifier

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/internal/sdjwt"
	"github.com/mustard-id/mustard/internal/statuslist"
)

const (
	tIssuer = "did:web:issuer.test"
	tRP     = "https://shop.example"
	tScope  = "shop.example"
)

func key(t testing.TB) jwk.Key {
	raw, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	k, err := jwk.FromRaw(raw)
	require.NoError(t, err)
	require.NoError(t, jwk.AssignKeyID(k))
	return k
}

func pubSet(t testing.TB, keys ...jwk.Key) jwk.Set {
	set := jwk.NewSet()
	for _, k := range keys {
		p, err := k.PublicKey()
		require.NoError(t, err)
		require.NoError(t, set.AddKey(p))
	}
	return set
}

// statusWorld is an issuer key, a status list served by a test server
// whose answer a test can change, and a credential pointing into it.
type statusWorld struct {
	issuerKey, holder jwk.Key
	now               time.Time
	srv               *httptest.Server
	fetches           atomic.Int32
	mu                sync.Mutex
	serve             func(w http.ResponseWriter, r *http.Request)
}

func newStatusWorld(t *testing.T) *statusWorld {
	sw := &statusWorld{issuerKey: key(t), holder: key(t), now: time.Now().Truncate(time.Second)}
	sw.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw.fetches.Add(1)
		sw.mu.Lock()
		f := sw.serve
		sw.mu.Unlock()
		f(w, r)
	}))
	t.Cleanup(sw.srv.Close)
	sw.setList(t, sw.signList(t, sw.issuerKey, sw.uri(), map[int]statuslist.Status{}, sw.now.Add(time.Hour)))
	return sw
}

func (sw *statusWorld) uri() string { return sw.srv.URL + "/v1/status-lists/0" }

func (sw *statusWorld) signList(t *testing.T, k jwk.Key, sub string, st map[int]statuslist.Status, exp time.Time) string {
	l, err := statuslist.New(2, 1024, statuslist.LSBFirst)
	require.NoError(t, err)
	for i, s := range st {
		require.NoError(t, l.Set(i, uint8(s)))
	}
	iat := sw.now.Add(-time.Minute)
	if !exp.After(iat) {
		iat = exp.Add(-time.Hour)
	}
	tok, err := (&statuslist.Token{Issuer: tIssuer, Subject: sub, IssuedAt: iat, Expiry: exp, TTL: 5 * time.Minute, List: l}).Sign(k)
	require.NoError(t, err)
	return tok
}

func (sw *statusWorld) setList(t *testing.T, tok string) {
	sw.setHandler(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", statuslist.MediaType)
		_, _ = w.Write([]byte(tok))
	})
}

func (sw *statusWorld) setHandler(f func(w http.ResponseWriter, r *http.Request)) {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	sw.serve = f
}

// presentation issues a credential with status {idx, uri} and presents it.
func (sw *statusWorld) presentation(t *testing.T, idx any, uri string) string {
	pub, err := sw.holder.PublicKey()
	require.NoError(t, err)
	cred, err := sdjwt.Issue(sdjwt.IssueRequest{
		Issuer: tIssuer, VCT: VCT, IssuedAt: sw.now.Add(-time.Minute), Expiry: sw.now.Add(time.Hour),
		Status:    map[string]any{"status_list": map[string]any{"idx": idx, "uri": uri}},
		Claims:    map[string]any{"scope": tScope, "pseudonym": "0x01", "grade": "high"},
		HolderKey: pub,
	}, sw.issuerKey)
	require.NoError(t, err)
	tok, err := sdjwt.Parse(cred)
	require.NoError(t, err)
	pres, err := tok.Present(sdjwt.PresentRequest{Audience: tRP, Nonce: "n", IssuedAt: sw.now}, sw.holder)
	require.NoError(t, err)
	return pres
}

func (sw *statusWorld) verifier(t *testing.T, now *time.Time) *Verifier {
	v, err := New(Config{Issuers: sdjwt.StaticKeys(tIssuer, pubSet(t, sw.issuerKey)), Now: func() time.Time { return *now }})
	require.NoError(t, err)
	return v
}

func verifyWith(v *Verifier, pres string) error {
	_, err := v.Verify(context.Background(), pres, Policy{Audience: tRP, Nonce: "n", Scope: tScope})
	return err
}

func TestStatusChecked(t *testing.T) {
	t.Parallel()
	sw := newStatusWorld(t)
	now := sw.now
	sw.setList(t, sw.signList(t, sw.issuerKey, sw.uri(), map[int]statuslist.Status{3: statuslist.Invalid, 4: statuslist.Suspended, 5: 3}, now.Add(time.Hour)))
	v := sw.verifier(t, &now)
	require.NoError(t, verifyWith(v, sw.presentation(t, 2, sw.uri())))
	require.ErrorIs(t, verifyWith(v, sw.presentation(t, 3, sw.uri())), ErrRevoked)
	require.ErrorIs(t, verifyWith(v, sw.presentation(t, 4, sw.uri())), ErrSuspended)
	require.ErrorIs(t, verifyWith(v, sw.presentation(t, 5, sw.uri())), ErrRevoked, "an undefined status is not valid")
	require.EqualValues(t, 1, sw.fetches.Load(), "one fetch, then the cache")
}

func TestStatusUnavailable(t *testing.T) {
	t.Parallel()
	sw := newStatusWorld(t)
	now := sw.now
	other := key(t)
	for _, tc := range []struct {
		name  string
		idx   any
		uri   string
		serve func(w http.ResponseWriter, r *http.Request)
		list  string
	}{
		{name: "HTTP 500", serve: func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }},
		{name: "wrong media type", serve: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/jwt")
			_, _ = w.Write([]byte(sw.signList(t, sw.issuerKey, sw.uri(), nil, now.Add(time.Hour))))
		}},
		{name: "too large", serve: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", statuslist.MediaType)
			_, _ = w.Write([]byte(strings.Repeat("a", statuslist.MaxToken+1)))
		}},
		{name: "signed by another key", list: sw.signList(t, other, sw.uri(), nil, now.Add(time.Hour))},
		{name: "for another list", list: sw.signList(t, sw.issuerKey, sw.uri()+"9", nil, now.Add(time.Hour))},
		{name: "expired list", list: sw.signList(t, sw.issuerKey, sw.uri(), nil, now.Add(-2*time.Minute))},
		{name: "index past the list", idx: 4096},
		{name: "negative index", idx: -1},
		{name: "fractional index", idx: 1.5},
		{name: "index as a string", idx: "1"},
		{name: "plain http off loopback", uri: "http://status.example/v1/status-lists/0"},
		{name: "plain http to a LAN address", uri: "http://192.168.1.10/v1/status-lists/0"},
		{name: "not a URL", uri: "::"},
		{name: "server gone", uri: "http://127.0.0.1:1/v1/status-lists/0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			switch {
			case tc.serve != nil:
				sw.setHandler(tc.serve)
			case tc.list != "":
				sw.setList(t, tc.list)
			default:
				sw.setList(t, sw.signList(t, sw.issuerKey, sw.uri(), nil, now.Add(time.Hour)))
			}
			idx, uri := tc.idx, tc.uri
			if idx == nil {
				idx = 1
			}
			if uri == "" {
				uri = sw.uri()
			}
			require.ErrorIs(t, verifyWith(sw.verifier(t, &now), sw.presentation(t, idx, uri)), ErrStatusUnavailable)
		})
	}
}

// The cache: one fetch for many concurrent verifications, a fresh fetch
// after the ttl, and a failed fetch is not cached.
func TestStatusCache(t *testing.T) {
	t.Parallel()
	sw := newStatusWorld(t)
	now := sw.now
	v := sw.verifier(t, &now)
	pres := sw.presentation(t, 1, sw.uri())
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() { require.NoError(t, verifyWith(v, pres)) })
	}
	wg.Wait()
	require.EqualValues(t, 1, sw.fetches.Load())

	sw.setList(t, sw.signList(t, sw.issuerKey, sw.uri(), map[int]statuslist.Status{1: statuslist.Invalid}, now.Add(time.Hour)))
	require.NoError(t, verifyWith(v, pres), "cached for the ttl")
	// Later: a fresh presentation (key-binding JWTs are short-lived).
	now = now.Add(5*time.Minute + time.Second)
	sw.now = now
	pres = sw.presentation(t, 1, sw.uri())
	require.ErrorIs(t, verifyWith(v, pres), ErrRevoked)
	require.EqualValues(t, 2, sw.fetches.Load())

	now = now.Add(6 * time.Minute)
	sw.now = now
	pres = sw.presentation(t, 2, sw.uri())
	sw.setHandler(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) })
	require.ErrorIs(t, verifyWith(v, pres), ErrStatusUnavailable)
	sw.setList(t, sw.signList(t, sw.issuerKey, sw.uri(), nil, now.Add(time.Hour)))
	require.NoError(t, verifyWith(v, pres), "the failure was not cached")
}
