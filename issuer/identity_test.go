package issuer_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	ariesjwk "github.com/hyperledger/aries-framework-go/pkg/doc/jose/jwk"
	"github.com/hyperledger/aries-framework-go/pkg/vdr/fingerprint"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/internal/sdjwt"
	"github.com/mustard-id/mustard/internal/statuslist"
	"github.com/mustard-id/mustard/issuer"
	"github.com/mustard-id/mustard/verifier"
)

func TestDIDWeb(t *testing.T) {
	t.Parallel()
	for base, want := range map[string]string{
		"https://issuer.example":           "did:web:issuer.example",
		"http://127.0.0.1:8080":            "did:web:127.0.0.1%3A8080",
		"https://example.com/user/alice":   "did:web:example.com:user:alice",
		"https://example.com:8443/issuers": "did:web:example.com%3A8443:issuers",
	} {
		got, err := issuer.DIDWeb(base)
		require.NoError(t, err)
		require.Equal(t, want, got)
	}
	// did:web method §3.2, the spec's examples, resolved the other way.
	for did, want := range map[string]string{
		"did:web:w3c-ccg.github.io":             "https://w3c-ccg.github.io/.well-known/did.json",
		"did:web:w3c-ccg.github.io:user:alice":  "https://w3c-ccg.github.io/user/alice/did.json",
		"did:web:example.com%3A3000:user:alice": "https://example.com:3000/user/alice/did.json",
		"did:web:127.0.0.1%3A8080":              "http://127.0.0.1:8080/.well-known/did.json",
	} {
		got, err := verifier.DIDWebURL(did)
		require.NoError(t, err)
		require.Equal(t, want, got)
	}
	for _, bad := range []string{"did:key:z6Mk", "did:web:", "did:web:a.example:..", "did:web:a.example%2Fevil", "did:web:u%40a.example"} {
		_, err := verifier.DIDWebURL(bad)
		require.Error(t, err, bad)
	}
}

// Our did:key agrees with aries-framework-go's independent implementation.
func TestDIDKeyAgreesWithAries(t *testing.T) {
	t.Parallel()
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	edKey, err := jwk.FromRaw(ed)
	require.NoError(t, err)
	for name, k := range map[string]jwk.Key{"P-256": newKey(t), "Ed25519": edKey} {
		ours, err := issuer.DIDKey(k)
		require.NoError(t, err)
		pub, err := k.PublicKey()
		require.NoError(t, err)
		b, err := json.Marshal(pub)
		require.NoError(t, err)
		var aj ariesjwk.JWK
		require.NoError(t, aj.UnmarshalJSON(b))
		theirs, _, err := fingerprint.CreateDIDKeyByJwk(&aj)
		require.NoError(t, err)
		require.Equal(t, theirs, ours, name)
		back, err := fingerprint.PubKeyFromDIDKey(ours)
		require.NoError(t, err)
		require.NotEmpty(t, back)
	}
	p256, _ := issuer.DIDKey(newKey(t))
	require.True(t, strings.HasPrefix(p256, "did:key:zDn"), "P-256 did:keys start zDn")
	edDID, _ := issuer.DIDKey(edKey)
	require.True(t, strings.HasPrefix(edDID, "did:key:z6Mk"), "Ed25519 did:keys start z6Mk")
}

func kidOf(t *testing.T, compact string) string {
	msg, err := jws.Parse([]byte(strings.SplitN(compact, "~", 2)[0]))
	require.NoError(t, err)
	return msg.Signatures()[0].ProtectedHeaders().KeyID()
}

