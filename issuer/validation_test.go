package issuer_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/internal/statuslist"
	"github.com/mustard-id/mustard/issuer"
	"github.com/mustard-id/mustard/zk"
)

// The validation service: a relying party holding a credential or a
// pseudonym gets a signed answer with the current status and grade.
func TestValidationService(t *testing.T) {
	t.Parallel()
	w := newWorld(t, func(c *issuer.Config) { c.CredentialTTL = time.Hour })
	out, _ := w.issue(t)

	ask := func(req issuer.ValidationRequest) map[string]any {
		t.Helper()
		code, hdr, body := w.call(t, "POST", "/v1/validation", "", req)
		require.Equal(t, http.StatusOK, code, string(body))
		require.Equal(t, "application/jwt", hdr.Get("Content-Type"))
		typ, kid, claims := w.verifiedJWT(t, string(body))
		require.Equal(t, issuer.TypeValidation, typ)
		require.Equal(t, w.key.KeyID(), kid)
		require.Equal(t, w.iss.ID(), claims["iss"])
		require.InDelta(t, float64(w.clock.Now().Add(issuer.ValidationTTL).Unix()), claims["exp"], 1)
		return claims
	}
	c := ask(issuer.ValidationRequest{Credential: out.Credential, Nonce: "rp-n1", Audience: testRP})
	require.Equal(t, "valid", c["status"])
	require.Equal(t, "high", c["grade"])
	require.Equal(t, out.Pseudonym, c["sub"])
	require.Equal(t, "rp-n1", c["nonce"])
	require.Equal(t, testRP, c["aud"])
	require.Equal(t, map[string]any{"idx": float64(out.Status.Index), "uri": out.Status.URI}, c["status_list"])

	require.NoError(t, w.iss.SetStatus(context.Background(), out.StatusIndex, statuslist.Suspended))
	require.Equal(t, "suspended", ask(issuer.ValidationRequest{Pseudonym: out.Pseudonym})["status"])
	require.NoError(t, w.iss.SetStatus(context.Background(), out.StatusIndex, statuslist.Invalid))
	require.Equal(t, "revoked", ask(issuer.ValidationRequest{Credential: out.Credential})["status"])

	// A later credential for another pseudonym, then expiry.
	later, _ := w.issue(t)
	w.clock.Add(2 * time.Hour)
	require.Equal(t, "expired", ask(issuer.ValidationRequest{Credential: later.Credential})["status"])
	require.Equal(t, "expired", ask(issuer.ValidationRequest{Pseudonym: later.Pseudonym})["status"])

	other := newWorld(t, nil)
	foreign, _ := other.issue(t)
	for _, tc := range []struct {
		name string
		req  issuer.ValidationRequest
		code int
		typ  string
	}{
		{"neither", issuer.ValidationRequest{}, 400, issuer.ErrValidation.Type()},
		{"both", issuer.ValidationRequest{Credential: out.Credential, Pseudonym: out.Pseudonym}, 400, issuer.ErrValidation.Type()},
		{"not hex", issuer.ValidationRequest{Pseudonym: "zz"}, 400, issuer.ErrValidation.Type()},
		{"unknown pseudonym", issuer.ValidationRequest{Pseudonym: zk.Hex(fr.NewElement(12345))}, 404, issuer.ErrUnknownPseudonym.Type()},
		{"another issuer's credential", issuer.ValidationRequest{Credential: foreign.Credential}, 400, issuer.ErrCredential.Type()},
		{"garbage", issuer.ValidationRequest{Credential: "a.b.c~"}, 400, issuer.ErrCredential.Type()},
	} {
		code, _, body := w.call(t, "POST", "/v1/validation", "", tc.req)
		require.Equal(t, tc.code, code, tc.name)
		require.Equal(t, tc.typ, problemType(t, body), tc.name)
	}
}
