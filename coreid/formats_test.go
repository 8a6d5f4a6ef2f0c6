package coreid

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"
	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/internal/sdjwt"
	"github.com/mustard-id/mustard/internal/trust"
	"github.com/mustard-id/mustard/zk"
)

const bankVCT = "https://bank.example/kyc"

// sdJWT issues the bank's SD-JWT VC over claims, bound to holder.
func (e *env) sdJWT(t testing.TB, signer jwk.Key, claims map[string]any, iat time.Time, holder jwk.Key) sdjwt.Token {
	issued, err := sdjwt.Issue(sdjwt.IssueRequest{Issuer: bankID, VCT: bankVCT, IssuedAt: iat, Expiry: iat.Add(time.Hour), Disclosable: claims, HolderKey: holder}, signer)
	require.NoError(t, err)
	tok, err := sdjwt.Parse(issued)
	require.NoError(t, err)
	return *tok
}

func present(t testing.TB, tok sdjwt.Token, holder jwk.Key, aud, nonce string) string {
	s, err := tok.Present(sdjwt.PresentRequest{Disclose: []string{"personal_number", "birthdate", "nationality"}, Audience: aud, Nonce: nonce}, holder)
	require.NoError(t, err)
	return s
}

func TestEnrollSDJWTVC(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	holder := ecKey(t, "holder")
	tok := e.sdJWT(t, e.keys[bankID], person, e.now, holder)

	nonce := e.nonce(t)
	req := e.commitment(t)
	req.Sources = []SourceCredential{{Format: trust.FormatSDJWTVC, Credential: present(t, tok, holder, provID, nonce)}}
	req.Nonce = nonce
	enr, err := e.p.Enroll(ctx, req)
	require.NoError(t, err)
	require.Equal(t, uint64(zk.GradeSubstantial), enr.Credential.Grade)
	want, _ := zk.Schema[0].Encode("1990-04-12")
	require.Equal(t, want, enr.Credential.Attrs[0])
	// given_name was not disclosed: absent, not guessed.
	require.Equal(t, zk.Absent, enr.Credential.Attrs[4])

	// The same presentation again: its nonce is spent.
	_, err = e.p.Enroll(ctx, req)
	require.ErrorIs(t, err, ErrNonce)

	other := ecKey(t, "bank-1")
	stranger := ecKey(t, "holder")
	expired := e.sdJWT(t, e.keys[bankID], person, e.now.Add(-3*time.Hour), holder)
	tampered := func(n string) string {
		// Swap a disclosure for one the issuer never signed (same claim
		// name, another value): its digest is in no _sd array.
		s := present(t, tok, holder, provID, n)
		parsed, err := sdjwt.Parse(s)
		require.NoError(t, err)
		forged := base64.RawURLEncoding.EncodeToString([]byte(`["c2FsdHNhbHRzYWx0","birthdate","1950-01-01"]`))
		for _, d := range parsed.Disclosures {
			if d.Name == "birthdate" {
				s = strings.Replace(s, d.Encoded, forged, 1)
			}
		}
		return s
	}
	cases := []struct {
		name string
		cred func(nonce string) string
		want error
	}{
		{"another issuer key", func(n string) string { return present(t, e.sdJWT(t, other, person, e.now, holder), holder, provID, n) }, ErrSignature},
		{"expired", func(n string) string { return present(t, expired, holder, provID, n) }, ErrExpired},
		{"disclosure not matching a digest", tampered, ErrSource},
		{"no key binding", func(n string) string { return present(t, tok, nil, provID, n) }, ErrHolderBinding},
		{"key binding by another key", func(n string) string {
			// A well-formed KB-JWT over this presentation, signed by a key
			// that is not the credential's cnf key.
			s := present(t, tok, holder, provID, n)
			prefix := s[:strings.LastIndex(s, "~")+1]
			h := sha256.Sum256([]byte(prefix))
			kb := jwt.New()
			_ = kb.Set("aud", provID)
			_ = kb.Set("nonce", n)
			_ = kb.Set("iat", e.now.Unix())
			_ = kb.Set("sd_hash", base64.RawURLEncoding.EncodeToString(h[:]))
			hdr := jws.NewHeaders()
			_ = hdr.Set(jws.TypeKey, "kb+jwt")
			b, err := jwt.Sign(kb, jwt.WithKey(jwa.ES256, stranger, jws.WithProtectedHeaders(hdr)))
			require.NoError(t, err)
			return prefix + string(b)
		}, ErrHolderBinding},
		{"wrong audience", func(n string) string { return present(t, tok, holder, "https://other.example", n) }, ErrHolderBinding},
		{"wrong nonce", func(n string) string { return present(t, tok, holder, provID, "not-the-nonce") }, ErrHolderBinding},
		{"garbage", func(string) string { return "x~y~" }, ErrSource},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := e.counts(t)
			n := e.nonce(t)
			r := e.commitment(t)
			r.Sources = []SourceCredential{{Format: trust.FormatSDJWTVC, Credential: tc.cred(n)}}
			r.Nonce = n
			_, err := e.p.Enroll(ctx, r)
			require.ErrorIs(t, err, tc.want)
			after := e.counts(t)
			require.Equal(t, before["identities"], after["identities"])
			require.Equal(t, before["nonces_used"], after["nonces_used"])
		})
	}
	t.Run("unknown issuer", func(t *testing.T) {
		issued, err := sdjwt.Issue(sdjwt.IssueRequest{Issuer: "https://forger.example", VCT: bankVCT, Expiry: e.now.Add(time.Hour), IssuedAt: e.now, Disclosable: person, HolderKey: holder}, e.keys[bankID])
		require.NoError(t, err)
		_, err = e.p.VerifySource(ctx, SourceCredential{Format: trust.FormatSDJWTVC, Credential: issued}, "")
		require.ErrorIs(t, err, ErrUnknownIssuer)
	})
	t.Run("source not accredited for the format", func(t *testing.T) {
		// The government issues JWT-VCs only.
		issued, err := sdjwt.Issue(sdjwt.IssueRequest{Issuer: govID, VCT: "PID", Expiry: e.now.Add(time.Hour), IssuedAt: e.now, Disclosable: person, HolderKey: holder}, e.keys[govID])
		require.NoError(t, err)
		_, err = e.p.VerifySource(ctx, SourceCredential{Format: trust.FormatSDJWTVC, Credential: issued}, "")
		require.ErrorIs(t, err, ErrUnknownIssuer)
	})
}

