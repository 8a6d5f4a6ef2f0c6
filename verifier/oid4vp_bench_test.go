package verifier_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mustard-id/mustard/internal/benchenv"
	"github.com/mustard-id/mustard/internal/sdjwt"
	wallet "github.com/mustard-id/mustard/persona"
	"github.com/mustard-id/mustard/verifier"
)

// BenchmarkHTTPOID4VPResponse: OpenID4VP responses (a vp_token with one
// SD-JWT VC presentation, KB-JWT aud = client_id, one disclosure, DCQL
// evaluation, nonce spent in SQLite, result stored) posted to the
// Response Endpoint over loopback HTTP by 32 clients at once; with
// direct_post.jwt each response is also ECDH-ES decrypted. Creating the
// transactions and signing (and encrypting) the responses is outside the
// timed part. Report: responses/s, p50 and p99 latency.
func BenchmarkHTTPOID4VPResponse(b *testing.B) {
	e := &benchEnv{benchenv.New(b, "verifier")}
	tok, key := e.persona(b)
	ctx := context.Background()
	for _, mode := range []string{verifier.ResponseModeDirectPost, verifier.ResponseModeDirectPostJWT} {
		b.Run("mode="+mode, func(b *testing.B) {
			type job struct {
				uri  string
				form url.Values
			}
			mk := func() job {
				var tx verifier.OID4VPTransactionJSON
				if err := e.C.Post(ctx, "/v1/oid4vp/requests", verifier.OID4VPRequestJSON{Scope: benchScope, MinGrade: "substantial", RequiredClaims: []string{"age_over_18"}, ResponseMode: mode}, &tx); err != nil {
					b.Fatal(err)
				}
				req, err := wallet.FetchRequest(ctx, e.HTTP, tx.AuthorizationRequest)
				if err != nil {
					b.Fatal(err)
				}
				vp, err := tok.Present(sdjwt.PresentRequest{Disclose: []string{"age_over_18"}, Audience: tx.ClientID, Nonce: tx.Nonce}, key)
				if err != nil {
					b.Fatal(err)
				}
				r := &verifier.AuthorizationResponse{VPToken: map[string][]string{"persona": {vp}}, State: tx.State}
				form, err := r.Form()
				if mode == verifier.ResponseModeDirectPostJWT {
					var enc string
					enc, err = verifier.EncryptResponse(req.OID4VP, r)
					form = url.Values{"response": {enc}}
				}
				if err != nil {
					b.Fatal(err)
				}
				return job{req.OID4VP.ResponseURI, form}
			}
			post := func(j job) int {
				resp, err := e.HTTP.Post(j.uri, "application/x-www-form-urlencoded", strings.NewReader(j.form.Encode()))
				if err != nil {
					return 0
				}
				resp.Body.Close()
				return resp.StatusCode
			}
			if code := post(mk()); code != http.StatusOK {
				b.Fatalf("warm-up: %d", code)
			}
			jobs := make([]job, b.N)
			for i := range jobs {
				jobs[i] = mk()
			}
			var lat benchenv.Latencies
			var next, failed atomic.Int64
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
						code := post(jobs[i])
						lat.Add(time.Since(t0))
						if code != http.StatusOK {
							failed.Add(1)
						}
					}
				})
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			if failed.Load() != 0 {
				b.Fatalf("%d responses failed", failed.Load())
			}
			lat.Report(b, b.N, elapsed, "responses/s")
		})
	}
}