// Rotation: a credential signed before it still verifies through the
// DID document; new credentials and status lists are signed with the new
// key; the retired key is dropped once its last credential expired.
func TestKeyRotation(t *testing.T) {
	t.Parallel()
	w := newWorld(t, func(c *issuer.Config) {
		c.ID, _ = issuer.DIDWeb(c.BaseURL)
		c.CredentialTTL = time.Hour
	})
	oldKID := w.key.KeyID()
	resolver, err := verifier.DIDWebKeys(verifier.DIDWebConfig{Accredited: func(iss string) bool { return iss == w.iss.ID() }, Now: w.clock.Now})
	require.NoError(t, err)
	v, err := verifier.New(verifier.Config{Issuers: resolver, Now: w.clock.Now})
	require.NoError(t, err)

	a, aHolder := w.issue(t)
	require.Equal(t, oldKID, kidOf(t, a.Credential), "credentials name their kid")
	require.NoError(t, w.present(t, v, a.Credential, aHolder))

	next := newKey(t)
	require.Error(t, w.iss.Rotate(w.key), "a kid in use")
	require.NoError(t, w.iss.Rotate(next))
	require.Error(t, w.iss.Rotate(next))
	w.clock.Add(time.Minute) // past the resolver's refetch guard
	b, bHolder := w.issue(t)
	require.Equal(t, next.KeyID(), kidOf(t, b.Credential))
	require.NoError(t, w.present(t, v, b.Credential, bHolder), "the new kid is fetched")
	require.NoError(t, w.present(t, v, a.Credential, aHolder), "the old credential still verifies")

	// doc fetches the DID document: its id, alsoKnownAs and the kids of
	// the assertion keys a verifier accepts in it.
	type didDoc struct {
		ID          string   `json:"id"`
		AlsoKnownAs []string `json:"alsoKnownAs"`
		kids        []string
	}
	doc := func() didDoc {
		code, hdr, body := w.call(t, "GET", "/.well-known/did.json", "", nil)
		require.Equal(t, http.StatusOK, code)
		require.Equal(t, "application/did+json", hdr.Get("Content-Type"))
		var d didDoc
		require.NoError(t, json.Unmarshal(body, &d))
		keys, err := verifier.ParseDIDDocument(w.iss.ID(), body)
		require.NoError(t, err)
		for kid := range keys {
			d.kids = append(d.kids, kid)
		}
		return d
	}
	d := doc()
	require.Equal(t, w.iss.ID(), d.ID)
	require.ElementsMatch(t, []string{oldKID, next.KeyID()}, d.kids)
	didKey, err := issuer.DIDKey(next)
	require.NoError(t, err)
	require.Contains(t, d.AlsoKnownAs, didKey)
	set, err := w.iss.PublicKeys()
	require.NoError(t, err)
	require.Equal(t, 2, set.Len())

	// The status list is now signed with the new key.
	_, _, body := w.call(t, "GET", "/v1/status-lists/0", "", nil)
	require.Equal(t, next.KeyID(), kidOf(t, string(body)))
	_, err = statuslist.ParseToken(context.Background(), string(body), statuslist.ParseOptions{Subject: b.Status.URI, Issuer: w.iss.ID(), Keys: resolver, Now: w.clock.Now()})
	require.NoError(t, err)

	// When every credential of the old key has expired, it is unpublished.
	w.clock.Add(time.Hour)
	require.Equal(t, []string{next.KeyID()}, doc().kids)
	set, err = w.iss.PublicKeys()
	require.NoError(t, err)
	require.Equal(t, 1, set.Len())
	fresh, err := verifier.DIDWebKeys(verifier.DIDWebConfig{Accredited: func(iss string) bool { return true }, Now: w.clock.Now})
	require.NoError(t, err)
	_, err = fresh(context.Background(), sdjwt.KeyQuery{Issuer: w.iss.ID(), KeyID: oldKID})
	require.Error(t, err)
	k, err := fresh(context.Background(), sdjwt.KeyQuery{Issuer: w.iss.ID(), KeyID: next.KeyID()})
	require.NoError(t, err)
	require.Equal(t, next.KeyID(), k.KeyID())
}

// The resolver refuses what a DID document must not be.
func TestParseDIDDocumentRefuses(t *testing.T) {
	t.Parallel()
	const did = "did:web:issuer.example"
	k := newKey(t)
	pub, err := k.PublicKey()
	require.NoError(t, err)
	pj, _ := json.Marshal(pub)
	priv, _ := json.Marshal(k)
	doc := func(id, vmID, typ, ctrl, key string, assert bool) []byte {
		am := "[]"
		if assert {
			am = `["` + vmID + `"]`
		}
		return []byte(`{"id":"` + id + `","verificationMethod":[{"id":"` + vmID + `","type":"` + typ + `","controller":"` + ctrl + `","publicKeyJwk":` + key + `}],"assertionMethod":` + am + `}`)
	}
	kid := did + "#" + k.KeyID()
	good := doc(did, kid, "JsonWebKey2020", did, string(pj), true)
	keys, err := verifier.ParseDIDDocument(did, good)
	require.NoError(t, err)
	require.Contains(t, keys, k.KeyID())
	for name, b := range map[string][]byte{
		"another DID":           doc("did:web:evil.example", kid, "JsonWebKey2020", did, string(pj), true),
		"another controller":    doc(did, kid, "JsonWebKey2020", "did:web:evil.example", string(pj), true),
		"not for assertions":    doc(did, kid, "JsonWebKey2020", did, string(pj), false),
		"method of another DID": doc(did, "did:web:evil.example#"+k.KeyID(), "JsonWebKey2020", did, string(pj), true),
		"a private key":         doc(did, kid, "JsonWebKey2020", did, string(priv), true),
		"another type":          doc(did, kid, "Ed25519VerificationKey2018", did, string(pj), true),
		"kid mismatch":          doc(did, did+"#other", "JsonWebKey2020", did, string(pj), true),
		"not JSON":              []byte("{"),
	} {
		_, err := verifier.ParseDIDDocument(did, b)
		require.Error(t, err, name)
	}
}

// SetKeys replaces the keyring as a server does after another process
// rotated the bundle: the new key signs, each retired key is published
// until its own Until, and bad keyrings are refused without a change.
func TestSetKeys(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil)
	old := w.key
	next := newKey(t)
	oldPub, err := old.PublicKey()
	require.NoError(t, err)
	require.Error(t, w.iss.SetKeys(oldPub, nil), "a public key cannot sign")
	require.Error(t, w.iss.SetKeys(next, []issuer.RetiredKey{{Key: next, Until: w.clock.Now().Add(time.Hour)}}), "a retired key with the current kid")
	require.Equal(t, old.KeyID(), w.iss.CurrentKeyID(), "a refused keyring changed nothing")

	require.NoError(t, w.iss.SetKeys(next, []issuer.RetiredKey{{Key: oldPub, Until: w.clock.Now().Add(time.Hour)}}))
	require.Equal(t, next.KeyID(), w.iss.CurrentKeyID())
	out, _ := w.issue(t)
	require.Equal(t, next.KeyID(), kidOf(t, out.Credential))
	set, err := w.iss.PublicKeys()
	require.NoError(t, err)
	require.Equal(t, 2, set.Len())
	_, ok := set.LookupKeyID(old.KeyID())
	require.True(t, ok)
	w.clock.Add(time.Hour)
	set, err = w.iss.PublicKeys()
	require.NoError(t, err)
	require.Equal(t, 1, set.Len(), "the retired key is gone at its Until")
}
