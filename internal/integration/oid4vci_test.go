package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/circuits/persona"
	"github.com/mustard-id/mustard/internal/oid4vci"
	"github.com/mustard-id/mustard/internal/problem"
	"github.com/mustard-id/mustard/issuer"
	wallet "github.com/mustard-id/mustard/persona"
	"github.com/mustard-id/mustard/verifier"
	"github.com/mustard-id/mustard/zk"
)

// vciSession redeems a fresh public persona offer at the server.
func vciSession(t *testing.T) *oid4vci.Session {
	t.Helper()
	ctx := context.Background()
	offer, err := client().Offer(ctx, issuer.ConfigPersonaSDJWT)
	require.NoError(t, err)
	s, err := (&oid4vci.Client{HTTP: &http.Client{Timeout: time.Minute}}).Redeem(ctx, offer, "")
	require.NoError(t, err)
	return s
}

// vciCredential sends a credential request with a key proof by keyKey for
// nonce and the persona proof, and returns the status and the answer.
func vciCredential(t *testing.T, s *oid4vci.Session, keyKey jwk.Key, nonce string, proof *persona.ProofJSON) (int, map[string]any) {
	t.Helper()
	kp, err := oid4vci.SignKeyProof(keyKey, s.Metadata.CredentialIssuer, nonce, time.Now())
	require.NoError(t, err)
	pj, err := json.Marshal(proof)
	require.NoError(t, err)
	body, err := json.Marshal(oid4vci.CredentialRequest{ConfigurationID: issuer.ConfigPersonaSDJWT, Proofs: &oid4vci.Proofs{JWT: []string{kp}},
		Extensions: map[string]json.RawMessage{issuer.PersonaProofParam: pj}})
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, s.Metadata.CredentialEndpoint, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+s.Token.AccessToken)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var out map[string]any
	require.NoError(t, json.Unmarshal(b, &out), string(b))
	return resp.StatusCode, out
}

// Persona issuance over OpenID4VCI with real proofs: offer, metadata,
// token, nonce, a Groth16 persona proof for the c_nonce, credential; the
// SD-JWT VC verifies at a relying party. Then the refusals that need a
// real proof: a persona proof for another nonce, a key proof by another
// key than the persona key, a reused c_nonce, a stale root.
func TestOID4VCIPersona(t *testing.T) {
	ctx := context.Background()
	w, pin, fw := enrolled(t)
	c := client()
	snap, err := c.Revocations(ctx)
	require.NoError(t, err)
	const scope = "vci.example"
	derive := func(key jwk.Key, nonce string) *persona.ProofJSON {
		p, err := w.Derive(ctx, env.srv.Keys, pin, fw, snap, key, wallet.Query{Scope: scope, Nonce: nonce, MinGrade: zk.GradeSubstantial, Predicates: []string{"age>=18"}, Now: time.Now()})
		require.NoError(t, err)
		return p
	}

	key, err := wallet.NewPersonaKey()
	require.NoError(t, err)
	var used string
	iss, err := c.IssueOID4VCI(ctx, nil, "", key, func(nonce string) (*persona.ProofJSON, error) {
		used = nonce
		return derive(key, nonce), nil
	})
	require.NoError(t, err)
	require.Equal(t, issuer.FormatSDJWT, iss.Format)
	require.NotEmpty(t, iss.Pseudonym)
	require.NotZero(t, iss.Expiry)
	require.NoError(t, rpVerify(t, iss.Credential, key, scope))

	// The same c_nonce (and proof) again, with a fresh access token.
	s := vciSession(t)
	st, out := vciCredential(t, s, key, used, derive(key, used))
	require.Equal(t, http.StatusBadRequest, st)
	require.Equal(t, "invalid_nonce", out["error"])

	// A persona proof made for another nonce than the key proof's.
	n1, err := s.Nonce(ctx)
	require.NoError(t, err)
	n2, err := s.Nonce(ctx)
	require.NoError(t, err)
	p2 := derive(key, n2)
	st, out = vciCredential(t, s, key, n1, p2)
	require.Equal(t, http.StatusBadRequest, st)
	require.Equal(t, "invalid_proof", out["error"], out)

	// A key proof by a key the persona proof does not commit to.
	other, err := wallet.NewPersonaKey()
	require.NoError(t, err)
	st, out = vciCredential(t, s, other, n2, p2)
	require.Equal(t, "invalid_proof", out["error"], out)
	require.Equal(t, issuer.ErrHolderBinding.Type(), out["mustard_problem_type"])

	// A tampered persona proof: a Mustard check behind
	// invalid_credential_request, with its problem type.
	bad := *p2
	bad.Public.Pseudonym = zk.Hex(zk.Pseudonym(zk.Int64(1), zk.Scope(scope)))
	st, out = vciCredential(t, s, key, n2, &bad)
	require.Equal(t, "invalid_credential_request", out["error"], out)
	require.Equal(t, issuer.ErrProof.Type(), out["mustard_problem_type"])

	// Nothing above consumed n2 or the token: the right request succeeds.
	st, out = vciCredential(t, s, key, n2, p2)
	require.Equal(t, http.StatusOK, st, out)
	creds := out["credentials"].([]any)
	require.NoError(t, rpVerify(t, creds[0].(map[string]any)["credential"].(string), key, scope))

	// The wallet read the first credential's status index right: the
	// provider suspends it by that index and relying parties see it.
	req, err := http.NewRequest("POST", fmt.Sprintf("%s/v1/admin/credentials/%d/status", env.base, iss.StatusIndex), bytes.NewReader(mustJSON(issuer.StatusJSON{Status: "suspended"})))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.ErrorIs(t, rpVerify(t, iss.Credential, key, scope), verifier.ErrSuspended)

	// The W3C VC 2.0 configuration.
	vkey, err := wallet.NewPersonaKey()
	require.NoError(t, err)
	vc, err := c.IssueOID4VCI(ctx, nil, issuer.ConfigPersonaVC, vkey, func(nonce string) (*persona.ProofJSON, error) { return derive(vkey, nonce), nil })
	require.NoError(t, err)
	require.Equal(t, issuer.FormatVC2, vc.Format)
	require.NotZero(t, vc.Expiry)
	require.Equal(t, env.base+"/v1/status-lists/0/revocation", vc.StatusList)
	set, err := env.srv.Issuer.PublicKeys()
	require.NoError(t, err)
	k, _ := set.Key(0)
	_, err = jws.Verify([]byte(vc.Credential), jws.WithKey(jwa.ES256, k))
	require.NoError(t, err)
}

