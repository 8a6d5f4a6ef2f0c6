package issuer_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hyperledger/aries-framework-go/pkg/doc/signature/suite"
	"github.com/hyperledger/aries-framework-go/pkg/doc/signature/suite/jsonwebsignature2020"
	sigverifier "github.com/hyperledger/aries-framework-go/pkg/doc/signature/verifier"
	"github.com/hyperledger/aries-framework-go/pkg/doc/verifiable"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/internal/dataintegrity"
	"github.com/mustard-id/mustard/internal/statuslist"
	"github.com/mustard-id/mustard/issuer"
	"github.com/mustard-id/mustard/verifier"
)

func edIssuerKey(t testing.TB) jwk.Key {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	k, err := jwk.FromRaw(priv)
	require.NoError(t, err)
	require.NoError(t, jwk.AssignKeyID(k))
	return k
}

// issuerDIKeys resolves "<issuer>#<kid>" against the issuer's published
// keys.
func issuerDIKeys(t testing.TB, w *world) dataintegrity.KeyResolver {
	return func(vm, _ string) (crypto.PublicKey, error) {
		kid, ok := strings.CutPrefix(vm, w.iss.ID()+"#")
		if !ok {
			return nil, errors.New("not the issuer's")
		}
		set, err := w.iss.PublicKeys()
		require.NoError(t, err)
		k, ok := set.LookupKeyID(kid)
		if !ok {
			return nil, errors.New("unknown kid")
		}
		var raw any
		require.NoError(t, k.Raw(&raw))
		return raw, nil
	}
}

// The VC 2.0 JSON-LD form: the same content as the JWT forms, a
// DataIntegrityProof whose cryptosuite is the issuer key's, the persona
// key's did:jwk as subject, two BitstringStatusListEntry; tampering
// fails.
func TestLDPVC(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, suite string
		key         func(testing.TB) jwk.Key
	}{
		{"P-256", dataintegrity.ECDSA, newKey},
		{"Ed25519", dataintegrity.EdDSA, edIssuerKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := tc.key(t)
			w := newWorld(t, func(c *issuer.Config) { c.Key = key })
			out, holder := w.issueAs(t, issuer.FormatLDPVC)
			require.Equal(t, issuer.FormatLDPVC, out.Format)
			var vc map[string]any
			require.NoError(t, json.Unmarshal([]byte(out.Credential), &vc))
			require.Equal(t, []any{dataintegrity.CredentialsV2Context, issuer.PersonaContext}, vc["@context"])
			require.Equal(t, []any{"VerifiableCredential", "MustardPersonaCredential"}, vc["type"])
			require.Equal(t, w.iss.ID(), vc["issuer"])
			sub := vc["credentialSubject"].(map[string]any)
			hpub, _ := holder.PublicKey()
			hb, _ := json.Marshal(hpub)
			var hj map[string]any
			_ = json.Unmarshal(hb, &hj)
			require.True(t, strings.HasPrefix(sub["id"].(string), "did:jwk:"))
			require.Equal(t, testScope, sub["scope"])
			require.Equal(t, out.Pseudonym, sub["pseudonym"])
			require.Equal(t, "high", sub["grade"])
			require.Equal(t, true, sub["age_over_18"])
			entries := vc["credentialStatus"].([]any)
			require.Len(t, entries, 2)
			require.Equal(t, "BitstringStatusListEntry", entries[0].(map[string]any)["type"])

			loader, err := issuer.NewLDLoader()
			require.NoError(t, err)
			p, err := dataintegrity.Verify(vc, loader, issuerDIKeys(t, w), dataintegrity.VerifyOptions{Now: w.clock.Now()})
			require.NoError(t, err)
			require.Equal(t, tc.suite, p.Cryptosuite)
			require.Equal(t, w.iss.ID()+"#"+key.KeyID(), p.VerificationMethod)

			sub["grade"] = "low"
			_, err = dataintegrity.Verify(vc, loader, issuerDIKeys(t, w), dataintegrity.VerifyOptions{Now: w.clock.Now()})
			require.ErrorIs(t, err, dataintegrity.ErrSignature)
		})
	}
}

