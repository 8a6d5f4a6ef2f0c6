package coreid

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/internal/trust"
)

func sourceKey(t testing.TB) (jwk.Key, json.RawMessage) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	key, err := jwk.FromRaw(k)
	require.NoError(t, err)
	_ = jwk.AssignKeyID(key)
	_ = key.Set(jwk.AlgorithmKey, jwa.ES256)
	pub, _ := key.PublicKey()
	set := jwk.NewSet()
	_ = set.AddKey(pub)
	raw, _ := json.Marshal(set)
	return key, raw
}

func framework(t testing.TB, jwks json.RawMessage) *trust.Document {
	return &trust.Document{Sources: []trust.Source{{
		ID: "https://gov.example", Kind: "jwt-vc", Grade: "high", Types: []string{"PID"}, JWKS: jwks,
		Claims: map[string]string{"birthdate": "birth_date", "nationality": "nationality"},
	}}}
}

func TestVerifyJWTVC(t *testing.T) {
	key, jwks := sourceKey(t)
	fw := framework(t, jwks)
	now := time.Now()
	claims := map[string]any{"birthdate": "1990-04-12", "nationality": "NL"}
	good, err := SignJWTVC(key, "https://gov.example", "subject-1", []string{"PID"}, claims, now, now.Add(time.Hour))
	require.NoError(t, err)
	src, err := VerifyJWTVC(context.Background(), fw, good, now)
	require.NoError(t, err)
	require.Equal(t, "subject-1", src.Subject)
	require.Equal(t, "1990-04-12", src.Attrs["birth_date"])
	require.Equal(t, uint64(3), src.Grade)

	other, _ := sourceKey(t)
	forged, err := SignJWTVC(other, "https://gov.example", "subject-1", []string{"PID"}, claims, now, now.Add(time.Hour))
	require.NoError(t, err)
	unknown, err := SignJWTVC(key, "https://elsewhere.example", "subject-1", []string{"PID"}, claims, now, now.Add(time.Hour))
	require.NoError(t, err)
	expired, err := SignJWTVC(key, "https://gov.example", "subject-1", []string{"PID"}, claims, now.Add(-2*time.Hour), now.Add(-time.Hour))
	require.NoError(t, err)
	wrongType, err := SignJWTVC(key, "https://gov.example", "subject-1", []string{"Diploma"}, claims, now, now.Add(time.Hour))
	require.NoError(t, err)
	none := "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0." + "eyJpc3MiOiJodHRwczovL2dvdi5leGFtcGxlIn0."
	// HS256 keyed with the public key's JSON: algorithm confusion.
	pubJSON, _ := json.Marshal(jwks)
	hs, err := jws.Sign([]byte(`{"iss":"https://gov.example","sub":"x","exp":9999999999,"vc":{"type":["PID"],"credentialSubject":{}}}`), jws.WithKey(jwa.HS256, pubJSON))
	require.NoError(t, err)

	for name, tc := range map[string]struct {
		raw  string
		want error
	}{
		"another key":       {forged, ErrSignature},
		"unknown issuer":    {unknown, ErrUnknownIssuer},
		"expired":           {expired, ErrExpired},
		"type not accepted": {wrongType, ErrSource},
		"alg none":          {none, ErrSignature},
		"HS256 confusion":   {string(hs), ErrSignature},
		"garbage":           {"a.b.c", ErrSource},
		"empty":             {"", ErrSource},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := VerifyJWTVC(context.Background(), fw, tc.raw, now)
			require.ErrorIs(t, err, tc.want)
		})
	}
}

func FuzzVerifyJWTVC(f *testing.F) {
	key, jwks := sourceKey(f)
	fw := framework(f, jwks)
	now := time.Now()
	good, err := SignJWTVC(key, "https://gov.example", "s", []string{"PID"}, map[string]any{"birthdate": "1990-04-12"}, now, now.Add(time.Hour))
	require.NoError(f, err)
	f.Add(good)
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Add("...")
	f.Fuzz(func(t *testing.T, raw string) {
		src, err := VerifyJWTVC(context.Background(), fw, raw, now)
		if err == nil && src == nil {
			t.Fatal("nil source without error")
		}
	})
}

// A framework JWKS that (wrongly) publishes an HMAC key must not let anyone
// who reads it forge source credentials.
func TestVerifyJWTVCIgnoresSymmetricKeys(t *testing.T) {
	secret := []byte("published-in-the-framework-by-mistake")
	oct, err := jwk.FromRaw(secret)
	require.NoError(t, err)
	_ = oct.Set(jwk.AlgorithmKey, jwa.HS256)
	_ = oct.Set(jwk.KeyIDKey, "oops")
	set := jwk.NewSet()
	require.NoError(t, set.AddKey(oct))
	raw, _ := json.Marshal(set)
	fw := framework(t, raw)
	now := time.Now()
	// The header claims ES256; the signature is an HMAC under the published
	// secret. jwx verifies with the key's own alg, so only dropping such
	// keys stops this.
	hdr := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"ES256","kid":"oops","typ":"JWT"}`))
	body := base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf(`{"iss":"https://gov.example","sub":"x","iat":%d,"exp":%d,"vc":{"type":["PID"],"credentialSubject":{"birthdate":"1900-01-01"}}}`, now.Unix(), now.Add(time.Hour).Unix())))
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(hdr + "." + body))
	confused := hdr + "." + body + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
	_, err = VerifyJWTVC(context.Background(), fw, confused, now)
	require.ErrorIs(t, err, ErrSignature)
}

// With a subject claim declared, the uniqueness subject is the person's
// identifier at the source, whatever "sub" the holder chose.
func TestVerifyJWTVCSubjectClaim(t *testing.T) {
	key, jwks := sourceKey(t)
	fw := framework(t, jwks)
	fw.Sources[0].SubjectClaim = "personal_number"
	now := time.Now()
	for _, sub := range []string{"did:key:holder-one", "did:key:holder-two"} {
		raw, err := SignJWTVC(key, "https://gov.example", sub, []string{"PID"}, map[string]any{"personal_number": "NL-123"}, now, now.Add(time.Hour))
		require.NoError(t, err)
		src, err := VerifyJWTVC(context.Background(), fw, raw, now)
		require.NoError(t, err)
		require.Equal(t, "NL-123", src.Subject)
	}
	raw, err := SignJWTVC(key, "https://gov.example", "did:key:x", []string{"PID"}, map[string]any{"birthdate": "1990-04-12"}, now, now.Add(time.Hour))
	require.NoError(t, err)
	_, err = VerifyJWTVC(context.Background(), fw, raw, now)
	require.ErrorIs(t, err, ErrSource)
}
