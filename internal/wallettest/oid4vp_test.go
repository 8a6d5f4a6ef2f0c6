package wallettest

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/persona"
	"github.com/mustard-id/mustard/verifier"
)

func oid4vpTx(t *testing.T, body verifier.OID4VPRequestJSON) *verifier.OID4VPTransactionJSON {
	t.Helper()
	var tx verifier.OID4VPTransactionJSON
	require.NoError(t, (&persona.Client{BaseURL: env.base}).Post(context.Background(), "/v1/oid4vp/requests", body, &tx))
	return &tx
}

func oid4vpResult(t *testing.T, tx *verifier.OID4VPTransactionJSON) verifier.OID4VPResultJSON {
	t.Helper()
	resp, err := http.Get(tx.ResultURI)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out verifier.OID4VPResultJSON
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	return out
}

// `mustard wallet present 'openid4vp://…'`: the wallet checks the signed
// Request Object against the verifier's did:web, says who asks and what,
// derives the persona the request's mustard parameter asks for (a real
// Groth16 proof), and answers by direct_post; the relying party reads the
// verdict from the verification API.
func TestWalletPresentOID4VP(t *testing.T) {
	t.Setenv("MUSTARD_PIN", "a long wallet passphrase")
	dir := newWallet(t)

	tx := oid4vpTx(t, verifier.OID4VPRequestJSON{Scope: "vp.example", RequiredClaims: []string{"age_over_18"}, Predicates: []string{"age>=18"}, ClientName: "VP Shop"})
	fails(t, dir, "no persona for vp.example", "present", tx.AuthorizationRequest, "--no-derive")
	r := ok(t, dir, "present", tx.AuthorizationRequest, "--keys", env.keys)
	require.Contains(t, r.stderr, "OpenID4VP request from "+tx.ClientID+" (request signed by a key of did:web:")
	require.Contains(t, r.stderr, "VP Shop ("+tx.ClientID+") asks for your vp.example persona: it will see age_over_18")
	require.Contains(t, r.stdout, "Derived a new persona")
	require.Contains(t, r.stdout, "accepted")
	res := oid4vpResult(t, tx)
	require.Equal(t, "accepted", res.Status)
	require.Equal(t, true, res.Verdicts["persona"][0].Claims["age_over_18"])

	// Answered already: the same link again fails, saying so.
	fails(t, dir, "refused", "present", tx.AuthorizationRequest)

	// The link in a file (as a QR scanner saves it), --json; the persona
	// now exists, so nothing is derived.
	tx = oid4vpTx(t, verifier.OID4VPRequestJSON{Scope: "vp.example", RequiredClaims: []string{"age_over_18"}, Predicates: []string{"age>=18"}})
	f := filepath.Join(t.TempDir(), "qr.txt")
	require.NoError(t, os.WriteFile(f, []byte(tx.AuthorizationRequest+"\n"), 0o600))
	r = ok(t, dir, "present", f, "--json")
	var out map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &out))
	require.Equal(t, true, out["accepted"])
	require.Equal(t, false, out["derived"])
	require.Equal(t, tx.ClientID, out["audience"])
	require.Equal(t, "accepted", oid4vpResult(t, tx).Status)
	require.NotContains(t, out, "redirect_uri")

	// Same-device: the verifier's redirect_uri (with the response code the
	// relying party needs) is shown, to continue in the browser.
	tx = oid4vpTx(t, verifier.OID4VPRequestJSON{Scope: "vp.example", RedirectURI: "https://vp.example/done"})
	r = ok(t, dir, "present", tx.AuthorizationRequest)
	require.Contains(t, r.stdout, "Continue in your browser: https://vp.example/done#response_code=")
	r = ok(t, dir, "present", oid4vpTx(t, verifier.OID4VPRequestJSON{Scope: "vp.example", RedirectURI: "https://vp.example/done"}).AuthorizationRequest, "--json")
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &out))
	require.True(t, strings.HasPrefix(out["redirect_uri"].(string), "https://vp.example/done#response_code="), r.stdout)

	// A link naming a client the wallet cannot authenticate, and one whose
	// client_id is not the Request Object's.
	bad := strings.Replace(tx.AuthorizationRequest, "client_id=decentralized_identifier", "client_id=x509_san_dns", 1)
	fails(t, dir, "unsupported client_id prefix", "present", bad)
	tx = oid4vpTx(t, verifier.OID4VPRequestJSON{Scope: "vp.example"})
	bad = verifier.AuthorizationLink(verifier.PrefixDID+"did:web:evil.example", tx.RequestURI, "")
	fails(t, dir, "bad presentation request", "present", bad)
	require.Equal(t, "pending", oid4vpResult(t, tx).Status, "nothing was sent")
}