// idToken signs an id_token as the federation IdP does.
func idToken(t testing.TB, key jwk.Key, claims map[string]any) string {
	tok := jwt.New()
	for k, v := range claims {
		require.NoError(t, tok.Set(k, v))
	}
	b, err := jwt.Sign(tok, jwt.WithKey(jwa.ES256, key))
	require.NoError(t, err)
	return string(b)
}

func (e *env) idClaims(nonce string) map[string]any {
	return with(person, "iss", idpID, "sub", "idp-user-42", "aud", []string{clientID}, "iat", e.now.Unix(), "exp", e.now.Add(5*time.Minute).Unix(), "nonce", nonce)
}

func TestEnrollIDToken(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	n := e.nonce(t)
	req := e.commitment(t)
	req.Sources = []SourceCredential{{Format: trust.FormatOIDC, Credential: idToken(t, e.keys[idpID], e.idClaims(n))}}
	req.Nonce = n
	enr, err := e.p.Enroll(ctx, req)
	require.NoError(t, err)
	require.Equal(t, uint64(zk.GradeSubstantial), enr.Credential.Grade)

	// Replayed: the same token and nonce again.
	_, err = e.p.Enroll(ctx, req)
	require.ErrorIs(t, err, ErrNonce)

	hs, err := jws.Sign([]byte(`{"iss":"https://idp.example"}`), jws.WithKey(jwa.HS256, []byte("secret")))
	require.NoError(t, err)
	cases := []struct {
		name   string
		key    jwk.Key
		claims func(n string) map[string]any
		nonce  func(n string) string
		want   error
	}{
		{"another key", ecKey(t, "idp-1"), e.idClaims, nil, ErrSignature},
		{"unknown issuer", nil, func(n string) map[string]any { return with(e.idClaims(n), "iss", "https://evil.example") }, nil, ErrUnknownIssuer},
		{"JWT-VC issuer presenting an id_token", e.keys[govID], func(n string) map[string]any { return with(e.idClaims(n), "iss", govID) }, nil, ErrUnknownIssuer},
		{"wrong audience", nil, func(n string) map[string]any { return with(e.idClaims(n), "aud", []string{"someone-else"}) }, nil, ErrAudience},
		{"several audiences without azp", nil, func(n string) map[string]any { return with(e.idClaims(n), "aud", []string{clientID, "x"}) }, nil, ErrAudience},
		{"expired", nil, func(n string) map[string]any { return with(e.idClaims(n), "exp", e.now.Add(-2*time.Minute).Unix()) }, nil, ErrExpired},
		{"issued in the future", nil, func(n string) map[string]any { return with(e.idClaims(n), "iat", e.now.Add(5*time.Minute).Unix()) }, nil, ErrExpired},
		{"issued too long ago", nil, func(n string) map[string]any { return with(e.idClaims(n), "iat", e.now.Add(-time.Hour).Unix()) }, nil, ErrExpired},
		{"no iat", nil, func(n string) map[string]any { return with(e.idClaims(n), "iat", nil) }, nil, ErrSource},
		{"nonce not the provider's", nil, func(n string) map[string]any { return with(e.idClaims(n), "nonce", "chosen-by-attacker") }, nil, ErrNonce},
		{"no nonce", nil, func(n string) map[string]any { return with(e.idClaims(n), "nonce", nil) }, nil, ErrNonce},
		{"nonce never issued", nil, func(string) map[string]any { return e.idClaims("forged") }, func(string) string { return "forged" }, ErrNonce},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := e.counts(t)
			n := e.nonce(t)
			key := tc.key
			if key == nil {
				key = e.keys[idpID]
			}
			r := e.commitment(t)
			r.Nonce = n
			if tc.nonce != nil {
				r.Nonce = tc.nonce(n)
			}
			r.Sources = []SourceCredential{{Format: trust.FormatOIDC, Credential: idToken(t, key, tc.claims(n))}}
			_, err := e.p.Enroll(ctx, r)
			require.ErrorIs(t, err, tc.want)
			after := e.counts(t)
			require.Equal(t, before["identities"], after["identities"])
			require.Equal(t, before["nonces_used"], after["nonces_used"])
		})
	}
	_, err = e.p.VerifySource(ctx, SourceCredential{Format: trust.FormatOIDC, Credential: string(hs)}, n)
	require.ErrorIs(t, err, ErrSignature)
	_, err = e.p.VerifySource(ctx, SourceCredential{Format: "x509", Credential: "x"}, n)
	require.ErrorIs(t, err, ErrFormat)
}
