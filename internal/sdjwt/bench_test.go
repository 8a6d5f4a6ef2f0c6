package sdjwt

import (
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwk"
)

// BenchmarkIssue issues the three-disclosure persona credential (plus
// three decoys).
func BenchmarkIssue(b *testing.B) {
	keys := loadKeys(b)
	for _, bc := range []struct {
		name           string
		issuer, holder jwk.Key
	}{{"ES256", keys.issuerES, keys.holderES}, {"EdDSA", keys.issuerEd, keys.holderEd}} {
		b.Run(bc.name, func(b *testing.B) {
			req := personaRequest(bc.holder)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Issue(req, bc.issuer); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPresent parses an issued credential and presents all three
// Disclosures with a Key Binding JWT.
func BenchmarkPresent(b *testing.B) {
	keys := loadKeys(b)
	cred := issueT(b, personaRequest(keys.holderES), keys.issuerES)
	req := PresentRequest{Disclose: []string{"age_over_18", "country", "given_name"}, Audience: testAudience, Nonce: testNonce, IssuedAt: testNow}
	b.ReportAllocs()
	for b.Loop() {
		tok, err := Parse(cred)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := tok.Present(req, keys.holderES); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify verifies a key-bound presentation of three Disclosures:
// two signature verifications, three digests, sd_hash.
func BenchmarkVerify(b *testing.B) {
	keys := loadKeys(b)
	for _, bc := range []struct {
		name           string
		issuer, holder jwk.Key
	}{{"ES256", keys.issuerES, keys.holderES}, {"EdDSA", keys.issuerEd, keys.holderEd}} {
		b.Run(bc.name, func(b *testing.B) {
			cred := issueT(b, personaRequest(bc.holder), bc.issuer)
			pres := presentT(b, cred, []string{"age_over_18", "country", "given_name"}, bc.holder)
			o := verifyOpts(b, bc.issuer)
			b.SetBytes(int64(len(pres)))
			b.ReportAllocs()
			for b.Loop() {
				v, err := Verify(bg, pres, o)
				if err != nil || len(v.Disclosed) != 3 {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkParse splits and decodes a presentation, without cryptography.
func BenchmarkParse(b *testing.B) {
	keys := loadKeys(b)
	cred := issueT(b, personaRequest(keys.holderES), keys.issuerES)
	pres := presentT(b, cred, []string{"age_over_18", "country", "given_name"}, keys.holderES)
	b.SetBytes(int64(len(pres)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(pres); err != nil {
			b.Fatal(err)
		}
	}
}
