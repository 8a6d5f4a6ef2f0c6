package coreid

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/mr-tron/base58"
	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/internal/dataintegrity"
	"github.com/mustard-id/mustard/internal/trust"
	"github.com/mustard-id/mustard/zk"
)

func p384Key(t testing.TB, kid string) jwk.Key {
	k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	key, err := jwk.FromRaw(k)
	require.NoError(t, err)
	_ = key.Set(jwk.KeyIDKey, kid)
	_ = key.Set(jwk.AlgorithmKey, jwa.ES384)
	return key
}

// multikey encodes an Ed25519 public key as a Multikey (did:key form).
func multikey(pub ed25519.PublicKey) string {
	return "z" + base58.Encode(append([]byte{0xed, 0x01}, pub...))
}

func signer(t testing.TB, k jwk.Key) crypto.Signer {
	var raw any
	require.NoError(t, k.Raw(&raw))
	s, ok := raw.(crypto.Signer)
	require.True(t, ok)
	return s
}

// diDoc is an unsigned VC 2.0 PID credential from the ldp-vc source.
func (e *env) diDoc(subject map[string]any) map[string]any {
	cs := map[string]any{"id": "did:example:holder"}
	for k, v := range subject {
		cs[k] = v
	}
	return map[string]any{
		"@context":          []any{CredentialsV2Context, PIDContext},
		"id":                "urn:uuid:0f5b7f0e-6a43-4c52-9e4c-2a39c5a1d7e2",
		"type":              []any{"VerifiableCredential", "PersonIdentificationData"},
		"issuer":            ldpID,
		"validFrom":         e.now.Add(-time.Hour).UTC().Format(time.RFC3339),
		"validUntil":        e.now.Add(time.Hour).UTC().Format(time.RFC3339),
		"credentialSubject": cs,
	}
}

// diVC signs doc with key under verification method vm.
func diVC(t testing.TB, doc map[string]any, key jwk.Key, vm string, created time.Time) string {
	t.Helper()
	signed, err := SignDataIntegrity(doc, signer(t, key), vm, created)
	require.NoError(t, err)
	b, err := json.Marshal(signed)
	require.NoError(t, err)
	return string(b)
}

// edit decodes a signed credential, applies f, and encodes it again.
func edit(t testing.TB, raw string, f func(doc, proof map[string]any)) string {
	t.Helper()
	var doc map[string]any
	require.NoError(t, json.Unmarshal([]byte(raw), &doc))
	proof, _ := doc["proof"].(map[string]any)
	f(doc, proof)
	b, err := json.Marshal(doc)
	require.NoError(t, err)
	return string(b)
}

// countingServer is a loopback server that counts requests: a context URL
// on it must never be fetched.
func countingServer(t testing.TB) (string, *atomic.Int64) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/ld+json")
		_, _ = w.Write([]byte(`{"@context":{"birthdate":"https://evil.example/birthdate"}}`))
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/context/v1", &hits
}

