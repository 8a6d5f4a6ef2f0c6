package coreid

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/mustard-id/mustard/internal/trust"
	"github.com/mustard-id/mustard/zk"
)

// jwtVCs signs n government JWT-VCs for n different people.
func (e *env) jwtVCs(b *testing.B, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = e.jwtVC(b, govID, with(person, "personal_number", fmt.Sprintf("NL-%09d", i)), e.now)
	}
	return out
}

// BenchmarkEnrollJWTVC measures enrollments per second through the
// Provider API: verify the JWT-VC, map and encode the attributes, sign the
// core credential (EdDSA on BN254), record the uniqueness tag in SQLite.
// Requests run in parallel, as an HTTP server runs them.
func BenchmarkEnrollJWTVC(b *testing.B) {
	e := newEnv(b)
	creds := e.jwtVCs(b, b.N)
	c := e.commitment(b).Commitment
	var next atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1) - 1
			if _, err := e.p.Enroll(context.Background(), EnrollRequest{Source: creds[i], Commitment: c}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "enrollments/s")
}

// BenchmarkEnrollJWTVCHTTP is the same over HTTP on loopback (JSON in and
// out, problem+json on error), with parallel clients.
func BenchmarkEnrollJWTVCHTTP(b *testing.B) {
	e := newEnv(b)
	srv := httptest.NewServer(e.p.Handler())
	defer srv.Close()
	creds := e.jwtVCs(b, b.N)
	c := zk.Hex(e.commitment(b).Commitment)
	bodies := make([][]byte, b.N)
	for i := range bodies {
		bodies[i], _ = json.Marshal(EnrollBody{Source: creds[i], Commitment: c, DeviceKeyHash: zk.Hex(zk.Int64(0))})
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	var next atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1) - 1
			resp, err := client.Post(srv.URL+"/v1/enroll", "application/json", bytes.NewReader(bodies[i]))
			if err != nil {
				b.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusCreated {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "enrollments/s")
}

// BenchmarkRevokeMillion measures revocations per second (store row and
// tree update, signed root excluded) when 1,000,000 entries are already
// revoked. The provider loads them from SQLite at start.
func BenchmarkRevokeMillion(b *testing.B) {
	const n = 1_000_000
	e := newEnv(b)
	tx, err := e.store.DB().Begin()
	if err != nil {
		b.Fatal(err)
	}
	stmt, err := tx.Prepare(`INSERT INTO revocations(entry, reason, created_at) VALUES(?, 'provider', ?)`)
	if err != nil {
		b.Fatal(err)
	}
	for range n {
		x, _ := zk.RandomElement()
		xb := x.Bytes()
		if _, err := stmt.Exec(xb[:], e.now.Unix()); err != nil {
			b.Fatal(err)
		}
	}
	stmt.Close()
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	p, err := New(context.Background(), e.p.cfg, e.store)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("loaded %d revoked entries in %s", p.revoked.Len(), time.Since(start).Round(time.Millisecond))
	nonces := make([]fr.Element, b.N)
	for i := range nonces {
		nonces[i], _ = zk.RandomElement()
	}
	b.ResetTimer()
	for i := range b.N {
		if err := p.Revoke(context.Background(), nonces[i], ReasonProvider); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "revocations/s")
}

// BenchmarkVerifySource measures verifying one source credential of each
// format (signature, claims, mapping; no store access).
func BenchmarkVerifySource(b *testing.B) {
	e := newEnv(b)
	holder := ecKey(b, "h")
	loader, err := NewDocumentLoader()
	if err != nil {
		b.Fatal(err)
	}
	sd := present(b, e.sdJWT(b, e.keys[bankID], person, e.now, holder), holder, provID, "n")
	cases := []struct {
		name string
		cred SourceCredential
	}{
		{"jwt-vc", SourceCredential{Credential: e.jwtVC(b, govID, person, e.now)}},
		{"sd-jwt-vc+kb", SourceCredential{Format: trust.FormatSDJWTVC, Credential: sd}},
		{"oidc", SourceCredential{Format: trust.FormatOIDC, Credential: idToken(b, e.keys[idpID], e.idClaims("n"))}},
		{"ldp-vc Ed25519Signature2020", SourceCredential{Format: trust.FormatLDPVC, Credential: ldVC(b, loader, e.ldDoc("https://w3id.org/security/suites/ed25519-2020/v1", map[string]any{"birthdate": "1990-04-12"}), "Ed25519Signature2020", e.keys[ldpID], ldpID+"#key-1")}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := e.p.VerifySource(context.Background(), c.cred, "n"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