// The OpenID4VCI endpoints of the whole server: metadata at the
// well-known locations, distinct from the OpenID Provider's; a public
// offer by reference; an oversized body.
func TestOID4VCIServerRoutes(t *testing.T) {
	ctx := context.Background()
	var m oid4vci.IssuerMetadata
	require.NoError(t, client().Get(ctx, oid4vci.WellKnownIssuer, &m))
	require.Equal(t, env.base, m.CredentialIssuer)
	conf := m.Configurations[issuer.ConfigPersonaSDJWT]
	require.Equal(t, issuer.VCT, conf.VCT)
	require.Equal(t, "dc+sd-jwt", conf.Format)
	require.Contains(t, conf.ProofTypes, "jwt")
	require.Equal(t, "jwt_vc_json", m.Configurations[issuer.ConfigPersonaVC].Format)
	var op map[string]any
	require.NoError(t, client().Get(ctx, "/.well-known/openid-configuration", &op))
	require.NotEqual(t, env.base+"/v1/oid4vci/token", op["token_endpoint"])

	st, _, body := post(t, "/v1/oid4vci/offers", "application/json", []byte(`{"tx_code":true}`))
	require.Equal(t, http.StatusCreated, st, string(body))
	var res oid4vci.OfferResult
	require.NoError(t, json.Unmarshal(body, &res))
	require.NotEmpty(t, res.TxCode)
	ref, err := oid4vci.ParseOffer(res.ByReference)
	require.NoError(t, err)
	offer, err := (&oid4vci.Client{}).Resolve(ctx, ref)
	require.NoError(t, err)
	_, err = (&oid4vci.Client{}).Redeem(ctx, offer, "999999x")
	require.ErrorIs(t, err, oid4vci.ErrInvalidGrant)

	st, _, body = post(t, "/v1/oid4vci/offers", "application/json", bytes.Repeat([]byte(" "), 8<<10))
	require.Equal(t, http.StatusRequestEntityTooLarge, st, string(body))
	var p problem.Body
	require.NoError(t, json.Unmarshal(body, &p))
	st, _, body = post(t, "/v1/oid4vci/token", "application/x-www-form-urlencoded", []byte(url.Values{"grant_type": {oid4vci.GrantPreAuthorized}, "pre-authorized_code": {"x"}}.Encode()))
	require.Equal(t, http.StatusBadRequest, st)
	require.Contains(t, string(body), "invalid_grant")
}
