package sdjwt

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/stretchr/testify/require"
)

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	keys := loadKeys(t)
	for _, tc := range []struct {
		name           string
		issuer, holder jwk.Key
		alg            jwa.SignatureAlgorithm
	}{
		{"ES256 issuer, ES256 holder", keys.issuerES, keys.holderES, jwa.ES256},
		{"EdDSA issuer, EdDSA holder", keys.issuerEd, keys.holderEd, jwa.EdDSA},
		{"ES256 issuer, EdDSA holder", keys.issuerES, keys.holderEd, jwa.ES256},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cred := issueT(t, personaRequest(tc.holder), tc.issuer)
			require.True(t, strings.HasSuffix(cred, "~"), "an issued SD-JWT ends with ~")
			tok, err := Parse(cred)
			require.NoError(t, err)
			require.Len(t, tok.Disclosures, 3)
			require.Empty(t, tok.KeyBinding)

			pres := presentT(t, cred, []string{"country"}, tc.holder)
			v, err := Verify(bg, pres, verifyOpts(t, keys.issuerES, keys.issuerEd))
			require.NoError(t, err)

			require.Equal(t, "DE", v.Claims["country"])
			require.NotContains(t, v.Claims, "given_name")
			require.NotContains(t, v.Claims, "age_over_18")
			require.NotContains(t, v.Claims, "_sd")
			require.NotContains(t, v.Claims, "_sd_alg")
			require.Equal(t, []string{"/country"}, v.Disclosed)
			require.Equal(t, "forum.example", v.Claims["scope"])
			require.Equal(t, float64(2), v.Claims["grade"])
			require.Equal(t, testIssuer, v.Issuer)
			require.Equal(t, testVCT, v.VCT)
			require.Equal(t, testNow.Add(-time.Hour).Unix(), v.IssuedAt.Unix())
			require.Equal(t, testNow.Add(30*24*time.Hour).Unix(), v.Expiry.Unix())
			require.True(t, v.KeyBound)
			require.True(t, sameKey(v.HolderKey, tc.holder))
			require.Equal(t, tc.alg, v.Algorithm)
			require.Equal(t, tc.issuer.KeyID(), v.KeyID)

			// The issued credential itself verifies for its holder (RFC 9901
			// §7.2), with every claim.
			o := verifyOpts(t, keys.issuerES, keys.issuerEd)
			o.RequireKeyBinding = false
			all, err := Verify(bg, cred, o)
			require.NoError(t, err)
			require.False(t, all.KeyBound)
			require.Equal(t, "Möbius <&>", all.Claims["given_name"])
			require.Equal(t, true, all.Claims["age_over_18"])
			require.Equal(t, []string{"/age_over_18", "/country", "/given_name"}, all.Disclosed)
		})
	}
}

// TestRoundTripFreshKeys runs the flow with keys made for this run, so
// nothing depends on the fixed test keys.
func TestRoundTripFreshKeys(t *testing.T) {
	t.Parallel()
	ecIss, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	_, edHolder, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	issuer, err := jwk.FromRaw(ecIss)
	require.NoError(t, err)
	require.NoError(t, issuer.Set(jwk.KeyIDKey, "fresh"))
	holder, err := jwk.FromRaw(edHolder)
	require.NoError(t, err)

	cred := issueT(t, personaRequest(holder), issuer)
	pres := presentT(t, cred, []string{"age_over_18", "given_name"}, holder)
	v, err := Verify(bg, pres, verifyOpts(t, issuer))
	require.NoError(t, err)
	require.Equal(t, []string{"/age_over_18", "/given_name"}, v.Disclosed)
	require.NotContains(t, v.Claims, "country")
}

func TestPresentNothing(t *testing.T) {
	t.Parallel()
	keys := loadKeys(t)
	cred := issueT(t, personaRequest(keys.holderES), keys.issuerES)
	pres := presentT(t, cred, nil, keys.holderES)
	tok, err := Parse(pres)
	require.NoError(t, err)
	require.Empty(t, tok.Disclosures)
	require.NotEmpty(t, tok.KeyBinding)
	v, err := Verify(bg, pres, verifyOpts(t, keys.issuerES))
	require.NoError(t, err)
	require.Empty(t, v.Disclosed)
	require.Equal(t, "8c5f0e", v.Claims["pseudonym"])
}

