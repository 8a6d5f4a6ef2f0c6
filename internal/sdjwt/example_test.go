package sdjwt_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/mustard-id/mustard/internal/sdjwt"
)

// Example issues a persona credential, presents one of its three
// disclosable claims to a relying party, and verifies the presentation.
func Example() {
	// Keys: the transaction-identity provider's (ES256) and the persona's
	// (Ed25519, made in the wallet).
	rawIssuer, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	issuerKey, _ := jwk.FromRaw(rawIssuer)
	_ = issuerKey.Set(jwk.KeyIDKey, "tip-2026-01")
	_, rawHolder, _ := ed25519.GenerateKey(rand.Reader)
	holderKey, _ := jwk.FromRaw(rawHolder)

	// Issuer.
	now := time.Now()
	cred, err := sdjwt.Issue(sdjwt.IssueRequest{
		Issuer:      "https://tip.mustard.example",
		VCT:         "https://mustard.example/vct/persona",
		IssuedAt:    now,
		Expiry:      now.Add(24 * time.Hour),
		Claims:      map[string]any{"scope": "forum.example", "grade": 2},
		Disclosable: map[string]any{"age_over_18": true, "country": "DE", "given_name": "Ada"},
		HolderKey:   holderKey,
		Decoys:      2,
	}, issuerKey)
	if err != nil {
		fmt.Println(err)
		return
	}

	// Holder: reveal only age_over_18 to the forum, bound to its nonce.
	tok, _ := sdjwt.Parse(cred)
	pres, err := tok.Present(sdjwt.PresentRequest{
		Disclose: []string{"age_over_18"},
		Audience: "https://forum.example",
		Nonce:    "c2VydmVyLW5vbmNl",
	}, holderKey)
	if err != nil {
		fmt.Println(err)
		return
	}

	// Relying party.
	issuerPub, _ := jwk.PublicKeyOf(issuerKey)
	keys := jwk.NewSet()
	_ = keys.AddKey(issuerPub)
	v, err := sdjwt.Verify(context.Background(), pres, sdjwt.VerifyOptions{
		IssuerKeys:        sdjwt.StaticKeys("https://tip.mustard.example", keys),
		VCT:               "https://mustard.example/vct/persona",
		RequireKeyBinding: true,
		Audience:          "https://forum.example",
		Nonce:             "c2VydmVyLW5vbmNl",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("disclosed:", v.Disclosed)
	fmt.Println("age_over_18:", v.Claims["age_over_18"])
	_, hasCountry := v.Claims["country"]
	fmt.Println("country present:", hasCountry)
	fmt.Println("scope:", v.Claims["scope"], "key-bound:", v.KeyBound)
	// Output:
	// disclosed: [/age_over_18]
	// age_over_18: true
	// country present: false
	// scope: forum.example key-bound: true
}
