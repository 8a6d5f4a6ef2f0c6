package persona_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/coreid"
	"github.com/mustard-id/mustard/internal/store/sqlite"
	"github.com/mustard-id/mustard/persona"
	"github.com/mustard-id/mustard/zk"
)

// countingProvider serves a provider (which the test can swap, as a
// reset would) and counts the revocation entries it sends.
type countingProvider struct {
	h       atomic.Pointer[http.Handler]
	mu      sync.Mutex
	entries int
	pages   int
}

func (cp *countingProvider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := httptest.NewRecorder()
	(*cp.h.Load()).ServeHTTP(rec, r)
	if r.URL.Path == "/v1/revocations" && rec.Code == http.StatusOK {
		var j coreid.SnapshotJSON
		if json.Unmarshal(rec.Body.Bytes(), &j) == nil {
			cp.mu.Lock()
			cp.entries += len(j.Entries)
			cp.pages++
			cp.mu.Unlock()
		}
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

func (cp *countingProvider) served() int {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	n := cp.entries
	cp.entries, cp.pages = 0, 0
	return n
}

type revFixture struct {
	k    *kofn
	cp   *countingProvider
	c    *persona.Client
	prov string
	path string
	key  []byte
}

func newRevFixture(t *testing.T) *revFixture {
	k := newKofn(t, 1, nil)
	cp := &countingProvider{}
	h := k.prov[0].Handler()
	cp.h.Store(&h)
	srv := httptest.NewServer(cp)
	t.Cleanup(srv.Close)
	key := make([]byte, 32)
	key[0] = 7
	return &revFixture{k: k, cp: cp, c: &persona.Client{BaseURL: srv.URL, HTTP: srv.Client(), RevocationPage: 4},
		prov: hex.EncodeToString(k.keys[0].Public().Bytes()), path: filepath.Join(t.TempDir(), "revocations", "p.bin"), key: key}
}

func revoke(t *testing.T, p *coreid.Provider, n int) {
	t.Helper()
	for range n {
		x, err := zk.RandomElement()
		require.NoError(t, err)
		require.NoError(t, p.Revoke(context.Background(), x, coreid.ReasonProvider))
	}
}

// sync is a fresh RevocationFile each time, as each run of the
// command-line wallet makes.
func (f *revFixture) sync(t *testing.T) (*persona.RevocationCache, persona.RevocationSync) {
	t.Helper()
	rc, rs, err := persona.NewRevocationFile(f.path, f.prov, f.key).Sync(context.Background(), f.c)
	require.NoError(t, err)
	require.Equal(t, f.k.prov[0].RevocationRoot(), rc.Root())
	return rc, rs
}

// The second derivation's sync reads the file and downloads only the
// entries revoked since; with nothing new it downloads nothing and does
// not rewrite the file.
func TestRevocationFileIncremental(t *testing.T) {
	f := newRevFixture(t)
	p := f.k.prov[0]
	revoke(t, p, 9)
	rc, rs := f.sync(t)
	require.Equal(t, 9, rc.Len())
	require.Equal(t, persona.RevocationSync{Fetched: 9, Saved: true}, persona.RevocationSync{Loaded: rs.Loaded, Fetched: rs.Fetched, Rebuilt: rs.Rebuilt, Saved: rs.Saved})
	require.Equal(t, 9, f.cp.served())
	st, err := os.Stat(f.path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm())

	revoke(t, p, 5)
	rc, rs = f.sync(t)
	require.Equal(t, 14, rc.Len())
	require.Equal(t, 9, rs.Loaded)
	require.Equal(t, 5, rs.Fetched)
	require.Empty(t, rs.Rebuilt)
	require.True(t, rs.Saved)
	require.Equal(t, 5, f.cp.served(), "only the new entries cross the network")

	before, err := os.ReadFile(f.path)
	require.NoError(t, err)
	_, rs = f.sync(t)
	require.Equal(t, 14, rs.Loaded)
	require.Zero(t, rs.Fetched)
	require.False(t, rs.Saved)
	require.Zero(t, f.cp.served())
	after, err := os.ReadFile(f.path)
	require.NoError(t, err)
	require.Equal(t, before, after)
}

// A cache file that was corrupted or altered (any byte, or a file written
// under another wallet's key, or for another provider, or whose tree is
// not the signed one even with a valid MAC) is detected and rebuilt from
// the provider, never used.
func TestRevocationFileTamperedIsRebuilt(t *testing.T) {
	f := newRevFixture(t)
	p := f.k.prov[0]
	revoke(t, p, 6)
	f.sync(t)
	f.cp.served()
	good, err := os.ReadFile(f.path)
	require.NoError(t, err)

	check := func(name string, b []byte, want string) {
		t.Helper()
		require.NoError(t, os.WriteFile(f.path, b, 0o600), name)
		rc, rs := f.sync(t)
		require.Contains(t, rs.Rebuilt, want, name)
		require.Zero(t, rs.Loaded, name)
		require.Equal(t, 6, rs.Fetched, name)
		require.Equal(t, 6, f.cp.served(), name)
		require.Equal(t, 6, rc.Len(), name)
		require.True(t, rs.Saved, name)
		b, err := os.ReadFile(f.path)
		require.NoError(t, err)
		require.Equal(t, len(good), len(b), name)
		// The rebuilt file loads again.
		_, rs = f.sync(t)
		require.Equal(t, 6, rs.Loaded, name)
		require.Empty(t, rs.Rebuilt, name)
	}
	for _, off := range []int{0, 20, len(good) / 2, len(good) - 40, len(good) - 1} {
		b := bytes.Clone(good)
		b[off] ^= 0x40
		check("byte flipped", b, "corrupt or was altered")
	}
	check("truncated", good[:len(good)-100], "MAC")
	check("empty", nil, "truncated")

	// Valid MACs, wrong content.
	cached, err := persona.ParseRevocationFile(good, f.key)
	require.NoError(t, err)
	other := bytes.Clone(f.key)
	other[1] ^= 1
	b, err := persona.EncodeRevocationFile(f.prov, f.c.BaseURL, cached.SignedRoot, cached.Tree, other)
	require.NoError(t, err)
	check("another wallet's key", b, "MAC")
	b, err = persona.EncodeRevocationFile("00"+f.prov[2:], f.c.BaseURL, cached.SignedRoot, cached.Tree, f.key)
	require.NoError(t, err)
	check("another provider", b, "another provider")
	b, err = persona.EncodeRevocationFile(f.prov, "https://elsewhere.example", cached.SignedRoot, cached.Tree, f.key)
	require.NoError(t, err)
	check("another server", b, "another server")
	x, err := zk.RandomElement()
	require.NoError(t, err)
	require.NoError(t, cached.Tree.Insert(x))
	b, err = persona.EncodeRevocationFile(f.prov, f.c.BaseURL, cached.SignedRoot, cached.Tree, f.key)
	require.NoError(t, err)
	check("a tree the provider did not sign", b, "root the provider signed")
	b, err = persona.EncodeRevocationFile(f.prov, f.c.BaseURL, "e30.e30.AAAA", cached.Tree, f.key)
	require.NoError(t, err)
	check("a forged signed root", b, "signed revocation root")
}

// A provider reset or rebuilt under the same key (a shorter tree, or one
// as long but with other entries) is detected: the cache is rebuilt from
// scratch and ends at the new provider's signed root.
func TestRevocationFileProviderReset(t *testing.T) {
	f := newRevFixture(t)
	revoke(t, f.k.prov[0], 7)
	f.sync(t)
	f.cp.served()

	reset := func(n int) {
		t.Helper()
		st, err := sqlite.Open(filepath.Join(t.TempDir(), "reset.db"))
		require.NoError(t, err)
		t.Cleanup(func() { st.Close() })
		c := coreid.Config{Framework: f.k.fw, Key: f.k.keys[0], TagKey: make([]byte, 32),
			IsDuplicate: func(err error) bool { return errors.Is(err, sqlite.ErrDuplicate) },
			IsNotFound:  func(err error) bool { return errors.Is(err, sqlite.ErrNotFound) }}
		p, err := coreid.New(context.Background(), c, st)
		require.NoError(t, err)
		revoke(t, p, n)
		h := p.Handler()
		f.cp.h.Store(&h)
		f.k.prov[0] = p
	}
	for _, n := range []int{3, 7, 12} { // shorter, as long, longer
		reset(n)
		rc, rs := f.sync(t)
		require.Contains(t, rs.Rebuilt, "reset", n)
		require.Equal(t, n, rc.Len())
		require.True(t, rs.Saved)
		_, rs = f.sync(t)
		require.Empty(t, rs.Rebuilt)
		require.Equal(t, n, rs.Loaded)
		f.cp.served()
	}
}