// ariesLDKeys is an aries PublicKeyFetcher for linked-data proofs: the
// issuer's published keys as JsonWebKey2020.
func ariesLDKeys(t *testing.T, w *world) verifiable.PublicKeyFetcher {
	return func(issuerID, keyID string) (*sigverifier.PublicKey, error) {
		return ariesKeys(t, w)(issuerID, strings.TrimPrefix(keyID, "#"))
	}
}

// aries-framework-go v0.3.2 verifies the VC 1.1 JSON-LD form, signed by
// aries' own JsonWebSignature2020 suite, with its proof check on: with a
// P-256 (ES256) and an Ed25519 (EdDSA) issuer key. A tampered claim, or
// another issuer's key, fails in aries.
func TestLDPVC11VerifiesInAries(t *testing.T) {
	t.Parallel()
	for name, key := range map[string]func(testing.TB) jwk.Key{"P-256": newKey, "Ed25519": edIssuerKey} {
		t.Run(name, func(t *testing.T) {
			k := key(t)
			w := newWorld(t, func(c *issuer.Config) { c.ID, _ = issuer.DIDWeb(c.BaseURL); c.Key = k })
			out, _ := w.issueAs(t, issuer.FormatLDPVC11)
			loader, err := issuer.NewLDLoader()
			require.NoError(t, err)
			parse := func(raw string, keys verifiable.PublicKeyFetcher) (*verifiable.Credential, error) {
				return verifiable.ParseCredential([]byte(raw),
					verifiable.WithPublicKeyFetcher(keys),
					verifiable.WithEmbeddedSignatureSuites(jsonwebsignature2020.New(suite.WithVerifier(jsonwebsignature2020.NewPublicKeyVerifier()))),
					verifiable.WithJSONLDDocumentLoader(loader),
					verifiable.WithJSONLDValidation(),
					verifiable.WithStrictValidation())
			}
			vc, err := parse(out.Credential, ariesLDKeys(t, w))
			require.NoError(t, err)
			require.Len(t, vc.Proofs, 1)
			require.Equal(t, "JsonWebSignature2020", vc.Proofs[0]["type"])
			require.Equal(t, w.iss.ID()+"#"+k.KeyID(), vc.Proofs[0]["verificationMethod"])
			require.Equal(t, w.iss.ID(), vc.Issuer.ID)
			require.Equal(t, []string{"VerifiableCredential", "MustardPersonaCredential"}, vc.Types)
			subs := vc.Subject.([]verifiable.Subject)
			require.Len(t, subs, 1)
			require.True(t, strings.HasPrefix(subs[0].ID, "did:jwk:"))
			require.Equal(t, testScope, subs[0].CustomFields["scope"])
			require.Equal(t, "BitstringStatusListEntry", vc.Status.Type)

			tampered := strings.Replace(out.Credential, `"grade":"high"`, `"grade":"low"`, 1)
			require.NotEqual(t, out.Credential, tampered)
			_, err = parse(tampered, ariesLDKeys(t, w))
			require.Error(t, err)
			k2 := key(t)
			other := newWorld(t, func(c *issuer.Config) { c.ID, _ = issuer.DIDWeb(c.BaseURL); c.Key = k2 })
			_, err = parse(out.Credential, func(_, _ string) (*sigverifier.PublicKey, error) {
				return ariesKeys(t, other)(other.iss.ID(), k2.KeyID())
			})
			require.Error(t, err)
		})
	}
}

// presentLDP wraps a JSON-LD persona credential in a presentation signed
// by key (normally the persona key) for audience and nonce.
func presentLDP(t testing.TB, cred string, key jwk.Key, aud, nonce string, created time.Time) string {
	t.Helper()
	var vc map[string]any
	require.NoError(t, json.Unmarshal([]byte(cred), &vc))
	holder := vc["credentialSubject"].(map[string]any)["id"].(string)
	var raw any
	require.NoError(t, key.Raw(&raw))
	loader, err := dataintegrity.NewLoader(nil)
	require.NoError(t, err)
	vp, err := dataintegrity.Present([]map[string]any{vc}, holder, raw.(crypto.Signer), holder+"#0", nonce, aud, loader, created)
	require.NoError(t, err)
	b, err := json.Marshal(vp)
	require.NoError(t, err)
	return string(b)
}

