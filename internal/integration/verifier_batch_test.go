package integration

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/circuits/persona"
	"github.com/mustard-id/mustard/internal/sdjwt"
	"github.com/mustard-id/mustard/issuer"
	wallet "github.com/mustard-id/mustard/persona"
	"github.com/mustard-id/mustard/verifier"
	"github.com/mustard-id/mustard/zk"
)

// rpNonce asks the verification API for a nonce for aud.
func rpNonce(t *testing.T, aud string) string {
	var preq verifier.PresentationRequestJSON
	require.NoError(t, client().Post(context.Background(), "/v1/presentation-requests", verifier.RequestJSON{Audience: aud}, &preq))
	return preq.Nonce
}

// selfIssued derives n self-issued proofs for scope, each for a fresh
// relying-party nonce of aud, from one enrolled wallet.
func selfIssued(t *testing.T, n int, scope, aud string) []*persona.ProofJSON {
	p, _ := selfIssuedKeys(t, n, scope, aud)
	return p
}

// selfIssuedKeys is selfIssued, with each proof's persona key.
func selfIssuedKeys(t *testing.T, n int, scope, aud string) ([]*persona.ProofJSON, []jwk.Key) {
	ctx := context.Background()
	w, pin, fw := enrolled(t)
	snap, err := client().Revocations(ctx)
	require.NoError(t, err)
	var out []*persona.ProofJSON
	var keys []jwk.Key
	for range n {
		key, err := wallet.NewPersonaKey()
		require.NoError(t, err)
		p, err := w.Derive(ctx, env.srv.Keys, pin, fw, snap, key, wallet.Query{Scope: scope, Nonce: rpNonce(t, aud), MinGrade: zk.GradeSubstantial, Predicates: []string{"age>=18"}, Now: time.Now()})
		require.NoError(t, err)
		out = append(out, p)
		keys = append(keys, key)
	}
	return out, keys
}

func tamper(p *persona.ProofJSON) *persona.ProofJSON {
	bad := *p
	raw, _ := base64.RawURLEncoding.DecodeString(p.Proof)
	raw[len(raw)/2] ^= 1
	bad.Proof = base64.RawURLEncoding.EncodeToString(raw)
	return &bad
}

// The self-issued path: the holder presents its persona proof itself,
// under its own media type, bound to the relying party's nonce.
func TestSelfIssuedProof(t *testing.T) {
	const aud, scope = "https://selfissued.example", "selfissued.example"
	proofs := selfIssued(t, 1, scope, aud)
	p := proofs[0]
	q := url.Values{"audience": {aud}, "scope": {scope}, "min_grade": {"substantial"}, "required_claims": {"age_over_18"}}
	send := func(p *persona.ProofJSON) (int, []byte) {
		code, _, b := post(t, "/v1/presentations/verify?"+q.Encode(), verifier.ProofMediaType, mustJSON(p))
		return code, b
	}
	problemOf := func(b []byte) string {
		var pb struct{ Type string }
		require.NoError(t, json.Unmarshal(b, &pb), string(b))
		return pb.Type
	}

	// A tampered proof is refused, and burns no nonce.
	code, b := send(tamper(p))
	require.Equal(t, http.StatusUnauthorized, code)
	require.Equal(t, verifier.ErrProof.Type(), problemOf(b))

	code, b = send(p)
	require.Equal(t, http.StatusOK, code, string(b))
	var v verifier.VerdictJSON
	require.NoError(t, json.Unmarshal(b, &v))
	require.True(t, v.Valid)
	require.Equal(t, verifier.SelfIssuer, v.Issuer)
	require.Equal(t, scope, v.Scope)
	require.Equal(t, "substantial", v.Grade)
	require.Equal(t, true, v.Claims["age_over_18"])
	require.Equal(t, p.Public.Pseudonym, v.Pseudonym)

	code, b = send(p)
	require.Equal(t, http.StatusUnauthorized, code, "replayed")
	require.Equal(t, verifier.ErrNonce.Type(), problemOf(b))

	// The same proof offered to another audience or scope is refused.
	q.Set("audience", "https://other.example")
	_, b = send(p)
	require.Equal(t, verifier.ErrNonce.Type(), problemOf(b))
	q.Set("audience", aud)
	q.Set("scope", "other.example")
	_, b = send(p)
	require.Equal(t, verifier.ErrScope.Type(), problemOf(b))

	// As a "proof" member of the JSON body, the same rules; with the
	// persona key and its proof of possession for this audience, the proof
	// is bound to this relying party (a relay to another is refused).
	fresh, keys := selfIssuedKeys(t, 2, scope, aud)
	pub, err := keys[0].PublicKey()
	require.NoError(t, err)
	pj := mustJSON(pub)
	body := func(p *persona.ProofJSON, popAud string, require bool) []byte {
		pop, err := issuer.SignPossession(keys[0], popAud, p.Public.Nonce)
		if err != nil {
			t.Fatal(err)
		}
		return mustJSON(verifier.VerifyJSON{Proof: p, Audience: aud, Scope: scope, HolderJWK: pj, PoP: pop, RequireHolderBinding: require})
	}
	code, _, b = post(t, "/v1/presentations/verify", "application/json", body(fresh[0], "https://relay.example", true))
	require.Equal(t, http.StatusUnauthorized, code)
	require.Equal(t, verifier.ErrHolderBinding.Type(), problemOf(b))
	code, _, b = post(t, "/v1/presentations/verify", "application/json", mustJSON(verifier.VerifyJSON{Proof: fresh[0], Audience: aud, Scope: scope, RequireHolderBinding: true}))
	require.Equal(t, verifier.ErrHolderBinding.Type(), problemOf(b), "binding required, none given")
	code, _, b = post(t, "/v1/presentations/verify", "application/json", body(fresh[1], aud, true))
	require.Equal(t, verifier.ErrHolderBinding.Type(), problemOf(b), "another proof's key")
	code, _, b = post(t, "/v1/presentations/verify", "application/json", body(fresh[0], aud, true))
	require.Equal(t, http.StatusOK, code, string(b))
	require.NoError(t, json.Unmarshal(b, &v))
	require.True(t, v.HolderBound)
	code, _, b = post(t, "/v1/presentations/verify", "application/json", mustJSON(verifier.VerifyJSON{Proof: fresh[1], Audience: aud, Scope: scope, Nonce: fresh[1].Public.Nonce}))
	require.Equal(t, http.StatusOK, code, string(b))
	var unbound verifier.VerdictJSON
	require.NoError(t, json.Unmarshal(b, &unbound))
	require.False(t, unbound.HolderBound)
}

