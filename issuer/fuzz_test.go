package issuer

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
)

// FuzzVerifyRevocation: a holder's revocation request JWT, arbitrary
// bytes, is refused or verified under the persona key, never a panic.
func FuzzVerifyRevocation(f *testing.F) {
	raw, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	key, _ := jwk.FromRaw(raw)
	pub, _ := key.PublicKey()
	good, err := SignRevocation(key, "did:web:issuer.example", "n", 3, "https://issuer.example/v1/status-lists/0", time.Unix(1_790_000_000, 0))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add("eyJhbGciOiJub25lIiwidHlwIjoibXVzdGFyZC1yZXZva2Urand0In0.e30.")
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, proof string) {
		c, err := verifyRevocation(pub, proof)
		if err == nil && c == nil {
			t.Fatal("no claims")
		}
	})
}

// FuzzParseStatusClaim: a credential's status claim maps to this issuer's
// list and an index inside it, or is refused.
func FuzzParseStatusClaim(f *testing.F) {
	i := &Issuer{cfg: Config{BaseURL: "https://issuer.example"}}
	f.Add(`{"status_list":{"idx":3,"uri":"https://issuer.example/v1/status-lists/0"}}`)
	f.Add(`{"status_list":{"idx":131072,"uri":"https://issuer.example/v1/status-lists/00"}}`)
	f.Add(`{"status_list":{"idx":1e300,"uri":"https://issuer.example/v1/status-lists/9223372036854775807"}}`)
	f.Fuzz(func(t *testing.T, s string) {
		var v any
		if json.Unmarshal([]byte(s), &v) != nil {
			return
		}
		ref, err := i.parseStatusClaim(v)
		if err != nil {
			return
		}
		if ref.Index < 0 || ref.Index >= ListSize || ref.List < 0 || ref.URI != i.StatusRef(ref.List*ListSize+ref.Index).URI {
			t.Fatalf("accepted %s as %+v", s, ref)
		}
	})
}

// FuzzUnverifiedExpiry never panics and bounds what it returns.
func FuzzUnverifiedExpiry(f *testing.F) {
	f.Add("eyJhbGciOiJFUzI1NiJ9.eyJleHAiOjE3OTAwMDAwMDB9.sig")
	f.Add("..")
	f.Fuzz(func(t *testing.T, s string) {
		if exp, ok := unverifiedExpiry(s); ok && (exp.Unix() <= 0 || exp.Unix() > 1<<40) {
			t.Fatal(exp)
		}
	})
}
