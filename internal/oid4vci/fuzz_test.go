package oid4vci_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"net/url"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/mustard-id/mustard/internal/oid4vci"
)

// FuzzParseOffer: any offer link, JSON or text is refused or yields an
// offer that passes the checks (or a reference URL), never a panic.
func FuzzParseOffer(f *testing.F) {
	offer := `{"credential_issuer":"https://issuer.example","credential_configuration_ids":["mustard_persona_sd_jwt"],"grants":{"urn:ietf:params:oauth:grant-type:pre-authorized_code":{"pre-authorized_code":"abc","tx_code":{"input_mode":"numeric","length":6}}}}`
	f.Add(offer)
	f.Add("openid-credential-offer://?credential_offer=" + url.QueryEscape(offer))
	f.Add("openid-credential-offer://?credential_offer_uri=" + url.QueryEscape("https://issuer.example/v1/oid4vci/offers/x"))
	f.Add("openid-credential-offer://?credential_offer_uri=http%3A%2F%2F127.0.0.1%3A8080%2Fo&credential_offer=%7B%7D")
	f.Add(`{"credential_issuer":"http://evil.example","credential_configuration_ids":["a","a"]}`)
	f.Add("https://wallet.example/?credential_offer=%7B%7D")
	f.Fuzz(func(t *testing.T, s string) {
		ref, err := oid4vci.ParseOffer(s)
		if err != nil {
			return
		}
		if (ref.Offer == nil) == (ref.URI == "") {
			t.Fatal("an offer or a reference, not both or neither")
		}
		if ref.Offer != nil && (len(ref.Offer.CredentialConfigurationIDs) == 0 || ref.Offer.CredentialIssuer == "") {
			t.Fatal("an accepted offer without issuer or configurations")
		}
	})
}

// FuzzParseCredentialRequest: any body is refused with an *Error or
// parsed into a request naming exactly one configuration or identifier.
func FuzzParseCredentialRequest(f *testing.F) {
	f.Add([]byte(`{"credential_configuration_id":"mustard_persona_sd_jwt","proofs":{"jwt":["eyJ.eyJ.sig"]},"mustard_persona_proof":{"vk":"x"}}`))
	f.Add([]byte(`{"credential_identifier":"x","proofs":{"jwt":[]}}`))
	f.Add([]byte(`{"credential_configuration_id":"a","proof":{"proof_type":"jwt"}}`))
	f.Add([]byte(`{"credential_configuration_id":"a","proofs":{"jwt":["a"],"ldp_vp":[{}]}}`))
	f.Add([]byte(`{"credential_configuration_id":1}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := oid4vci.ParseCredentialRequest(b)
		if err != nil {
			if _, ok := err.(*oid4vci.Error); !ok {
				t.Fatalf("not an OAuth error: %v", err)
			}
			return
		}
		if (r.ConfigurationID == "") == (r.Identifier == "") {
			t.Fatal("exactly one of configuration id and identifier")
		}
		if r.Proofs != nil && len(r.Proofs.JWT) != 1 {
			t.Fatal("one key proof")
		}
	})
}

// FuzzParseKeyProof: any string is refused or is a proof whose key and
// nonce are set.
func FuzzParseKeyProof(f *testing.F) {
	raw, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	key, _ := jwk.FromRaw(raw)
	now := time.Unix(1_790_000_000, 0)
	good, err := oid4vci.SignKeyProof(key, "https://issuer.example", "n-1", now)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:len(good)-3] + "AAA")
	f.Add("eyJhbGciOiJub25lIiwidHlwIjoib3BlbmlkNHZjaS1wcm9vZitqd3QifQ.e30.")
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, s string) {
		kp, err := oid4vci.ParseKeyProof(s, "https://issuer.example", now, 5*time.Minute)
		if err != nil {
			if _, ok := err.(*oid4vci.Error); !ok {
				t.Fatalf("not an OAuth error: %v", err)
			}
			return
		}
		if kp.Key == nil || kp.Nonce == "" {
			t.Fatal("accepted without key or nonce")
		}
		if _, ok := kp.Key.(jwk.ECDSAPublicKey); !ok {
			t.Fatal("a private or non-EC key accepted")
		}
	})
}

// BenchmarkParseKeyProof: what a jwt key proof costs the credential
// endpoint (ES256 verification, header jwk, claims).
func BenchmarkParseKeyProof(b *testing.B) {
	raw, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	key, _ := jwk.FromRaw(raw)
	now := time.Now()
	kp, err := oid4vci.SignKeyProof(key, "https://issuer.example", "n-1", now)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := oid4vci.ParseKeyProof(kp, "https://issuer.example", now, time.Minute); err != nil {
			b.Fatal(err)
		}
	}
}
