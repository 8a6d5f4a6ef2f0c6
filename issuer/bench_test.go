package issuer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/mustard-id/mustard/circuits/persona"
	"github.com/mustard-id/mustard/internal/benchenv"
	"github.com/mustard-id/mustard/issuer"
)

// BenchmarkHTTPIssue: persona credential issuance through POST /v1/persona
// over loopback HTTP, as deployed: proof decoding, roots, clock, holder
// binding, proof of possession, nonce, Groth16 verification, SQLite
// (nonce consumed, issuance and grade recorded), SD-JWT VC signing. The
// 32 proofs are real and each has its own issuer nonce; making a proof
// takes half a second, so they are made once and their nonces re-armed
// between rounds (outside the timed part). Each round sends the 32
// requests at once. Report: credentials/s, p50 and p99 request latency.
// benchEnv is the shared benchmark environment, with this package's helpers.
type benchEnv struct{ *benchenv.Env }

func BenchmarkHTTPIssue(b *testing.B) {
	e := &benchEnv{benchenv.New(b, "issuer")}
	ctx := context.Background()
	const pool = 32
	const scope = "issue-bench.example"
	proofs, keys := e.Proofs(b, pool, scope, func(int) string {
		n, err := e.C.Nonce(ctx, scope)
		if err != nil {
			b.Fatal(err)
		}
		return n
	})
	bodies := make([][]byte, pool)
	for i, p := range proofs {
		body, err := issueBody(e, p, keys[i])
		if err != nil {
			b.Fatal(err)
		}
		bodies[i] = body
	}
	rearm := func() {
		if _, err := e.Srv.Store.DB().Exec(`UPDATE nonces SET used = 0 WHERE purpose = ?`, issuer.NoncePurpose); err != nil {
			b.Fatal(err)
		}
	}
	var lat benchenv.Latencies
	var elapsed time.Duration
	rounds := (b.N + pool - 1) / pool
	b.ResetTimer()
	// Round -1 warms connections and caches up and is not counted.
	for r := -1; r < rounds; r++ {
		b.StopTimer()
		rearm()
		b.StartTimer()
		start := time.Now()
		var wg sync.WaitGroup
		errs := make(chan error, pool)
		for i := range pool {
			wg.Go(func() {
				t0 := time.Now()
				resp, err := e.HTTP.Post(e.Base+"/v1/persona", "application/json", bytes.NewReader(bodies[i]))
				if err == nil {
					out, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusCreated {
						err = &httpError{resp.StatusCode, string(out)}
					}
				}
				lat.Add(time.Since(t0))
				if err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		if r >= 0 {
			elapsed += time.Since(start)
		} else {
			lat = benchenv.Latencies{}
		}
		close(errs)
		for err := range errs {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	lat.Report(b, rounds*pool, elapsed, "credentials/s")
}

type httpError struct {
	code int
	body string
}

func (e *httpError) Error() string { return http.StatusText(e.code) + ": " + e.body }

// issueBody is the persona request for proof, made with persona key pk.
func issueBody(e *benchEnv, proof *persona.ProofJSON, pk jwk.Key) ([]byte, error) {
	pub, err := pk.PublicKey()
	if err != nil {
		return nil, err
	}
	pj, err := json.Marshal(pub)
	if err != nil {
		return nil, err
	}
	pop, err := issuer.SignPossession(pk, e.Srv.Issuer.ID(), proof.Public.Nonce)
	if err != nil {
		return nil, err
	}
	return json.Marshal(issuer.RequestJSON{Proof: *proof, HolderJWK: pj, PoP: pop})
}
