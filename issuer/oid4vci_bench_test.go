package issuer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mustard-id/mustard/internal/benchenv"
	"github.com/mustard-id/mustard/internal/oid4vci"
	"github.com/mustard-id/mustard/issuer"
)

// BenchmarkOID4VCIIssue: persona credential issuance through OpenID4VCI
// over loopback HTTP, as deployed, each credential its own protocol run:
// POST /v1/oid4vci/offers (a pre-authorized code), POST /v1/oid4vci/token,
// POST /v1/oid4vci/credential (access token, jwt key proof over a c_nonce,
// the persona proof: every check of POST /v1/persona, Groth16
// verification, SQLite, SD-JWT VC signing). The 32 proofs are real, each
// made for its own c_nonce; their c_nonces are re-armed between rounds
// (outside the timed part). Each round runs the 32 flows at once.
// Report: credentials/s, p50 and p99 latency of a whole flow.
//
// The sub-benchmark credential times the credential endpoint alone (the
// counterpart of POST /v1/persona in BenchmarkHTTPIssue): the offers and
// access tokens are made once and re-armed between rounds with the
// c_nonces.
func BenchmarkOID4VCIIssue(b *testing.B) {
	e := &benchEnv{benchenv.New(b, "issuer")}
	const pool = 32
	const scope = "vci-bench.example"
	nonces := make([]string, pool)
	proofs, keys := e.Proofs(b, pool, scope, func(i int) string {
		var n oid4vci.NonceResponse
		if err := e.C.Post(context.Background(), "/v1/oid4vci/nonce", nil, &n); err != nil {
			b.Fatal(err)
		}
		nonces[i] = n.CNonce
		return n.CNonce
	})
	bodies := make([][]byte, pool)
	for i, p := range proofs {
		kp, err := oid4vci.SignKeyProof(keys[i], e.Base, nonces[i], time.Now())
		if err != nil {
			b.Fatal(err)
		}
		pj, _ := json.Marshal(p)
		bodies[i], _ = json.Marshal(oid4vci.CredentialRequest{ConfigurationID: issuer.ConfigPersonaSDJWT, Proofs: &oid4vci.Proofs{JWT: []string{kp}},
			Extensions: map[string]json.RawMessage{issuer.PersonaProofParam: pj}})
	}
	rearm := func() {
		if _, err := e.Srv.Store.DB().Exec(`UPDATE nonces SET used = 0 WHERE purpose = ?`, issuer.VCINoncePurpose); err != nil {
			b.Fatal(err)
		}
		if _, err := e.Srv.Store.DB().Exec(`UPDATE vci_grants SET used = 0 WHERE kind = 'token'`); err != nil {
			b.Fatal(err)
		}
	}
	token := func() (string, error) {
		resp, err := e.HTTP.Post(e.Base+"/v1/oid4vci/offers", "application/json", strings.NewReader(`{}`))
		if err != nil {
			return "", err
		}
		var offer oid4vci.OfferResult
		err = json.NewDecoder(resp.Body).Decode(&offer)
		resp.Body.Close()
		if err != nil {
			return "", err
		}
		resp, err = e.HTTP.PostForm(e.Base+"/v1/oid4vci/token", url.Values{"grant_type": {oid4vci.GrantPreAuthorized}, "pre-authorized_code": {offer.Offer.Grants.PreAuthorized.Code}})
		if err != nil {
			return "", err
		}
		var tok oid4vci.TokenResponse
		err = json.NewDecoder(resp.Body).Decode(&tok)
		resp.Body.Close()
		return tok.AccessToken, err
	}
	credential := func(tok string, body []byte) error {
		req, _ := http.NewRequest(http.MethodPost, e.Base+"/v1/oid4vci/credential", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := e.HTTP.Do(req)
		if err != nil {
			return err
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return &httpError{resp.StatusCode, string(out)}
		}
		return nil
	}
	tokens := make([]string, pool)
	for i := range tokens {
		var err error
		if tokens[i], err = token(); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("flow", func(b *testing.B) {
		run(b, rearm, pool, func(i int) error {
			tok, err := token()
			if err != nil {
				return err
			}
			return credential(tok, bodies[i])
		})
	})
	b.Run("credential", func(b *testing.B) {
		run(b, rearm, pool, func(i int) error { return credential(tokens[i], bodies[i]) })
	})
}

// run times rounds of pool concurrent calls of f (re-arming between
// rounds, outside the timed part) and reports credentials/s and latencies.
func run(b *testing.B, rearm func(), pool int, f func(i int) error) {
	var lat benchenv.Latencies
	var elapsed time.Duration
	rounds := (b.N + pool - 1) / pool
	b.ResetTimer()
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
				err := f(i)
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
