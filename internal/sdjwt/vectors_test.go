package sdjwt

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/stretchr/testify/require"
)

// RFC 9901 Appendix A.5: "The following Elliptic Curve public key [...] can
// be used to validate the Issuer signatures in the above examples".
const rfcIssuerJWK = `{"kty":"EC","crv":"P-256",
 "x":"b28d4MwZMjw8-00CG4xfnn9SLMVMM19SlqZpVb_uNtQ",
 "y":"Xv5zWwuoaTgdS6hV43yI6gBwTnjukmFQQnJ_kCxzqk8"}`

// The RFC's Key Binding JWTs (iat 1748361941, 2025-05-27).
const (
	rfcAudience = "https://verifier.example.org"
	rfcNonce    = "1234567890"
)

var rfcKBTime = time.Unix(1748361941, 0)

// rfcVector reads a file of testdata/rfc9901 without the line breaks and
// indentation of the RFC text.
func rfcVector(tb testing.TB, name string) string {
	tb.Helper()
	b, err := os.ReadFile("testdata/rfc9901/" + name)
	require.NoError(tb, err)
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, string(b))
}

func rfcProcessed(tb testing.TB, name string) map[string]any {
	tb.Helper()
	b, err := os.ReadFile("testdata/rfc9901/" + name)
	require.NoError(tb, err)
	var m map[string]any
	require.NoError(tb, json.Unmarshal(b, &m))
	return m
}

func rfcOptions(tb testing.TB, issuer string) VerifyOptions {
	tb.Helper()
	key, err := jwk.ParseKey([]byte(rfcIssuerJWK))
	require.NoError(tb, err)
	set := jwk.NewSet()
	require.NoError(tb, set.AddKey(key))
	return VerifyOptions{
		IssuerKeys:        StaticKeys(issuer, set),
		RequireKeyBinding: true,
		Audience:          rfcAudience,
		Nonce:             rfcNonce,
		Now:               rfcKBTime.Add(time.Minute),
	}
}

// The RFC's general examples are typed example+sd-jwt and carry no vct.
var rfcExample = profile{types: []string{"example+sd-jwt"}}

func TestDisclosureVectors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		section, encoded, digest, salt, name string
		element                              bool
		value                                any
	}{
		// The family_name example of §4.2.1, hashed in §4.2.3: "the
		// base64url-encoded SHA-256 digest of the Disclosure [...] is
		// X9yH0Ajrdm1Oij4tWso9UzzKJvPoDxwmuEcO3XAdRC0". (Not
		// TZjouOTrBKEwUNjNDs9yeMzBoQn8FFLPaJjRRmAtOQM, which the task brief
		// suggested: that is no digest of this Disclosure.)
		{"§4.2.3", "WyJfMjZiYzRMVC1hYzZxMktJNmNCVzVlcyIsICJmYW1pbHlfbmFtZSIsICJNw7ZiaXVzIl0",
			"X9yH0Ajrdm1Oij4tWso9UzzKJvPoDxwmuEcO3XAdRC0", "_26bc4LT-ac6q2KI6cBW5es", "family_name", false, "Möbius"},
		// §4.2.2 and §4.2.4.2: the array element "FR".
		{"§4.2.4.2", "WyJsa2x4RjVqTVlsR1RQVW92TU5JdkNBIiwgIkZSIl0",
			"w0I8EKcdCtUPkGCNUrfwVp2xEgNjtoIDlOxc9-PlOhs", "lklxF5jMYlGTPUovMNIvCA", "", true, "FR"},
		// §5.1: Claim given_name, Claim updated_at, an Array Entry.
		{"§5.1 given_name", "WyIyR0xDNDJzS1F2ZUNmR2ZyeU5STjl3IiwgImdpdmVuX25hbWUiLCAiSm9obiJd",
			"jsu9yVulwQQlhFlM_3JlzMaSFzglhQG0DpfayQwLUK4", "2GLC42sKQveCfGfryNRN9w", "given_name", false, "John"},
		{"§5.1 updated_at", "WyJHMDJOU3JRZmpGWFE3SW8wOXN5YWpBIiwgInVwZGF0ZWRfYXQiLCAxNTcwMDAwMDAwXQ",
			"CrQe7S5kqBAHt-nMYXgc6bdt2SH5aTY1sU_M-PgkjPI", "G02NSrQfjFXQ7Io09syajA", "updated_at", false, float64(1570000000)},
		{"§5.1 array entry", "WyJsa2x4RjVqTVlsR1RQVW92TU5JdkNBIiwgIlVTIl0",
			"pFndjkZ_VCzmyTa6UjlZo3dh-ko8aIKQc9DlGzhaVYo", "lklxF5jMYlGTPUovMNIvCA", "", true, "US"},
	} {
		t.Run(tc.section, func(t *testing.T) {
			t.Parallel()
			d, err := parseDisclosure(tc.encoded)
			require.NoError(t, err)
			require.Equal(t, tc.digest, d.Digest)
			require.Equal(t, tc.salt, d.Salt)
			require.Equal(t, tc.name, d.Name)
			require.Equal(t, tc.element, d.Element)
			require.Equal(t, tc.value, d.Value)
		})
	}

	// §4.2.1: "the following strings are all valid and encode the same claim
	// value "Möbius"" — and, the digest being over the encoded string, each
	// has a digest of its own.
	digests := map[string]bool{}
	for _, enc := range []string{
		"WyJfMjZiYzRMVC1hYzZxMktJNmNCVzVlcyIsICJmYW1pbHlfbmFtZSIsICJNw7ZiaXVzIl0",
		"WyJfMjZiYzRMVC1hYzZxMktJNmNCVzVlcyIsICJmYW1pbHlfbmFtZSIsICJNXHUwMGY2Yml1cyJd",
		"WyJfMjZiYzRMVC1hYzZxMktJNmNCVzVlcyIsImZhbWlseV9uYW1lIiwiTcO2Yml1cyJd",
		"WwoiXzI2YmM0TFQtYWM2cTJLSTZjQlc1ZXMiLAoiZmFtaWx5X25hbWUiLAoiTcO2Yml1cyIKXQ",
	} {
		d, err := parseDisclosure(enc)
		require.NoError(t, err)
		require.Equal(t, "Möbius", d.Value)
		require.Equal(t, "family_name", d.Name)
		digests[d.Digest] = true
	}
	require.Len(t, digests, 4)
}