// The verifier library accepts a JSON-LD persona credential presented in
// a VerifiablePresentation signed by the persona key over the relying
// party's nonce (challenge) and audience (domain), and refuses every
// other case with its reason code, including the credential's status
// from the issuer's Bitstring Status Lists.
func TestLDPPresentation(t *testing.T) {
	t.Parallel()
	for name, key := range map[string]func(testing.TB) jwk.Key{"P-256": newKey, "Ed25519": edIssuerKey} {
		t.Run(name, func(t *testing.T) {
			k := key(t)
			w := newWorld(t, func(c *issuer.Config) { c.Key = k })
			out, holder := w.issueAs(t, issuer.FormatLDPVC)
			now := w.clock.Now()
			pol := verifier.Policy{Audience: testRP, Nonce: "rp-nonce", Scope: testScope, RequiredClaims: []string{"age_over_18"}}
			ctx := context.Background()
			v := w.verifier(t)
			vd, err := v.Verify(ctx, presentLDP(t, out.Credential, holder, testRP, "rp-nonce", now), pol)
			require.NoError(t, err)
			require.Equal(t, w.iss.ID(), vd.Issuer)
			require.Equal(t, out.Pseudonym, vd.Pseudonym)
			require.Equal(t, "high", vd.Grade)
			require.Equal(t, true, vd.Claims["age_over_18"])
			require.Equal(t, out.Expiry.Unix(), vd.Expiry.Unix())

			otherHolder := newKey(t)
			var vc map[string]any
			require.NoError(t, json.Unmarshal([]byte(out.Credential), &vc))
			vc["credentialSubject"].(map[string]any)["grade"] = "substantial"
			tampered, _ := json.Marshal(vc)
			for _, tc := range []struct {
				name string
				pres string
				pol  verifier.Policy
				want error
			}{
				{"other nonce", presentLDP(t, out.Credential, holder, testRP, "other", now), pol, verifier.ErrNonce},
				{"other audience", presentLDP(t, out.Credential, holder, "https://other.example", "rp-nonce", now), pol, verifier.ErrAudience},
				{"not the persona key", presentLDP(t, out.Credential, otherHolder, testRP, "rp-nonce", now), pol, verifier.ErrKeyBinding},
				{"stale", presentLDP(t, out.Credential, holder, testRP, "rp-nonce", now.Add(-10*time.Minute)), pol, verifier.ErrKeyBinding},
				{"tampered credential", presentLDP(t, string(tampered), holder, testRP, "rp-nonce", now), pol, verifier.ErrSignature},
				{"other scope", presentLDP(t, out.Credential, holder, testRP, "rp-nonce", now), verifier.Policy{Audience: testRP, Nonce: "rp-nonce", Scope: "other.example"}, verifier.ErrScope},
				{"missing claim", presentLDP(t, out.Credential, holder, testRP, "rp-nonce", now), verifier.Policy{Audience: testRP, Nonce: "rp-nonce", Scope: testScope, RequiredClaims: []string{"age_over_65"}}, verifier.ErrMissingClaim},
				{"not JSON-LD", `{"@context":["https://www.w3.org/2018/credentials/v1"]}`, pol, verifier.ErrMalformed},
			} {
				t.Run(tc.name, func(t *testing.T) {
					_, err := v.Verify(ctx, tc.pres, tc.pol)
					require.ErrorIs(t, err, tc.want)
				})
			}
			// A verifier that does not trust this issuer.
			stranger := didWorld(t)
			_, err = stranger.verifier(t).Verify(ctx, presentLDP(t, out.Credential, holder, testRP, "rp-nonce", now), pol)
			require.ErrorIs(t, err, verifier.ErrUntrusted)
			// Status, through the Bitstring Status Lists (fresh verifiers:
			// lists are cached for their ttl).
			require.NoError(t, w.iss.SetStatus(ctx, out.StatusIndex, statuslist.Suspended))
			_, err = w.verifier(t).Verify(ctx, presentLDP(t, out.Credential, holder, testRP, "rp-nonce", now), pol)
			require.ErrorIs(t, err, verifier.ErrSuspended)
			require.NoError(t, w.iss.SetStatus(ctx, out.StatusIndex, statuslist.Invalid))
			_, err = w.verifier(t).Verify(ctx, presentLDP(t, out.Credential, holder, testRP, "rp-nonce", now), pol)
			require.ErrorIs(t, err, verifier.ErrRevoked)
		})
	}
}