func TestIssuedPayload(t *testing.T) {
	t.Parallel()
	keys := loadKeys(t)
	cred := issueT(t, personaRequest(keys.holderES), keys.issuerES)
	tok, err := Parse(cred)
	require.NoError(t, err)
	jwt, err := parseJWS(tok.JWT)
	require.NoError(t, err)

	require.Equal(t, TypeSDJWTVC, jwt.header["typ"])
	require.Equal(t, "ES256", jwt.header["alg"])
	require.Equal(t, "issuer-es256", jwt.header["kid"])
	require.Equal(t, "sha-256", jwt.payload["_sd_alg"])
	sd := jwt.payload["_sd"].([]any)
	require.Len(t, sd, 3+3, "three digests and three decoys")
	for i := 1; i < len(sd); i++ {
		require.Less(t, sd[i-1].(string), sd[i].(string), "_sd is sorted")
	}
	for _, d := range tok.Disclosures {
		require.Contains(t, sd, d.Digest)
		require.Len(t, d.Salt, 22, "128-bit salt, base64url")
		require.NotContains(t, jwt.payload, d.Name)
	}
	cnf := jwt.payload["cnf"].(map[string]any)["jwk"].(map[string]any)
	require.NotContains(t, cnf, "d", "cnf.jwk holds no private key")
	require.Equal(t, "EC", cnf["kty"])
	require.Contains(t, jwt.payload, "status")
}

func TestIssueRejects(t *testing.T) {
	t.Parallel()
	keys := loadKeys(t)
	hmac, err := jwk.FromRaw([]byte("0123456789abcdef0123456789abcdef"))
	require.NoError(t, err)
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	p384Key, err := jwk.FromRaw(p384)
	require.NoError(t, err)
	pubIssuer, err := jwk.PublicKeyOf(keys.issuerES)
	require.NoError(t, err)

	for _, tc := range []struct {
		name   string
		mutate func(*IssueRequest)
		signer jwk.Key
		want   error
	}{
		{"no issuer", func(r *IssueRequest) { r.Issuer = "" }, nil, ErrInvalidRequest},
		{"no vct", func(r *IssueRequest) { r.VCT = "" }, nil, ErrInvalidRequest},
		{"no expiry", func(r *IssueRequest) { r.Expiry = time.Time{} }, nil, ErrInvalidRequest},
		{"expiry before iat", func(r *IssueRequest) { r.Expiry = r.IssuedAt.Add(-time.Second) }, nil, ErrInvalidRequest},
		{"no holder key", func(r *IssueRequest) { r.HolderKey = nil }, nil, ErrInvalidRequest},
		{"symmetric holder key", func(r *IssueRequest) { r.HolderKey = hmac }, nil, ErrInvalidRequest},
		{"P-384 holder key", func(r *IssueRequest) { r.HolderKey = p384Key }, nil, ErrInvalidRequest},
		{"exp in claims", func(r *IssueRequest) { r.Claims["exp"] = 1 }, nil, ErrInvalidRequest},
		{"cnf in claims", func(r *IssueRequest) { r.Claims["cnf"] = map[string]any{} }, nil, ErrInvalidRequest},
		{"_sd nested in a claim", func(r *IssueRequest) { r.Claims["x"] = map[string]any{"_sd": []string{"a"}} }, nil, ErrInvalidRequest},
		{"... nested in a disclosable claim", func(r *IssueRequest) { r.Disclosable["x"] = []any{map[string]any{"...": "a"}} }, nil, ErrInvalidRequest},
		{"status disclosable", func(r *IssueRequest) { r.Disclosable["status"] = 1 }, nil, ErrInvalidRequest},
		{"iss disclosable", func(r *IssueRequest) { r.Disclosable["iss"] = "x" }, nil, ErrInvalidRequest},
		{"name both visible and disclosable", func(r *IssueRequest) { r.Disclosable["scope"] = "x" }, nil, ErrInvalidRequest},
		{"negative decoys", func(r *IssueRequest) { r.Decoys = -1 }, nil, ErrInvalidRequest},
		{"too many decoys", func(r *IssueRequest) { r.Decoys = MaxDisclosures + 1 }, nil, ErrInvalidRequest},
		{"unencodable value", func(r *IssueRequest) { r.Disclosable["f"] = func() {} }, nil, ErrInvalidRequest},
		{"HMAC signer", nil, hmac, ErrAlgorithm},
		{"P-384 signer", nil, p384Key, ErrAlgorithm},
		{"public signer", nil, pubIssuer, ErrAlgorithm},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req := personaRequest(keys.holderES)
			if tc.mutate != nil {
				tc.mutate(&req)
			}
			signer := keys.issuerES
			if tc.signer != nil {
				signer = tc.signer
			}
			_, err := Issue(req, signer)
			require.ErrorIs(t, err, tc.want)
		})
	}

	t.Run("too large", func(t *testing.T) {
		t.Parallel()
		req := personaRequest(keys.holderES)
		req.Claims["blob"] = strings.Repeat("x", MaxSize)
		_, err := Issue(req, keys.issuerES)
		require.ErrorIs(t, err, ErrInvalidRequest)
	})
}