// TestRFC9901Section5 verifies the §5 example: the issued SD-JWT with every
// Disclosure, then the §5.2 SD-JWT+KB, whose Processed SD-JWT Payload must
// be the one the RFC prints.
func TestRFC9901Section5(t *testing.T) {
	t.Parallel()
	o := rfcOptions(t, "https://issuer.example.com")

	issued := rfcVector(t, "sec5-issuance.txt")
	tok, err := Parse(issued)
	require.NoError(t, err)
	require.Len(t, tok.Disclosures, 10)
	oo := o
	oo.RequireKeyBinding = false
	v, err := verify(bg, issued, oo, rfcExample)
	require.NoError(t, err)
	// §5.1's input JWT Claims Set, all disclosed.
	require.Equal(t, "johndoe@example.com", v.Claims["email"])
	require.Equal(t, true, v.Claims["phone_number_verified"])
	require.Equal(t, float64(1570000000), v.Claims["updated_at"])
	require.Equal(t, []any{"US", "DE"}, v.Claims["nationalities"])
	require.Len(t, v.Disclosed, 10)

	// Present from the issued SD-JWT: the Holder reveals the array elements
	// of the always-visible nationalities, and address.
	sel, err := tok.Present(PresentRequest{Disclose: []string{"nationalities", "address"}}, nil)
	require.NoError(t, err)
	v, err = verify(bg, sel, oo, rfcExample)
	require.NoError(t, err)
	require.Equal(t, []string{"/address", "/nationalities/0", "/nationalities/1"}, v.Disclosed)
	require.NotContains(t, v.Claims, "email")

	pres := rfcVector(t, "sec5-presentation.txt")
	v, err = verify(bg, pres, o, rfcExample)
	require.NoError(t, err)
	require.Equal(t, rfcProcessed(t, "sec5-processed.json"), v.Claims)
	require.Equal(t, []string{"/address", "/family_name", "/given_name", "/nationalities/0"}, v.Disclosed)
	require.True(t, v.KeyBound)

	// The example is not an SD-JWT VC: the public Verify refuses its typ.
	_, err = Verify(bg, pres, o)
	require.ErrorIs(t, err, ErrType)
	// Its Key Binding JWT was made for the RFC's Verifier only.
	o.Nonce = "another"
	_, err = verify(bg, pres, o, rfcExample)
	require.ErrorIs(t, err, ErrNonce)
}

