package persona_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/internal/sdjwt"
	"github.com/mustard-id/mustard/persona"
	"github.com/mustard-id/mustard/verifier"
)

func p256(t *testing.T) jwk.Key {
	raw, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	k, err := jwk.FromRaw(raw)
	require.NoError(t, err)
	return k
}

// The redirect_uri a verifier answers with is printed ("Continue in your
// browser: …") and opened: the wallet passes on only an http(s) URL of
// printable ASCII, never an escape sequence or a script URL.
func TestAnswerOID4VPRedirectIsChecked(t *testing.T) {
	holder := p256(t)
	cred, err := sdjwt.Issue(sdjwt.IssueRequest{Issuer: "https://issuer.example", VCT: verifier.VCT, Expiry: time.Now().Add(time.Hour),
		Claims: map[string]any{"scope": "rp.example", "pseudonym": "p"}, HolderKey: holder}, p256(t))
	require.NoError(t, err)
	for redirect, want := range map[string]string{
		"https://rp.example/back#response_code=abc": "https://rp.example/back#response_code=abc",
		"https://rp.example/\x1b[2J\x1b[Hdone":      "",
		"https://rp.example/\u202eexe.txt":          "",
		"javascript:alert(1)":                       "",
		"file:///etc/passwd":                        "",
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]string{"redirect_uri": redirect})
		}))
		a := &verifier.AuthorizationRequest{ClientID: verifier.PrefixRedirectURI + srv.URL, ResponseType: "vp_token",
			ResponseMode: verifier.ResponseModeDirectPost, ResponseURI: srv.URL, Nonce: "n", State: "s",
			DCQLQuery: verifier.DefaultDCQL(nil), Mustard: &verifier.MustardRequest{Scope: "rp.example"}}
		got, err := persona.AnswerOID4VP(context.Background(), srv.Client(), a.PresentationRequest(), cred, holder)
		srv.Close()
		require.NoError(t, err)
		require.Equal(t, want, got, "%q", redirect)
	}
}