func TestPresentRejects(t *testing.T) {
	t.Parallel()
	keys := loadKeys(t)
	cred := issueT(t, personaRequest(keys.holderES), keys.issuerES)
	tok, err := Parse(cred)
	require.NoError(t, err)
	good := PresentRequest{Disclose: []string{"country"}, Audience: testAudience, Nonce: testNonce}

	_, err = tok.Present(PresentRequest{Disclose: []string{"nope"}, Audience: testAudience, Nonce: testNonce}, keys.holderES)
	require.ErrorIs(t, err, ErrInvalidRequest, "unknown claim name")
	_, err = tok.Present(PresentRequest{Disclose: []string{"_sd"}, Audience: testAudience, Nonce: testNonce}, keys.holderES)
	require.ErrorIs(t, err, ErrInvalidRequest, "_sd is no claim")
	visible, err := tok.Present(PresentRequest{Disclose: []string{"scope"}}, nil)
	require.NoError(t, err, "naming an always-visible claim discloses nothing more")
	require.Equal(t, tok.JWT+"~", visible)
	_, err = tok.Present(PresentRequest{Disclose: []string{"country"}}, keys.holderES)
	require.ErrorIs(t, err, ErrInvalidRequest, "key binding needs audience and nonce")
	_, err = tok.Present(good, keys.otherES)
	require.ErrorIs(t, err, ErrKeyBinding, "holder key is not cnf")

	pres, err := tok.Present(good, keys.holderES)
	require.NoError(t, err)
	withKB, err := Parse(pres)
	require.NoError(t, err)
	_, err = withKB.Present(good, keys.holderES)
	require.ErrorIs(t, err, ErrInvalidRequest, "RFC 9901 §7.2: an SD-JWT+KB is not re-presented")

	// Without a holder key: an SD-JWT without Key Binding.
	plain, err := tok.Present(PresentRequest{Disclose: []string{"country", "country"}}, nil)
	require.NoError(t, err)
	require.True(t, strings.HasSuffix(plain, "~"))
	require.Equal(t, 1, len(strings.Split(plain, "~"))-2, "a name asked twice is disclosed once")
}

// TestNoClaimsInStrings checks that Token and Disclosure print without
// their content, so that logging one does not leak claims.
func TestNoClaimsInStrings(t *testing.T) {
	t.Parallel()
	keys := loadKeys(t)
	tok, err := Parse(issueT(t, personaRequest(keys.holderES), keys.issuerES))
	require.NoError(t, err)
	for _, s := range []string{fmt.Sprint(tok), fmt.Sprintf("%v %+v %#v", *tok, *tok, *tok), fmt.Sprint(tok.Disclosures)} {
		require.NotContains(t, s, "Möbius")
		for _, d := range tok.Disclosures {
			require.NotContains(t, s, d.Salt)
			require.NotContains(t, s, d.Encoded)
		}
	}
}
