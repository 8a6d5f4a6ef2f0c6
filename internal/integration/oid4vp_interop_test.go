package integration

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/verifier"
)

// oid4vcTS resolves link with oid4vc-ts (npm @openid4vc/openid4vp), or
// skips: set MUSTARD_OID4VP_JS to a directory where
// `npm install @openid4vc/openid4vp@0.4.6` ran (node required).
func oid4vcTS(t *testing.T, link string) map[string]any {
	t.Helper()
	dir := os.Getenv("MUSTARD_OID4VP_JS")
	node, err := exec.LookPath("node")
	if dir == "" || err != nil {
		t.Skip("set MUSTARD_OID4VP_JS to a directory with node_modules/@openid4vc/openid4vp (npm install @openid4vc/openid4vp@0.4.6) and install node")
	}
	b, err := os.ReadFile("testdata/oid4vp_interop.mjs")
	require.NoError(t, err)
	script := filepath.Join(dir, "mustard_oid4vp_interop.mjs")
	require.NoError(t, os.WriteFile(script, b, 0o644))
	out, err := exec.Command(node, script, link).Output()
	require.NoError(t, err)
	var res map[string]any
	require.NoError(t, json.Unmarshal(out, &res), string(out))
	return res
}

// Interop: oid4vc-ts, the OpenWallet Foundation's OpenID4VP library,
// resolves the verification API's openid4vp:// link: it fetches the
// Request Object by reference, identifies the decentralized_identifier
// client, checks the signature against the did:web document's key, and
// reads the DCQL query; a tampered link (another client_id) it refuses.
func TestOID4VPInteropOID4VCTS(t *testing.T) {
	tx := oid4vpTx(t, verifier.OID4VPRequestJSON{Scope: "interop.example", RequiredClaims: []string{"age_over_18"}})
	res := oid4vcTS(t, tx.AuthorizationRequest)
	require.Empty(t, res["error"])
	require.Equal(t, "decentralized_identifier", res["client_prefix"])
	require.Equal(t, tx.ClientID, res["client_id"])
	require.Equal(t, "direct_post", res["response_mode"])
	require.Equal(t, tx.Nonce, res["nonce"])
	require.Equal(t, tx.State, res["state"])
	require.Equal(t, []any{"persona"}, res["dcql_ids"])
	require.True(t, strings.HasPrefix(res["signed_by"].(string), strings.TrimPrefix(tx.ClientID, verifier.PrefixDID)+"#"), res["signed_by"])

	bad := verifier.AuthorizationLink(verifier.PrefixDID+"did:web:evil.example", tx.RequestURI, "")
	require.NotEmpty(t, oid4vcTS(t, bad)["error"])

	// By value, genuine and with its payload changed under the signature.
	resp, err := http.Get(tx.RequestURI)
	require.NoError(t, err)
	obj, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	byValue := func(o string) string {
		return verifier.OID4VPScheme + "://?" + url.Values{"client_id": {tx.ClientID}, "request": {o}}.Encode()
	}
	require.Empty(t, oid4vcTS(t, byValue(string(obj)))["error"])
	parts := strings.Split(string(obj), ".")
	var claims map[string]any
	require.NoError(t, json.Unmarshal(jwsPayload(t, string(obj)), &claims))
	claims["response_uri"] = "https://evil.example/collect"
	forged := parts[0] + "." + encodeSegment(mustJSON(claims)) + "." + parts[2]
	require.NotEmpty(t, oid4vcTS(t, byValue(forged))["error"], "a forged Request Object")
}
