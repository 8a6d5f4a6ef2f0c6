package issuer_test

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/hyperledger/aries-framework-go/pkg/doc/signature/suite"
	"github.com/hyperledger/aries-framework-go/pkg/doc/signature/suite/jsonwebsignature2020"
	sigverifier "github.com/hyperledger/aries-framework-go/pkg/doc/signature/verifier"
	"github.com/hyperledger/aries-framework-go/pkg/doc/verifiable"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/internal/dataintegrity"
	"github.com/mustard-id/mustard/issuer"
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