// One batch call: self-issued proofs (one Groth16 batch verification),
// an SD-JWT VC presentation, and the failures each item earns alone.
func TestVerifyBatch(t *testing.T) {
	const aud, scope = "https://batch.example", "batch.example"
	proofs := selfIssued(t, 3, scope, aud)
	iss, key := issuedPersona(t, scope)
	tok, err := sdjwt.Parse(iss.Credential)
	require.NoError(t, err)
	n := rpNonce(t, aud)
	vp, err := tok.Present(sdjwt.PresentRequest{Audience: aud, Nonce: n}, key)
	require.NoError(t, err)

	items := []verifier.VerifyJSON{
		{Proof: proofs[0], Audience: aud, Scope: scope},
		{Presentation: vp, Audience: aud, Scope: scope, Nonce: n},
		{Proof: tamper(proofs[1]), Audience: aud, Scope: scope},
		{Proof: proofs[2], Audience: aud, Scope: scope},
		{Proof: proofs[0], Audience: aud, Scope: scope},                   // the same nonce again
		{Proof: proofs[1], Audience: aud, Scope: scope, MinGrade: "nope"}, // malformed policy
		{Audience: aud, Scope: scope, Nonce: n},                           // neither presentation nor proof
	}
	var out verifier.BatchResponseJSON
	require.NoError(t, client().Post(context.Background(), "/v1/presentations/verify-batch", verifier.BatchJSON{Items: items}, &out))
	require.Len(t, out.Results, len(items))
	want := []string{"", "", verifier.ErrProof.Type(), "", verifier.ErrNonce.Type(), verifier.ErrInvalidRequest.Type(), verifier.ErrInvalidRequest.Type()}
	for i, r := range out.Results {
		if want[i] == "" {
			require.True(t, r.Valid, "item %d: %+v", i, r.Problem)
			require.Equal(t, scope, r.Verdict.Scope)
			continue
		}
		require.False(t, r.Valid, "item %d", i)
		require.Equal(t, want[i], r.Problem.Type, "item %d", i)
	}
	require.Equal(t, verifier.SelfIssuer, out.Results[0].Verdict.Issuer)
	require.Equal(t, env.srv.Issuer.ID(), out.Results[1].Verdict.Issuer)

	// The tampered item's nonce was not burnt: the real proof for it passes.
	require.NoError(t, client().Post(context.Background(), "/v1/presentations/verify-batch", verifier.BatchJSON{Items: []verifier.VerifyJSON{{Proof: proofs[1], Audience: aud, Scope: scope}}}, &out))
	require.True(t, out.Results[0].Valid)

	// Bounds: an empty batch and one over MaxBatch are refused whole.
	err = client().Post(context.Background(), "/v1/presentations/verify-batch", verifier.BatchJSON{}, &out)
	var pe *wallet.ProblemError
	require.ErrorAs(t, err, &pe)
	require.Equal(t, verifier.ErrInvalidRequest.Type(), pe.Type)
	err = client().Post(context.Background(), "/v1/presentations/verify-batch", verifier.BatchJSON{Items: make([]verifier.VerifyJSON, verifier.MaxBatch+1)}, &out)
	require.ErrorAs(t, err, &pe)
	require.Equal(t, verifier.ErrInvalidRequest.Type(), pe.Type)
}
