package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/internal/sdjwt"
	"github.com/mustard-id/mustard/issuer"
	wallet "github.com/mustard-id/mustard/persona"
	"github.com/mustard-id/mustard/verifier"
	"github.com/mustard-id/mustard/zk"
)

// adminToken is the issuer's status API bearer token in these tests.
const adminToken = "integration-admin-token"

// issuedPersona derives a real persona proof for scope and has the issuer
// issue its credential over HTTP.
func issuedPersona(t *testing.T, scope string) (*issuer.IssuedJSON, jwk.Key) {
	t.Helper()
	ctx := context.Background()
	w, pin, fw := enrolled(t)
	c := client()
	nonce, err := c.Nonce(ctx, scope)
	require.NoError(t, err)
	snap, err := c.Revocations(ctx)
	require.NoError(t, err)
	key, err := wallet.NewPersonaKey()
	require.NoError(t, err)
	proof, err := w.Derive(ctx, env.srv.Keys, pin, fw, snap, key, wallet.Query{Scope: scope, Nonce: nonce, MinGrade: zk.GradeSubstantial, Now: time.Now()})
	require.NoError(t, err)
	iss, err := c.Issue(ctx, env.srv.Issuer.ID(), proof, key)
	require.NoError(t, err)
	return iss, key
}

// A relying party's own verifier (a fresh cache) fetching the server's
// status lists over loopback HTTP.
func rpVerify(t *testing.T, cred string, key jwk.Key, scope string) error {
	set, err := env.srv.Issuer.PublicKeys()
	require.NoError(t, err)
	v, err := verifier.New(verifier.Config{Issuers: sdjwt.StaticKeys(env.srv.Issuer.ID(), set)})
	require.NoError(t, err)
	tok, err := sdjwt.Parse(cred)
	require.NoError(t, err)
	vp, err := tok.Present(sdjwt.PresentRequest{Audience: "https://rp.example", Nonce: "n1"}, key)
	require.NoError(t, err)
	_, err = v.Verify(context.Background(), vp, verifier.Policy{Audience: "https://rp.example", Nonce: "n1", Scope: scope})
	return err
}

// Credentials issued over real proofs point into the served status list;
// the provider suspends one and the holder revokes another, and relying
// parties see it.
func TestStatusOverHTTP(t *testing.T) {
	a, aKey := issuedPersona(t, "status-a.example")
	b, bKey := issuedPersona(t, "status-b.example")
	require.Equal(t, env.base+"/v1/status-lists/0", a.StatusList)
	require.NoError(t, rpVerify(t, a.Credential, aKey, "status-a.example"))

	// Provider side: suspend a.
	body := mustJSON(issuer.StatusJSON{Status: "suspended"})
	req, err := http.NewRequest("POST", fmt.Sprintf("%s/v1/admin/credentials/%d/status", env.base, a.StatusIndex), bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.ErrorIs(t, rpVerify(t, a.Credential, aKey, "status-a.example"), verifier.ErrSuspended)

	// Holder side: b revokes itself.
	code, _, nb := post(t, "/v1/persona/revocation-nonce", "application/json", nil)
	require.Equal(t, http.StatusOK, code)
	var n issuer.NonceJSON
	require.NoError(t, json.Unmarshal(nb, &n))
	proof, err := issuer.SignRevocation(bKey, env.srv.Issuer.ID(), n.Nonce, b.StatusIndex%issuer.ListSize, b.StatusList, time.Now())
	require.NoError(t, err)
	code, _, rb := post(t, "/v1/persona/revocation", "application/json", mustJSON(issuer.RevokeJSON{Credential: b.Credential, Proof: proof}))
	require.Equal(t, http.StatusOK, code, string(rb))
	require.ErrorIs(t, rpVerify(t, b.Credential, bKey, "status-b.example"), verifier.ErrRevoked)
}

// POST /v1/persona with "format": "jwt_vc_json" issues a W3C VC 2.0 JWT
// over a real proof; an unknown format is refused before anything else.
func TestIssueW3CFormat(t *testing.T) {
	ctx := context.Background()
	const scope = "vc-format.example"
	w, pin, fw := enrolled(t)
	c := client()
	nonce, err := c.Nonce(ctx, scope)
	require.NoError(t, err)
	snap, err := c.Revocations(ctx)
	require.NoError(t, err)
	key, err := wallet.NewPersonaKey()
	require.NoError(t, err)
	proof, err := w.Derive(ctx, env.srv.Keys, pin, fw, snap, key, wallet.Query{Scope: scope, Nonce: nonce, MinGrade: zk.GradeSubstantial, Predicates: []string{"age>=18"}, Now: time.Now()})
	require.NoError(t, err)
	pub, err := key.PublicKey()
	require.NoError(t, err)
	pop, err := issuer.SignPossession(key, env.srv.Issuer.ID(), nonce)
	require.NoError(t, err)
	req := issuer.RequestJSON{Proof: *proof, HolderJWK: mustJSON(pub), PoP: pop, Format: "mso_mdoc"}
	code, _, b := post(t, "/v1/persona", "application/json", mustJSON(req))
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, string(b), issuer.ErrFormat.Type())

	req.Format = issuer.FormatVC2
	code, _, b = post(t, "/v1/persona", "application/json", mustJSON(req))
	require.Equal(t, http.StatusCreated, code, string(b))
	var out issuer.IssuedJSON
	require.NoError(t, json.Unmarshal(b, &out))
	require.Equal(t, issuer.FormatVC2, out.Format)
	set, err := env.srv.Issuer.PublicKeys()
	require.NoError(t, err)
	// The kid is a DID URL ("<did:jwk>#<kid>"): verify with the key it names.
	k, _ := set.Key(0)
	payload, err := jws.Verify([]byte(out.Credential), jws.WithKey(jwa.ES256, k))
	require.NoError(t, err)
	msg, err := jws.Parse([]byte(out.Credential))
	require.NoError(t, err)
	require.Equal(t, env.srv.Issuer.ID()+"#"+k.KeyID(), msg.Signatures()[0].ProtectedHeaders().KeyID())
	var vc map[string]any
	require.NoError(t, json.Unmarshal(payload, &vc))
	require.Equal(t, scope, vc["credentialSubject"].(map[string]any)["scope"])
	require.Equal(t, true, vc["credentialSubject"].(map[string]any)["age_over_18"])
	require.Len(t, vc["credentialStatus"], 2)
}