func TestEnrollVC2DataIntegrity(t *testing.T) {
	var didKeyID string
	var didKey, p384 jwk.Key
	e := newEnv(t, func(fw *trust.Document, _ *Config) {
		// A P-384 key for the ldp-vc source, and a did:key issuer.
		p384 = p384Key(t, "p384")
		didKey = edKey(t, "")
		var raw any
		require.NoError(t, didKey.Raw(&raw))
		mk := multikey(raw.(ed25519.PrivateKey).Public().(ed25519.PublicKey))
		didKeyID = "did:key:" + mk
		_ = didKey.Set(jwk.KeyIDKey, mk)
		for i := range fw.Sources {
			if fw.Sources[i].ID == ldpID {
				set, err := jwk.Parse(fw.Sources[i].JWKS)
				require.NoError(t, err)
				pub, err := p384.PublicKey()
				require.NoError(t, err)
				require.NoError(t, set.AddKey(pub))
				fw.Sources[i].JWKS = mustJSONBytes(t, set)
			}
		}
		fw.Sources = append(fw.Sources, trust.Source{
			ID: didKeyID, Formats: []string{trust.FormatLDPVC}, Grade: "substantial",
			Types: []string{"PersonIdentificationData"}, JWKS: jwks(t, didKey), Claims: pidClaims,
		})
	})
	ctx := context.Background()
	ed, p256 := e.keys[ldpID], e.keys[ldpID+"#p256"]
	subject := map[string]any{"birthdate": "1990-04-12", "nationality": "NL", "given_name": "Johanna"}
	verify := func(raw string) (*Source, error) {
		return e.p.VerifySource(ctx, SourceCredential{Format: trust.FormatLDPVC, Credential: raw}, "")
	}

	t.Run("accepted", func(t *testing.T) {
		didDoc := e.diDoc(subject)
		didDoc["issuer"] = didKeyID
		mk := strings.TrimPrefix(didKeyID, "did:key:")
		for _, tc := range []struct {
			name  string
			raw   string
			grade uint64
		}{
			{"eddsa-rdfc-2022", diVC(t, e.diDoc(subject), ed, ldpID+"#key-1", e.now), zk.GradeHigh},
			{"ecdsa-rdfc-2019 P-256", diVC(t, e.diDoc(subject), p256, ldpID+"#p256", e.now), zk.GradeHigh},
			{"ecdsa-rdfc-2019 P-384", diVC(t, e.diDoc(subject), p384, ldpID+"#p384", e.now), zk.GradeHigh},
			{"did:key issuer", diVC(t, didDoc, didKey, didKeyID+"#"+mk, e.now), zk.GradeSubstantial},
		} {
			t.Run(tc.name, func(t *testing.T) {
				require.Contains(t, tc.raw, `"type":"DataIntegrityProof"`)
				src, err := verify(tc.raw)
				require.NoError(t, err)
				require.Equal(t, trust.FormatLDPVC, src.Format)
				require.Equal(t, "did:example:holder", src.Subject)
				require.Equal(t, map[string]string{"birth_date": "1990-04-12", "nationality": "NL", "given_name": "Johanna"}, src.Attrs)
				require.Equal(t, tc.grade, src.Grade)
				require.True(t, src.IssuedAt.Equal(e.now.Add(-time.Hour)), "IssuedAt is validFrom")
			})
		}
	})

	t.Run("enroll", func(t *testing.T) {
		r := e.commitment(t)
		r.Sources = []SourceCredential{{Format: trust.FormatLDPVC, Credential: diVC(t, e.diDoc(person), ed, ldpID+"#key-1", e.now)}}
		res, err := e.p.Enroll(ctx, r)
		require.NoError(t, err)
		require.NotNil(t, res)
		// The same person again is one identity.
		r2 := e.commitment(t)
		r2.Sources = r.Sources
		_, err = e.p.Enroll(ctx, r2)
		require.ErrorIs(t, err, ErrDuplicate)
	})

	good := diVC(t, e.diDoc(subject), ed, ldpID+"#key-1", e.now)
	_, err := verify(good)
	require.NoError(t, err)
	evil, hits := countingServer(t)
	other := edKey(t, "key-1")
	var otherRaw any
	require.NoError(t, other.Raw(&otherRaw))
	otherMK := multikey(otherRaw.(ed25519.PrivateKey).Public().(ed25519.PublicKey))
	variant := func(f func(doc map[string]any)) map[string]any {
		d := e.diDoc(subject)
		f(d)
		return d
	}

	cases := []struct {
		name string
		raw  func() string
		want error
	}{
		// The signed data.
		{"claim changed", func() string { return strings.Replace(good, "1990-04-12", "1950-04-12", 1) }, ErrSignature},
		{"claim added", func() string {
			return edit(t, good, func(d, _ map[string]any) { d["credentialSubject"].(map[string]any)["family_name"] = "Vermeer" })
		}, ErrSignature},
		{"subject id changed", func() string {
			return edit(t, good, func(d, _ map[string]any) { d["credentialSubject"].(map[string]any)["id"] = "did:example:other" })
		}, ErrSignature},
		{"validUntil extended", func() string {
			return edit(t, good, func(d, _ map[string]any) { d["validUntil"] = e.now.Add(48 * time.Hour).UTC().Format(time.RFC3339) })
		}, ErrSignature},
		{"signed by another key", func() string { return diVC(t, e.diDoc(subject), other, ldpID+"#key-1", e.now) }, ErrSignature},
		// The proof configuration.
		{"created changed", func() string {
			return edit(t, good, func(_, p map[string]any) { p["created"] = e.now.Add(-time.Hour).UTC().Format(time.RFC3339) })
		}, ErrSignature},
		{"expires added", func() string {
			return edit(t, good, func(_, p map[string]any) { p["expires"] = e.now.Add(time.Hour).UTC().Format(time.RFC3339) })
		}, ErrSignature},
		{"cryptosuite swapped to ecdsa", func() string {
			return edit(t, good, func(_, p map[string]any) { p["cryptosuite"] = CryptosuiteECDSA })
		}, ErrSignature},
		{"cryptosuite unknown", func() string {
			return edit(t, good, func(_, p map[string]any) { p["cryptosuite"] = "eddsa-jcs-2022" })
		}, ErrSignature},
		{"proof type", func() string {
			return edit(t, good, func(_, p map[string]any) { p["type"] = "Ed25519Signature2020" })
		}, ErrSignature},
		{"proof purpose", func() string {
			return edit(t, good, func(_, p map[string]any) { p["proofPurpose"] = "authentication" })
		}, ErrSignature},
		{"proofValue not base58btc", func() string {
			return edit(t, good, func(_, p map[string]any) { p["proofValue"] = "u" + p["proofValue"].(string)[1:] })
		}, ErrSignature},
		{"proofValue truncated", func() string {
			return edit(t, good, func(_, p map[string]any) { v := p["proofValue"].(string); p["proofValue"] = v[:len(v)-4] })
		}, ErrSignature},
		{"proofValue missing", func() string { return edit(t, good, func(_, p map[string]any) { delete(p, "proofValue") }) }, ErrSource},
		{"proof set", func() string { return edit(t, good, func(d, p map[string]any) { d["proof"] = []any{p} }) }, ErrSource},
		{"proof @context not the document's", func() string {
			return edit(t, good, func(_, p map[string]any) { p["@context"] = []any{CredentialsV2Context} })
		}, ErrSource},
		// The verification method.
		{"verification method of another controller", func() string {
			return diVC(t, e.diDoc(subject), ed, "did:web:forger.example#key-1", e.now)
		}, ErrUnknownIssuer},
		{"verification method not in the framework", func() string { return diVC(t, e.diDoc(subject), ed, ldpID+"#nope", e.now) }, ErrUnknownIssuer},
		{"verification method switched to the P-256 key", func() string {
			return edit(t, good, func(_, p map[string]any) { p["verificationMethod"] = ldpID + "#p256" })
		}, ErrSignature},
		{"did:key naming another key", func() string {
			d := e.diDoc(subject)
			d["issuer"] = didKeyID
			mk := strings.TrimPrefix(didKeyID, "did:key:")
			return edit(t, diVC(t, d, didKey, didKeyID+"#"+mk, e.now), func(_, p map[string]any) {
				p["verificationMethod"] = didKeyID + "#" + otherMK
			})
		}, ErrUnknownIssuer},
		// Time.
		{"expired", func() string {
			return diVC(t, variant(func(d map[string]any) { d["validUntil"] = e.now.Add(-time.Minute).UTC().Format(time.RFC3339) }), ed, ldpID+"#key-1", e.now)
		}, ErrExpired},
		{"not yet valid", func() string {
			return diVC(t, variant(func(d map[string]any) { d["validFrom"] = e.now.Add(time.Hour).UTC().Format(time.RFC3339) }), ed, ldpID+"#key-1", e.now)
		}, ErrExpired},
		{"no validUntil", func() string {
			return diVC(t, variant(func(d map[string]any) { delete(d, "validUntil") }), ed, ldpID+"#key-1", e.now)
		}, ErrSource},
		{"validUntil not a dateTimeStamp", func() string {
			return diVC(t, variant(func(d map[string]any) { d["validUntil"] = "2999-01-01" }), ed, ldpID+"#key-1", e.now)
		}, ErrSource},
		{"proof created in the future", func() string { return diVC(t, e.diDoc(subject), ed, ldpID+"#key-1", e.now.Add(time.Hour)) }, ErrExpired},
		{"proof expired", func() string {
			d := e.diDoc(subject)
			signed, err := SignDataIntegrity(d, signer(t, ed), ldpID+"#key-1", e.now)
			require.NoError(t, err)
			return edit(t, mustJSON(t, signed), func(_, p map[string]any) { p["expires"] = e.now.Add(-time.Second).UTC().Format(time.RFC3339) })
		}, ErrExpired},
		// Contexts: refused, never fetched.
		{"unknown context", func() string {
			return edit(t, good, func(d, _ map[string]any) { d["@context"] = append(d["@context"].([]any), evil) })
		}, ErrSource},
		{"unknown context instead of PID", func() string {
			return edit(t, good, func(d, _ map[string]any) { d["@context"] = []any{CredentialsV2Context, evil} })
		}, ErrSource},
		{"nested context", func() string {
			return edit(t, good, func(d, _ map[string]any) { d["credentialSubject"].(map[string]any)["@context"] = evil })
		}, ErrSource},
		{"inline context", func() string {
			return edit(t, good, func(d, _ map[string]any) {
				d["@context"] = []any{CredentialsV2Context, map[string]any{"birthdate": "https://evil.example/b"}}
			})
		}, ErrSource},
		{"VC 1.1 context first", func() string {
			return edit(t, good, func(d, _ map[string]any) {
				d["@context"] = []any{"https://www.w3.org/2018/credentials/v1", CredentialsV2Context, PIDContext}
			})
		}, ErrSource},
		// Framework policy.
		{"unknown issuer", func() string {
			return diVC(t, variant(func(d map[string]any) { d["issuer"] = "did:web:forger.example" }), ed, "did:web:forger.example#key-1", e.now)
		}, ErrUnknownIssuer},
		{"issuer not accredited for ldp-vc", func() string {
			return diVC(t, variant(func(d map[string]any) { d["issuer"] = govID }), e.keys[govID], govID+"#gov-1", e.now)
		}, ErrUnknownIssuer},
		{"type not accepted", func() string {
			return diVC(t, variant(func(d map[string]any) { d["type"] = []any{"VerifiableCredential", "AlumniCredential"} }), ed, ldpID+"#key-1", e.now)
		}, ErrSource},
		{"two subjects", func() string {
			return diVC(t, variant(func(d map[string]any) {
				d["credentialSubject"] = []any{map[string]any{"id": "did:example:a", "birthdate": "1990-04-12"}, map[string]any{"id": "did:example:b"}}
			}), ed, ldpID+"#key-1", e.now)
		}, ErrSource},
		{"claim not a string", func() string {
			return diVC(t, variant(func(d map[string]any) { d["credentialSubject"].(map[string]any)["birthdate"] = 1990 }), ed, ldpID+"#key-1", e.now)
		}, ErrSource},
		{"trailing data", func() string { return good + "{}" }, ErrSource},
		{"not JSON", func() string { return `{"@context":["` + CredentialsV2Context + `"],"proof":{` }, ErrSource},
	}
	before := e.counts(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := verify(tc.raw())
			require.ErrorIs(t, err, tc.want)
			r := e.commitment(t)
			r.Sources = []SourceCredential{{Format: trust.FormatLDPVC, Credential: tc.raw()}}
			_, err = e.p.Enroll(ctx, r)
			require.ErrorIs(t, err, tc.want)
		})
	}
	require.Equal(t, before, e.counts(t), "a refused credential changed the store")
	require.Zero(t, hits.Load(), "a context was fetched")

	// Below the provider's own checks, json-gold meets an unknown nested
	// context through the loader, which refuses it without a fetch.
	loader, err := diLoader()
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, json.Unmarshal([]byte(good), &doc))
	doc["credentialSubject"].(map[string]any)["@context"] = evil
	src, err := e.fw.Source(ldpID)
	require.NoError(t, err)
	_, err = verifyDataIntegrity(doc, loader, sourceDIKeys(src, mustKeys(t, src.JWKS)), e.now)
	require.ErrorIs(t, err, ErrSource)
	require.Contains(t, err.Error(), "unknown JSON-LD context")
	_, err = loader.LoadDocument(evil)
	require.ErrorIs(t, err, ErrUnknownContext)
	require.Zero(t, hits.Load(), "a context was fetched")
}