// TestRFC9901AppendixA3 verifies the RFC's SD-JWT VC example (typ
// dc+sd-jwt) with the public Verify: recursive Disclosures
// (age_equal_or_over/18) and an array claim.
func TestRFC9901AppendixA3(t *testing.T) {
	t.Parallel()
	o := rfcOptions(t, "https://pid-issuer.bund.de.example")
	o.VCT = "urn:eudi:pid:de:1"
	v, err := Verify(bg, rfcVector(t, "a3-presentation.txt"), o)
	require.NoError(t, err)
	require.Equal(t, rfcProcessed(t, "a3-processed.json"), v.Claims)
	require.Equal(t, []string{"/age_equal_or_over", "/age_equal_or_over/18", "/nationalities"}, v.Disclosed)
	require.Equal(t, "urn:eudi:pid:de:1", v.VCT)
	require.Equal(t, time.Unix(1883000000, 0), v.Expiry)
	require.True(t, v.KeyBound)

	// Revealing age_equal_or_over takes its nested Disclosure along (RFC
	// 9901 §7.2 step 2) and leaves nationalities out.
	tok, err := Parse(rfcVector(t, "a3-presentation.txt"))
	require.NoError(t, err)
	tok.KeyBinding = ""
	sel, err := tok.Present(PresentRequest{Disclose: []string{"age_equal_or_over"}}, nil)
	require.NoError(t, err)
	o.RequireKeyBinding = false
	v, err = Verify(bg, sel, o)
	require.NoError(t, err)
	require.Equal(t, []string{"/age_equal_or_over", "/age_equal_or_over/18"}, v.Disclosed)
	require.NotContains(t, v.Claims, "nationalities")
}

// TestRFC9901AppendixA4 verifies the W3C VC example: Disclosures inside
// nested objects.
func TestRFC9901AppendixA4(t *testing.T) {
	t.Parallel()
	v, err := verify(bg, rfcVector(t, "a4-presentation.txt"), rfcOptions(t, ""), rfcExample)
	require.NoError(t, err)
	require.Equal(t, rfcProcessed(t, "a4-processed.json"), v.Claims)
	require.Equal(t, []string{
		"/credentialSubject/dateOfVaccination", "/credentialSubject/order",
		"/credentialSubject/vaccine/atcCode", "/credentialSubject/vaccine/medicinalProductName",
	}, v.Disclosed)
}

// TestRFC9901Section6Recursive processes §6.3's recursive address
// Disclosures: sub-claims are reachable only through the address
// Disclosure.
func TestRFC9901Section6Recursive(t *testing.T) {
	t.Parallel()
	const (
		street  = "WyIyR0xDNDJzS1F2ZUNmR2ZyeU5STjl3IiwgInN0cmVldF9hZGRyZXNzIiwgIlNjaHVsc3RyLiAxMiJd"
		country = "WyJlSThaV205UW5LUHBOUGVOZW5IZGhRIiwgImNvdW50cnkiLCAiREUiXQ"
		address = "WyJRZ19PNjR6cUF4ZTQxMmExMDhpcm9BIiwgImFkZHJlc3MiLCB7Il9zZCI6IFsiNnZoOWJxLXpTNEdLTV83R3BnZ1ZiWXp6dTZvT0dYcm1OVkdQSFA3NVVk" +
			"MCIsICI5Z2pWdVh0ZEZST0NnUnJ0TmNHVVhtRjY1cmRlemlfNkVyX2o3NmttWXlNIiwgIktVUkRQaDRaQzE5LTN0aXotRGYzOVY4ZWlkeTFvVjNhM0gxRGEy" +
			"TjBnODgiLCAiV045cjlkQ0JKOEhUQ3NTMmpLQVN4VGpFeVc1bTV4NjVfWl8ycm8yamZYTSJdfV0"
	)
	payload := map[string]any{
		"_sd": []any{"HvrKX6fPV0v9K_yCVFBiLFHsMaxcD_114Em6VT8x1lg"},
		"iss": "https://issuer.example.com", "sub": "6c5c0a49-b589-431d-bae7-219122a9ec2c", "_sd_alg": "sha-256",
	}
	process := func(encoded ...string) (map[string]any, *processor, error) {
		var ds []Disclosure
		for _, e := range encoded {
			d, err := parseDisclosure(e)
			require.NoError(t, err)
			ds = append(ds, d)
		}
		p := newProcessor(ds)
		out, err := p.object(payload, "", 0)
		if err == nil {
			for _, used := range p.used {
				if !used {
					return nil, p, ErrDisclosure
				}
			}
		}
		return out, p, err
	}

	d, err := parseDisclosure(address)
	require.NoError(t, err)
	require.Equal(t, "HvrKX6fPV0v9K_yCVFBiLFHsMaxcD_114Em6VT8x1lg", d.Digest)

	out, p, err := process(address, country, street)
	require.NoError(t, err)
	require.Equal(t, map[string]any{"country": "DE", "street_address": "Schulstr. 12"}, out["address"])
	require.ElementsMatch(t, []string{"/address", "/address/country", "/address/street_address"}, p.disclosed)

	out, _, err = process(address)
	require.NoError(t, err)
	require.Equal(t, map[string]any{}, out["address"], "§7.1 step 3.5: an object left without properties is {}")

	// §4.2.6: "it would be illegal to include any one of the [sub-claim]
	// disclosure objects without also including the [address] disclosure".
	_, _, err = process(country)
	require.ErrorIs(t, err, ErrDisclosure)
}
