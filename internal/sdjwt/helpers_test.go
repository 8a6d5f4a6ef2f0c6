package sdjwt

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/stretchr/testify/require"
)

// Fixed test material. testdata/keys.json holds private JWKs generated for
// these tests only (crypto/rand, once); fixed keys keep the fuzz corpus
// verifiable.
const (
	testIssuer   = "https://tip.mustard.example"
	testVCT      = "https://mustard.example/vct/persona"
	testAudience = "https://rp.example"
	testNonce    = "n-0S6_WzA2Mj"
)

// testNow is the verification time of every fixed-time test: 2026-01-01.
var testNow = time.Unix(1767225600, 0).UTC()

type testKeys struct {
	issuerES, issuerEd, holderES, holderEd, otherES jwk.Key
}

func loadKeys(tb testing.TB) testKeys {
	tb.Helper()
	b, err := os.ReadFile("testdata/keys.json")
	require.NoError(tb, err)
	set, err := jwk.Parse(b)
	require.NoError(tb, err)
	get := func(kid string) jwk.Key {
		k, ok := set.LookupKeyID(kid)
		require.True(tb, ok, kid)
		return k
	}
	return testKeys{
		issuerES: get("issuer-es256"),
		issuerEd: get("issuer-eddsa"),
		holderES: get("holder-es256"),
		holderEd: get("holder-eddsa"),
		otherES:  get("other-es256"),
	}
}

// publicSet returns a set of the public halves of keys.
func publicSet(tb testing.TB, keys ...jwk.Key) jwk.Set {
	tb.Helper()
	set := jwk.NewSet()
	for _, k := range keys {
		pub, err := jwk.PublicKeyOf(k)
		require.NoError(tb, err)
		require.NoError(tb, set.AddKey(pub))
	}
	return set
}

// personaRequest is a persona credential with three disclosable claims.
func personaRequest(holder jwk.Key) IssueRequest {
	return IssueRequest{
		Issuer:    testIssuer,
		VCT:       testVCT,
		IssuedAt:  testNow.Add(-time.Hour),
		Expiry:    testNow.Add(30 * 24 * time.Hour),
		Status:    map[string]any{"status_list": map[string]any{"idx": 42, "uri": "https://tip.mustard.example/status/1"}},
		Claims:    map[string]any{"scope": "forum.example", "pseudonym": "8c5f0e", "grade": 2},
		HolderKey: holder,
		Disclosable: map[string]any{
			"age_over_18": true,
			"country":     "DE",
			"given_name":  "Möbius <&>",
		},
		Decoys: 3,
	}
}

func issueT(tb testing.TB, req IssueRequest, signer jwk.Key) string {
	tb.Helper()
	s, err := Issue(req, signer)
	require.NoError(tb, err)
	return s
}

func presentT(tb testing.TB, cred string, names []string, holder jwk.Key) string {
	tb.Helper()
	tok, err := Parse(cred)
	require.NoError(tb, err)
	p, err := tok.Present(PresentRequest{Disclose: names, Audience: testAudience, Nonce: testNonce, IssuedAt: testNow.Add(-10 * time.Second)}, holder)
	require.NoError(tb, err)
	return p
}

func verifyOpts(tb testing.TB, issuerKeys ...jwk.Key) VerifyOptions {
	tb.Helper()
	return VerifyOptions{
		IssuerKeys:        StaticKeys(testIssuer, publicSet(tb, issuerKeys...)),
		VCT:               testVCT,
		RequireKeyBinding: true,
		Audience:          testAudience,
		Nonce:             testNonce,
		Now:               testNow,
		Skew:              30 * time.Second,
		MaxAge:            2 * time.Minute,
	}
}

var bg = context.Background()