func mustJSONBytes(t testing.TB, v any) []byte {
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

func mustJSON(t testing.TB, v any) string {
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

func mustKeys(t testing.TB, raw []byte) jwk.Set {
	set, err := verificationKeys(raw)
	require.NoError(t, err)
	return set
}

// TestDIKeyResolver checks the verification method rules directly: a kid
// that is a Multikey must name the very key the framework lists under it.
func TestDIKeyResolver(t *testing.T) {
	a, b := edKey(t, ""), edKey(t, "")
	var ra, rb any
	require.NoError(t, a.Raw(&ra))
	require.NoError(t, b.Raw(&rb))
	mkA := multikey(ra.(ed25519.PrivateKey).Public().(ed25519.PublicKey))
	mkB := multikey(rb.(ed25519.PrivateKey).Public().(ed25519.PublicKey))
	// The framework (wrongly) lists key b under a's Multikey.
	_ = b.Set(jwk.KeyIDKey, mkA)
	_ = a.Set(jwk.KeyIDKey, "plain")
	src := &trust.Source{ID: "did:web:issuer.example", JWKS: jwks(t, a, b)}
	resolve := sourceDIKeys(src, mustKeys(t, src.JWKS))

	_, err := resolve(src.ID+"#"+mkA, CryptosuiteEdDSA)
	require.ErrorIs(t, err, ErrSignature)
	pub, err := resolve(src.ID+"#plain", CryptosuiteEdDSA)
	require.NoError(t, err)
	require.True(t, ra.(ed25519.PrivateKey).Public().(ed25519.PublicKey).Equal(pub))
	_, err = resolve(src.ID+"#"+mkB, CryptosuiteEdDSA)
	require.ErrorIs(t, err, ErrUnknownIssuer)
	_, err = resolve(src.ID, CryptosuiteEdDSA)
	require.ErrorIs(t, err, ErrUnknownIssuer)
	_, err = resolve(src.ID+"#", CryptosuiteEdDSA)
	require.ErrorIs(t, err, ErrUnknownIssuer)
	_, err = resolve("did:web:other.example#plain", CryptosuiteEdDSA)
	require.ErrorIs(t, err, ErrUnknownIssuer)

	// did:key: the method-specific identifier must be the key too.
	didSrc := &trust.Source{ID: "did:key:" + mkB, JWKS: jwks(t, a)}
	_, err = sourceDIKeys(didSrc, mustKeys(t, didSrc.JWKS))(didSrc.ID+"#plain", CryptosuiteEdDSA)
	require.ErrorIs(t, err, ErrSignature)
}

// TestDataIntegrityPoisonedDataset: a clique of blank nodes that
// RDFC-1.0's first-degree hashes cannot tell apart would send json-gold
// into its exponential N-degree step (106 s for 9 nodes on this machine's
// json-gold v0.4.2); it is refused before canonicalization, as are
// oversized datasets.
func TestDataIntegrityPoisonedDataset(t *testing.T) {
	e := newEnv(t)
	clique := func(n int) []any {
		var nodes []any
		for i := range n {
			var refs []any
			for j := range n {
				if j != i {
					refs = append(refs, map[string]any{"id": fmt.Sprintf("_:b%d", j)})
				}
			}
			nodes = append(nodes, map[string]any{"id": fmt.Sprintf("_:b%d", i), "knows": refs})
		}
		return nodes
	}
	good := diVC(t, e.diDoc(subject0), e.keys[ldpID], ldpID+"#key-1", e.now)
	poisoned := edit(t, good, func(d, _ map[string]any) { d["credentialSubject"].(map[string]any)["knows"] = clique(9) })
	_, err := e.p.VerifySource(context.Background(), SourceCredential{Format: trust.FormatLDPVC, Credential: poisoned}, "")
	require.ErrorIs(t, err, ErrSource)
	require.ErrorContains(t, err, "indistinguishable blank nodes")

	// The signer refuses it too.
	_, err = SignDataIntegrity(map[string]any{"@context": []any{CredentialsV2Context}, "type": "VerifiableCredential", "evidence": clique(3)}, signer(t, e.keys[ldpID]), ldpID+"#key-1", e.now)
	require.ErrorIs(t, err, ErrSource)

	// Many distinct blank nodes: bounded too.
	var many []any
	for i := range dataintegrity.MaxBlankNodes + 1 {
		many = append(many, map[string]any{"n": fmt.Sprint(i)})
	}
	big := edit(t, good, func(d, _ map[string]any) { d["credentialSubject"].(map[string]any)["items"] = many })
	_, err = e.p.VerifySource(context.Background(), SourceCredential{Format: trust.FormatLDPVC, Credential: big}, "")
	require.ErrorIs(t, err, ErrSource)
	require.ErrorContains(t, err, "too many")
}

var subject0 = map[string]any{"birthdate": "1990-04-12"}
