package integration

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/internal/sdjwt"
	wallet "github.com/mustard-id/mustard/persona"
	"github.com/mustard-id/mustard/verifier"
)

// The attacks a verifier of persona credentials must refuse, each against
// the running server's verification API with a real credential: algorithm
// confusion (alg none, HS256 keyed with the issuer's public key), key
// substitution in cnf, a key-binding JWT by another key, replay, and
// audience confusion. Each gets its stable reason code.
func TestSecurityVerificationAttacks(t *testing.T) {
	ctx := context.Background()
	w, pin, fw := enrolled(t)
	cred, key := personaFor(t, w, pin, fw, "sec.example", []string{"age>=18"})
	c := client()
	const aud = "https://sec.example"
	nonce := func() string {
		var preq verifier.PresentationRequestJSON
		require.NoError(t, c.Post(ctx, "/v1/presentation-requests", verifier.RequestJSON{Audience: aud}, &preq))
		return preq.Nonce
	}
	verify := func(vp, n, audience string) string {
		var v verifier.VerdictJSON
		err := c.Post(ctx, "/v1/presentations/verify", verifier.VerifyJSON{Presentation: vp, Audience: audience, Scope: "sec.example", Nonce: n}, &v)
		if err == nil {
			return "accepted"
		}
		var pe *wallet.ProblemError
		require.ErrorAs(t, err, &pe)
		return strings.TrimPrefix(pe.Type, "urn:mustard:problem:")
	}
	present := func(credential string, n, audience string) string {
		tok, err := sdjwt.Parse(credential)
		require.NoError(t, err)
		vp, err := tok.Present(sdjwt.PresentRequest{Audience: audience, Nonce: n}, key)
		require.NoError(t, err)
		return vp
	}
	// The issuer-signed JWT, split.
	jwtPart, rest, _ := strings.Cut(cred, "~")
	parts := strings.Split(jwtPart, ".")
	b64 := base64.RawURLEncoding
	reheader := func(hdr map[string]any, sig []byte) string {
		h, _ := json.Marshal(hdr)
		head := b64.EncodeToString(h)
		s := ""
		if sig != nil {
			s = b64.EncodeToString(sig)
		}
		return head + "." + parts[1] + "." + s + "~" + rest
	}

	// The honest presentation verifies; its replay does not.
	n := nonce()
	honest := present(cred, n, aud)
	require.Equal(t, "accepted", verify(honest, n, aud))
	require.Equal(t, "invalid-nonce", verify(honest, n, aud), "replay")

	// alg none.
	n = nonce()
	none := reheader(map[string]any{"alg": "none", "typ": "dc+sd-jwt"}, nil)
	require.NotEqual(t, "accepted", verify(present(none, n, aud), n, aud), "alg none")

	// HS256 keyed with the issuer's public key (its JWKS as bytes).
	n = nonce()
	var jwks json.RawMessage
	for _, iss := range env.srv.Framework.Issuers {
		jwks = iss.JWKS
	}
	hdr := map[string]any{"alg": "HS256", "typ": "dc+sd-jwt"}
	h, _ := json.Marshal(hdr)
	m := hmac.New(sha256.New, jwks)
	m.Write([]byte(b64.EncodeToString(h) + "." + parts[1]))
	require.NotEqual(t, "accepted", verify(present(reheader(hdr, m.Sum(nil)), n, aud), n, aud), "HS256 with the public key")

	// Key substitution: the attacker's key in cnf breaks the issuer's
	// signature.
	payload, _ := b64.DecodeString(parts[1])
	var claims map[string]any
	require.NoError(t, json.Unmarshal(payload, &claims))
	attacker, err := wallet.NewPersonaKey()
	require.NoError(t, err)
	pub, _ := attacker.PublicKey()
	claims["cnf"] = map[string]any{"jwk": pub}
	p2, _ := json.Marshal(claims)
	swapped := parts[0] + "." + b64.EncodeToString(p2) + "." + parts[2] + "~" + rest
	n = nonce()
	tok, err := sdjwt.Parse(swapped)
	require.NoError(t, err)
	vp, err := tok.Present(sdjwt.PresentRequest{Audience: aud, Nonce: n}, attacker)
	require.NoError(t, err)
	require.Equal(t, "invalid-credential-signature", verify(vp, n, aud), "cnf substituted")

	// A key-binding JWT signed by another key than cnf's (made by hand:
	// the library refuses to present with a key that is not cnf's).
	n = nonce()
	honestVP := present(cred, n, aud)
	sdPart := honestVP[:strings.LastIndex(honestVP, "~")+1]
	sum := sha256.Sum256([]byte(sdPart))
	kbPayload, _ := json.Marshal(map[string]any{"iat": time.Now().Unix(), "aud": aud, "nonce": n, "sd_hash": b64.EncodeToString(sum[:])})
	kbHdr := jws.NewHeaders()
	_ = kbHdr.Set(jws.TypeKey, "kb+jwt")
	kb, err := jws.Sign(kbPayload, jws.WithKey(jwa.ES256, attacker, jws.WithProtectedHeaders(kbHdr)))
	require.NoError(t, err)
	require.Equal(t, "invalid-key-binding", verify(sdPart+string(kb), n, aud), "KB-JWT by another key")

	// Audience confusion: a presentation made for one relying party,
	// replayed at another with that one's fresh nonce.
	var preqB verifier.PresentationRequestJSON
	require.NoError(t, c.Post(ctx, "/v1/presentation-requests", verifier.RequestJSON{Audience: "https://other.example"}, &preqB))
	forA := present(cred, preqB.Nonce, aud)
	require.Equal(t, "wrong-audience", verify(forA, preqB.Nonce, "https://other.example"))
}

// Log injection: request data with line breaks never splits or forges a
// log line; logs name routes, not paths.
func TestSecurityLogInjection(t *testing.T) {
	var buf syncBuffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	defer slog.SetDefault(prev)
	h := env.srv.Handler()
	for _, path := range []string{
		"/oauth2/login/abc%0A%7B%22level%22%3A%22ERROR%22%2C%22msg%22%3A%22injected%22%7D",
		"/v1/communities/x%0D%0Ainjected/statements",
		"/no/such%0Ainjected",
	} {
		req, err := http.NewRequest("GET", env.base+path, nil)
		require.NoError(t, err)
		rec := &recorder{header: http.Header{}}
		h.ServeHTTP(rec, req)
	}
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var v map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &v), "a log line is not one JSON object: %q", line)
		require.NotContains(t, line, "injected")
	}
	require.NotEmpty(t, buf.String())
}

// recorder is a minimal http.ResponseWriter.
type recorder struct {
	header http.Header
	body   bytes.Buffer
	code   int
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }
func (r *recorder) WriteHeader(code int)        { r.code = code }
