package issuer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/mustard-id/mustard/circuits/persona"
	"github.com/mustard-id/mustard/internal/benchenv"
	"github.com/mustard-id/mustard/issuer"
)

// benchEnv is the shared benchmark environment, with this package's helpers.
type benchEnv struct{ *benchenv.Env }

// BenchmarkHTTPIssue: persona credential issuance through POST /v1/persona
// over loopback HTTP, as deployed: proof decoding, roots, clock, holder
// binding, proof of possession, nonce, Groth16 verification, SQLite
// (nonce consumed, issuance and grade recorded), SD-JWT VC signing. The
// 32 proofs are real and each has its own issuer nonce; making a proof
// takes half a second, so they are made once and their nonces re-armed
// between rounds (outside the timed part). Each round sends the 32
// requests at once. Report: credentials/s, p50 and p99 request latency.
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
	run(b, rearm, pool, func(i int) error {
		resp, err := e.HTTP.Post(e.Base+"/v1/persona", "application/json", bytes.NewReader(bodies[i]))
		if err != nil {
			return err
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			return &httpError{resp.StatusCode, string(out)}
		}
		return nil
	})
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
