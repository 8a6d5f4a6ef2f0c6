package coreid

import (
	"context"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/mustard-id/mustard/internal/trust"
)

// BenchmarkVerifyDataIntegrity measures the verification of one VC 2.0
// PID credential through the Provider (parse, policy, two RDFC-1.0
// canonicalizations, hashes, signature), per cryptosuite, with parallel
// callers.
// (internal/dataintegrity benchmarks the canonicalization alone.)
func BenchmarkVerifyDataIntegrity(b *testing.B) {
	e := newEnv(b)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		key  jwk.Key
		vm   string
	}{
		{"eddsa-rdfc-2022", e.keys[ldpID], ldpID + "#key-1"},
		{"ecdsa-rdfc-2019-P-256", e.keys[ldpID+"#p256"], ldpID + "#p256"},
	} {
		raw := diVC(b, e.diDoc(person), tc.key, tc.vm, e.now)
		b.Run(tc.name, func(b *testing.B) {
			// In parallel, as the server runs requests.
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := e.p.VerifySource(ctx, SourceCredential{Format: trust.FormatLDPVC, Credential: raw}, ""); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "verifications/s")
		})
	}
}
