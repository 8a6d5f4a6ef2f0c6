package verifier_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/mustard-id/mustard/internal/benchenv"
	"github.com/mustard-id/mustard/internal/sdjwt"
	wallet "github.com/mustard-id/mustard/persona"
	"github.com/mustard-id/mustard/verifier"
	"github.com/mustard-id/mustard/zk"
)

const (
	benchAud   = "https://bench.example"
	benchScope = "bench.example"
)

// benchEnv is the shared benchmark environment, with this package's helpers.
type benchEnv struct{ *benchenv.Env }

func (e *benchEnv) post(path string, body []byte) (int, []byte, error) {
	resp, err := e.HTTP.Post(e.Base+path, "application/json", bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

func (e *benchEnv) rpNonce(b *testing.B) string {
	var preq verifier.PresentationRequestJSON
	if err := e.C.Post(context.Background(), "/v1/presentation-requests", verifier.RequestJSON{Audience: benchAud}, &preq); err != nil {
		b.Fatal(err)
	}
	return preq.Nonce
}

// persona enrolls, derives a persona for benchScope proving age >= 18
// (a real proof) and has its SD-JWT VC issued: the credential and the
// persona key the benchmarks present with.
func (e *benchEnv) persona(b *testing.B) (*sdjwt.Token, jwk.Key) {
	b.Helper()
	ctx := context.Background()
	key, err := wallet.NewPersonaKey()
	if err != nil {
		b.Fatal(err)
	}
	w, pin, fw, snap := e.Enroll(b)
	n, err := e.C.Nonce(ctx, benchScope)
	if err != nil {
		b.Fatal(err)
	}
	proof, err := w.Derive(ctx, e.Srv.Keys, pin, fw, snap, key, wallet.Query{Scope: benchScope, Nonce: n, MinGrade: zk.GradeSubstantial, Predicates: []string{"age>=18"}, Now: time.Now()})
	if err != nil {
		b.Fatal(err)
	}
	iss, err := e.C.Issue(ctx, e.Srv.Issuer.ID(), proof, key)
	if err != nil {
		b.Fatal(err)
	}
	tok, err := sdjwt.Parse(iss.Credential)
	if err != nil {
		b.Fatal(err)
	}
	return tok, key
}

// BenchmarkHTTPVerifySDJWT: SD-JWT VC presentations (ES256, key binding,
// one disclosure, status list check) verified through the verification
// API over loopback HTTP, 32 clients at once. Each presentation has its
// own relying-party nonce, consumed in SQLite; creating the nonces and
// signing the presentations is outside the timed part. Report:
// verifications/s, p50 and p99 request latency.
func BenchmarkHTTPVerifySDJWT(b *testing.B) {
	e := &benchEnv{benchenv.New(b, "verifier")}
	tok, key := e.persona(b)
	body := func() []byte {
		n := e.rpNonce(b)
		vp, err := tok.Present(sdjwt.PresentRequest{Disclose: []string{"age_over_18"}, Audience: benchAud, Nonce: n}, key)
		if err != nil {
			b.Fatal(err)
		}
		j, _ := json.Marshal(verifier.VerifyJSON{Presentation: vp, Audience: benchAud, Scope: benchScope, Nonce: n, MinGrade: "substantial", RequiredClaims: []string{"age_over_18"}})
		return j
	}
	// Warm up: connections, and the status list in the verifier's cache.
	if code, out, err := e.post("/v1/presentations/verify", body()); err != nil || code != http.StatusOK {
		b.Fatalf("warm-up: %d %s %v", code, out, err)
	}
	bodies := make([][]byte, b.N)
	for i := range bodies {
		bodies[i] = body()
	}
	var lat benchenv.Latencies
	var next atomic.Int64
	var failed atomic.Int64
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				t0 := time.Now()
				code, _, err := e.post("/v1/presentations/verify", bodies[i])
				lat.Add(time.Since(t0))
				if err != nil || code != http.StatusOK {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if failed.Load() != 0 {
		b.Fatalf("%d verifications failed", failed.Load())
	}
	lat.Report(b, b.N, elapsed, "verifications/s")
}

// BenchmarkHTTPVerifySelfIssuedBatch: self-issued persona proofs (Groth16)
// verified through POST /v1/presentations/verify-batch over loopback
// HTTP, one batch per call. The proofs are real and each has its own
// relying-party nonce; as making a proof takes half a second, the 32
// proofs are made once and their nonces re-armed in the store between
// calls (outside the timed part). Report: proofs/s, p50 and p99 call
// latency.
func BenchmarkHTTPVerifySelfIssuedBatch(b *testing.B) {
	e := &benchEnv{benchenv.New(b, "verifier")}
	const pool = 32
	proofs, _ := e.Proofs(b, pool, benchScope, func(int) string { return e.rpNonce(b) })
	rearm := func() {
		if _, err := e.Srv.Store.DB().Exec(`UPDATE nonces SET used = 0 WHERE purpose = ?`, verifier.NoncePurpose+":"+benchAud); err != nil {
			b.Fatal(err)
		}
	}
	for _, size := range []int{8, 32} {
		b.Run(map[int]string{8: "batch=8", 32: "batch=32"}[size], func(b *testing.B) {
			items := make([]verifier.VerifyJSON, size)
			for i := range items {
				items[i] = verifier.VerifyJSON{Proof: proofs[i], Audience: benchAud, Scope: benchScope, MinGrade: "substantial", RequiredClaims: []string{"age_over_18"}}
			}
			body, _ := json.Marshal(verifier.BatchJSON{Items: items})
			var lat benchenv.Latencies
			var elapsed time.Duration
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				rearm()
				b.StartTimer()
				t0 := time.Now()
				code, out, err := e.post("/v1/presentations/verify-batch", body)
				d := time.Since(t0)
				elapsed += d
				lat.Add(d)
				if err != nil || code != http.StatusOK {
					b.Fatalf("%d %s %v", code, out, err)
				}
				var res verifier.BatchResponseJSON
				if err := json.Unmarshal(out, &res); err != nil {
					b.Fatal(err)
				}
				for _, r := range res.Results {
					if !r.Valid {
						b.Fatalf("an item failed: %+v", r.Problem)
					}
				}
			}
			lat.Report(b, size*b.N, elapsed, "proofs/s")
		})
	}
}
