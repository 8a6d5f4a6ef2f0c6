package persona_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode"

	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/persona"
	"github.com/mustard-id/mustard/verifier"
)

// A verifier's refusal is printed to the terminal: its title and type
// reach it without control or format characters, so that a refusal
// cannot redraw the screen as an acceptance.
func TestRefusalIsPrintable(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"type":"urn:x\u001b[2J","title":"no\u001b[2J\u001b[HAccepted \u202e","status":403}`))
	}))
	defer srv.Close()
	a := &verifier.AuthorizationRequest{ClientID: verifier.PrefixRedirectURI + srv.URL, ResponseType: "vp_token",
		ResponseMode: verifier.ResponseModeDirectPost, ResponseURI: srv.URL, Nonce: "n", State: "s",
		DCQLQuery: verifier.DefaultDCQL(nil), Mustard: &verifier.MustardRequest{Scope: "rp.example"}}
	err := persona.DeclineOID4VP(context.Background(), srv.Client(), a.PresentationRequest())
	require.Error(t, err)
	msg := err.Error()
	require.Contains(t, msg, "Accepted")
	require.False(t, strings.ContainsFunc(msg, func(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) }), "%q", msg)
}