// The verification API takes a JSON-LD presentation as its
// "presentation" string, with the nonce it issued.
func TestLDPPresentationAPI(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil)
	out, holder := w.issueAs(t, issuer.FormatLDPVC)
	api := &verifier.API{V: w.verifier(t), Store: w.store, BaseURL: "http://rp.test"}
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(srv.Close)
	post := func(path string, body any) (int, []byte) {
		b, _ := json.Marshal(body)
		resp, err := http.Post(srv.URL+path, "application/json", bytes.NewReader(b))
		require.NoError(t, err)
		defer resp.Body.Close()
		rb, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, rb
	}
	code, b := post("/v1/presentation-requests", map[string]any{"audience": testRP})
	require.Equal(t, http.StatusCreated, code, string(b))
	var req verifier.PresentationRequestJSON
	require.NoError(t, json.Unmarshal(b, &req))
	body := verifier.VerifyJSON{Presentation: presentLDP(t, out.Credential, holder, testRP, req.Nonce, w.clock.Now()), Audience: testRP, Scope: testScope, Nonce: req.Nonce}
	code, b = post("/v1/presentations/verify", body)
	require.Equal(t, http.StatusOK, code, string(b))
	var vd verifier.VerdictJSON
	require.NoError(t, json.Unmarshal(b, &vd))
	require.True(t, vd.Valid)
	require.Equal(t, out.Pseudonym, vd.Pseudonym)
	// The nonce is single-use.
	code, b = post("/v1/presentations/verify", body)
	require.Equal(t, http.StatusUnauthorized, code, string(b))
	require.Equal(t, verifier.ErrNonce.Type(), problemType(t, b))
}

// BenchmarkLDP measures issuing a VC 2.0 JSON-LD persona credential
// (record, build, Data Integrity proof: two RDFC-1.0 canonicalizations
// and a signature) and verifying its presentation (two proofs, four
// canonicalizations; the status list cached), per issuer key type.
func BenchmarkLDP(b *testing.B) {
	for name, key := range map[string]func(testing.TB) jwk.Key{"P-256": newKey, "Ed25519": edIssuerKey} {
		k := key(b)
		w := newWorld(b, func(c *issuer.Config) { c.Key = k })
		holder := newKey(b)
		hpub, err := holder.PublicKey()
		require.NoError(b, err)
		st := w.statement(testScope)
		b.Run("issue/"+name, func(b *testing.B) {
			for b.Loop() {
				if _, err := w.iss.IssueVerified(context.Background(), st, hpub, issuer.FormatLDPVC, w.clock.Now()); err != nil {
					b.Fatal(err)
				}
			}
		})
		out, err := w.iss.IssueVerified(context.Background(), st, hpub, issuer.FormatLDPVC, w.clock.Now())
		require.NoError(b, err)
		pres := presentLDP(b, out.Credential, holder, testRP, "rp-nonce", w.clock.Now())
		v := w.verifier(b)
		pol := verifier.Policy{Audience: testRP, Nonce: "rp-nonce", Scope: testScope}
		b.Run("verify-presentation/"+name, func(b *testing.B) {
			for b.Loop() {
				if _, err := v.Verify(context.Background(), pres, pol); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// Two identical predicates (a holder may prove one twice) are one
// statement in the JSON-LD form, not a signing failure.
func TestLDPVCDuplicatePredicates(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil)
	st := w.statement(testScope)
	st.Public.Predicates[1] = st.Public.Predicates[0]
	holder := newKey(t)
	pub, err := holder.PublicKey()
	require.NoError(t, err)
	out, err := w.iss.IssueVerified(context.Background(), st, pub, issuer.FormatLDPVC, w.clock.Now())
	require.NoError(t, err)
	var vc map[string]any
	require.NoError(t, json.Unmarshal([]byte(out.Credential), &vc))
	require.Len(t, vc["credentialSubject"].(map[string]any)["predicates"], 1)
	_, err = w.verifier(t).Verify(context.Background(), presentLDP(t, out.Credential, holder, testRP, "rp-nonce", w.clock.Now()), verifier.Policy{Audience: testRP, Nonce: "rp-nonce", Scope: testScope})
	require.NoError(t, err)
}
