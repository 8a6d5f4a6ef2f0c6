// Package benchenv is the environment the issuer's and the verifier's HTTP
// benchmarks run in: a whole Mustard server on a loopback port, as
// deployed (the composition root, SQLite, real keys), and an enrolled
// wallet that derives persona proofs for them.
package benchenv

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/mustard-id/mustard/circuits/persona"
	"github.com/mustard-id/mustard/coreid"
	"github.com/mustard-id/mustard/internal/keystore"
	"github.com/mustard-id/mustard/internal/server"
	"github.com/mustard-id/mustard/internal/trust"
	wallet "github.com/mustard-id/mustard/persona"
	"github.com/mustard-id/mustard/zk"
)

// Env is a whole Mustard server on a loopback port. Its data directory
// persists under the temporary directory (one per name: go test runs
// packages at once) so that the Groth16 setup runs once per machine.
type Env struct {
	Srv  *server.Server
	HS   *httptest.Server
	Base string
	C    *wallet.Client
	HTTP *http.Client
}

// New starts the server for the benchmarks of the package called name.
func New(b testing.TB, name string) *Env {
	b.Helper()
	dir := filepath.Join(os.TempDir(), "mustard-bench-env-"+name)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv, err := server.Open(context.Background(), server.Options{DataDir: dir, Passphrase: "bench", PublicURL: "http://" + ln.Addr().String()})
	if err != nil {
		b.Fatal(err)
	}
	hs := httptest.NewUnstartedServer(srv.Handler())
	hs.Listener.Close()
	hs.Listener = ln
	hs.Start()
	b.Cleanup(func() { hs.Close(); srv.Close() })
	hc := &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256}}
	return &Env{Srv: srv, HS: hs, Base: hs.URL, HTTP: hc, C: &wallet.Client{BaseURL: hs.URL, HTTP: hc}}
}

// enroll enrolls a fresh subject (software keystore) and returns its wallet.
// Enroll enrolls a fresh software wallet (grade substantial: unattested).
func (e *Env) Enroll(b testing.TB) (*wallet.Wallet, []byte, *trust.Document, coreid.Snapshot) {
	b.Helper()
	ctx := context.Background()
	gov, err := e.C.Governance(ctx)
	if err != nil {
		b.Fatal(err)
	}
	fw, err := e.C.Framework(ctx, gov)
	if err != nil {
		b.Fatal(err)
	}
	pin := []byte("4711")
	w, err := wallet.Create(keystore.NewSoftware(), pin)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	src, err := coreid.SignJWTVC(e.Srv.SampleSource, server.SampleSourceID, "did:example:holder", []string{"PersonIdentificationData"},
		map[string]any{"personal_number": fmt.Sprintf("bench-%d", rand.Int64()), "birthdate": "2001-02-03", "nationality": "DE"}, now, now.Add(time.Hour))
	if err != nil {
		b.Fatal(err)
	}
	comm, err := w.Commitment(pin)
	if err != nil {
		b.Fatal(err)
	}
	en, err := e.C.Enroll(ctx, coreid.EnrollBody{Source: src, Commitment: zk.Hex(comm), DeviceKeyHash: zk.Hex(w.DeviceKeyHash())})
	if err != nil {
		b.Fatal(err)
	}
	if err := w.Accept(pin, fw, en); err != nil {
		b.Fatal(err)
	}
	snap, err := e.C.Revocations(ctx)
	if err != nil {
		b.Fatal(err)
	}
	return w, pin, fw, snap
}

// proofs derives n persona proofs for scope (age >= 18, grade substantial), the
// i-th with nonce(i), two at a time, and returns them with their persona
// keys.
func (e *Env) Proofs(b testing.TB, n int, scope string, nonce func(i int) string) ([]*persona.ProofJSON, []jwk.Key) {
	b.Helper()
	w, pin, fw, snap := e.Enroll(b)
	out := make([]*persona.ProofJSON, n)
	keys := make([]jwk.Key, n)
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	sem := make(chan struct{}, 2)
	for i := range n {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			key, err := wallet.NewPersonaKey()
			keys[i] = key
			if err == nil {
				out[i], err = w.Derive(context.Background(), e.Srv.Keys, pin, fw, snap, key, wallet.Query{Scope: scope, Nonce: nonce(i), MinGrade: zk.GradeSubstantial, Predicates: []string{"age>=18"}, Now: time.Now()})
			}
			if err != nil {
				mu.Lock()
				firstErr = err
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		b.Fatal(firstErr)
	}
	return out, keys
}

// Latencies collects request latencies for percentiles.
type Latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

// Add records one latency.
func (l *Latencies) Add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

// Report reports throughput (items per second of timed wall time) and the
// p50 and p99 request latencies.
func (l *Latencies) Report(b *testing.B, items int, elapsed time.Duration, unit string) {
	slices.Sort(l.d)
	pct := func(p float64) float64 {
		if len(l.d) == 0 {
			return 0
		}
		return float64(l.d[int(p*float64(len(l.d)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(float64(items)/elapsed.Seconds(), unit)
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}
