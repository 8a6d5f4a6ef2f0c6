package persona

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/mustard-id/mustard/coreid"
	"github.com/mustard-id/mustard/zk"
)

// benchProvider serves GET /v1/revocations (?since, &limit) and
// /v1/revocations/keys from an in-memory tree, signing its roots as a
// provider does: a million entries without a million enrollments.
type benchProvider struct {
	mu   sync.Mutex
	tree *zk.IndexedTree
	key  jwk.Key
	pub  jwk.Set
}

func newBenchProvider(b *testing.B, tree *zk.IndexedTree) *benchProvider {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	k, _ := jwk.FromRaw(priv)
	_ = k.Set(jwk.KeyIDKey, "root-1")
	_ = k.Set(jwk.AlgorithmKey, jwa.EdDSA)
	pk, _ := k.PublicKey()
	set := jwk.NewSet()
	_ = set.AddKey(pk)
	return &benchProvider{tree: tree, key: k, pub: set}
}

func (p *benchProvider) signed() string {
	st, _ := json.Marshal(coreid.RootStatement{Provider: "ab", Root: zk.Hex(p.tree.Root()), Size: p.tree.Len()})
	hdr := jws.NewHeaders()
	_ = hdr.Set(jws.TypeKey, coreid.RootMediaType)
	s, err := jws.Sign(st, jws.WithKey(jwa.EdDSA, p.key, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		panic(err)
	}
	return string(s)
}

func (p *benchProvider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if r.URL.Path == "/v1/revocations/keys" {
		_ = json.NewEncoder(w).Encode(p.pub)
		return
	}
	since, _ := strconv.Atoi(r.URL.Query().Get("since"))
	limit, err := strconv.Atoi(r.URL.Query().Get("limit"))
	if err != nil {
		limit = RevocationPage
	}
	if since > p.tree.Len() {
		http.Error(w, "since", http.StatusBadRequest)
		return
	}
	out := coreid.SnapshotJSON{Root: zk.Hex(p.tree.Root()), Since: since, Size: p.tree.Len(), SignedRoot: p.signed(), Entries: []string{}}
	for _, e := range p.tree.ValuesRange(since, since+limit) {
		out.Entries = append(out.Entries, zk.Hex(e))
	}
	_ = json.NewEncoder(w).Encode(out)
}

// BenchmarkRevocationFileMillion: the command-line wallet's revocation
// cache at a million revocations (a 96 MB file). load is reading the
// file, checking its MAC and the provider's signed root, and decoding
// the tree; sync100 is a whole Sync as a derivation runs it when 100
// entries were revoked since the last one: root keys, load, the 100
// entries over HTTP, inserting them, checking the new signed root and
// saving the file.
func BenchmarkRevocationFileMillion(b *testing.B) {
	const n = 1_000_000
	vals := make([]fr.Element, n)
	for i := range vals {
		vals[i].SetRandom()
	}
	tree, err := zk.IndexedTreeFrom(coreid.RevocationDepth, vals)
	if err != nil {
		b.Fatal(err)
	}
	p := newBenchProvider(b, tree)
	srv := httptest.NewServer(p)
	defer srv.Close()
	key := bytes.Repeat([]byte{3}, 32)
	file, err := encodeRevocationFile("ab", srv.URL, p.signed(), tree, key)
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "ab.bin")
	f := NewRevocationFile(path, "ab", key)
	b.Run("load", func(b *testing.B) {
		if err := os.WriteFile(path, file, 0o600); err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(file)))
		for b.Loop() {
			t, err := f.load(srv.URL, p.pub)
			if err != nil || t.Len() != n {
				b.Fatal(err)
			}
		}
	})
	// The provider's tree gains 100 entries; each round starts from the
	// saved million-entry file.
	grown, err := zk.DecodeIndexedTree(coreid.RevocationDepth, n, file[len(file)-macLen-zk.EncodedLen(coreid.RevocationDepth, n):len(file)-macLen])
	if err != nil {
		b.Fatal(err)
	}
	for range 100 {
		var x fr.Element
		x.SetRandom()
		if err := grown.Insert(x); err != nil {
			b.Fatal(err)
		}
	}
	p.mu.Lock()
	p.tree = grown
	p.mu.Unlock()
	c := &Client{BaseURL: srv.URL, HTTP: srv.Client()}
	b.Run("sync100", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			if err := os.WriteFile(path, file, 0o600); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			rc, rs, err := f.Sync(context.Background(), c)
			if err != nil || rs.Fetched != 100 || rs.Rebuilt != "" || rc.Len() != n+100 {
				b.Fatal(err, rs)
			}
			b.ReportMetric(float64(rs.Load.Milliseconds()), "load-ms")
		}
	})
}
