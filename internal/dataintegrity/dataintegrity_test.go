package dataintegrity

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"testing"
	"time"

	"github.com/mr-tron/base58"
	"github.com/stretchr/testify/require"
)

var errWrongMethod = errors.New("test: not the vector's verification method")

// katPrivate is vc-di-eddsa TestVectors/keyPair.json's private key:
// multicodec ed25519-priv (0x1300) ‖ 32-byte seed.
func katPrivate(t testing.TB) ed25519.PrivateKey {
	b, err := DecodeMultibase("z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq")
	require.NoError(t, err)
	return ed25519.NewKeyFromSeed(b[2:])
}

// TestSignReproducesVector signs the vc-di-eddsa input (the unsigned
// Alumni credential, the vector's proof options) with the vector's key
// through Sign: Ed25519 is deterministic, so the proof is the vector's,
// byte for byte.
func TestSignReproducesVector(t *testing.T) {
	loader := katLoader(t)
	v := katVectors[0]
	var doc map[string]any
	require.NoError(t, json.Unmarshal([]byte(katUnsigned), &doc))
	signed, err := Sign(doc, katPrivate(t), loader, Options{
		VerificationMethod: v.method(),
		Created:            time.Date(2023, 2, 24, 23, 36, 38, 0, time.UTC),
	})
	require.NoError(t, err)
	require.Equal(t, v.proofValue, signed["proof"].(map[string]any)["proofValue"])
	_, ok := doc["proof"]
	require.False(t, ok, "Sign modified its input")
}

// TestSignECDSAVectorInput signs the vc-di-ecdsa input with the vectors'
// P-256 and P-384 keys (ECDSA is randomized: the signature differs from
// the vector's, the hashes are the vector's) and verifies the result.
func TestSignECDSAVectorInput(t *testing.T) {
	loader := katLoader(t)
	for i, priv := range []string{"z42twTcNeSYcnqg1FLuSFs2bsGH3ZqbRHFmvS9XMsYhjxvHN", "z2fanyY7zgwNpZGxX5fXXibvScNaUWNprHU9dKx7qpVj7mws9J8LLt4mDB5TyH2GLHWkUc"} {
		v := katVectors[i+1]
		t.Run(v.name, func(t *testing.T) {
			pub, err := DecodeMultikey(v.publicKey)
			require.NoError(t, err)
			b, err := DecodeMultibase(priv)
			require.NoError(t, err)
			ek := &ecdsa.PrivateKey{PublicKey: *pub.(*ecdsa.PublicKey)}
			ek.D = new(big.Int).SetBytes(b[2:])
			var doc map[string]any
			require.NoError(t, json.Unmarshal([]byte(katUnsigned), &doc))
			signed, err := Sign(doc, ek, loader, Options{VerificationMethod: v.method(), Created: time.Date(2023, 2, 24, 23, 36, 38, 0, time.UTC)})
			require.NoError(t, err)
			p, err := Verify(signed, loader, v.resolver(t), VerifyOptions{Now: katNow})
			require.NoError(t, err)
			require.Equal(t, ECDSA, p.Cryptosuite)
			// The vector's own proof over the same input also verifies
			// (the proof configurations are identical but for the value).
			proof := signed["proof"].(map[string]any)
			proof["proofValue"] = v.proofValue
			_, err = Verify(signed, loader, v.resolver(t), VerifyOptions{Now: katNow})
			require.NoError(t, err)
		})
	}
}

func testKeys(t testing.TB) map[string]crypto.Signer {
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	p256, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	return map[string]crypto.Signer{"Ed25519": ed, "P-256": p256, "P-384": p384}
}

func personaDoc() map[string]any {
	return map[string]any{
		"@context":  []any{CredentialsV2Context, PersonaContext},
		"id":        "urn:uuid:9b0f1c1e-1111-4c52-9e4c-2a39c5a1d7e2",
		"type":      []any{"VerifiableCredential", "MustardPersonaCredential"},
		"issuer":    "did:web:issuer.example",
		"validFrom": "2026-01-01T00:00:00Z", "validUntil": "2026-02-01T00:00:00Z",
		"credentialSubject": map[string]any{
			"id": "did:jwk:eyJrdHkiOiJFQyJ9", "scope": "forum.example", "pseudonym": "0a1b", "grade": "high",
			"age_over_18": true,
			"predicates":  []any{map[string]any{"attr": "birth_date", "op": "<=", "value": "2008-01-01"}},
		},
		"credentialStatus": map[string]any{
			"id": "https://issuer.example/status/0/revocation#7", "type": "BitstringStatusListEntry",
			"statusPurpose": "revocation", "statusListIndex": "7", "statusListCredential": "https://issuer.example/status/0/revocation",
		},
	}
}

func resolverFor(vm string, key crypto.PublicKey) KeyResolver {
	return func(m, _ string) (crypto.PublicKey, error) {
		if m != vm {
			return nil, errWrongMethod
		}
		return key, nil
	}
}

// TestSignVerifyRoundTrip signs with every key type and verifies; then
// each tampering is refused: a changed claim, changed proof options, a
// wrong key, a wrong cryptosuite, another purpose, challenge or domain.
func TestSignVerifyRoundTrip(t *testing.T) {
	loader, err := NewLoader(nil)
	require.NoError(t, err)
	now := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	keys := testKeys(t)
	const vm = "did:web:issuer.example#k1"
	for name, key := range keys {
		t.Run(name, func(t *testing.T) {
			signed, err := Sign(personaDoc(), key, loader, Options{VerificationMethod: vm, Created: now.Add(-time.Hour)})
			require.NoError(t, err)
			resolve := resolverFor(vm, key.Public())
			p, err := Verify(signed, loader, resolve, VerifyOptions{Now: now})
			require.NoError(t, err)
			want := ECDSA
			if name == "Ed25519" {
				want = EdDSA
			}
			require.Equal(t, want, p.Cryptosuite)
			require.Equal(t, vm, p.VerificationMethod)

			for _, tc := range []struct {
				name string
				edit func(doc, proof map[string]any)
				opts VerifyOptions
				want error
			}{
				{"changed claim", func(d, _ map[string]any) { d["credentialSubject"].(map[string]any)["grade"] = "low" }, VerifyOptions{}, ErrSignature},
				{"added claim", func(d, _ map[string]any) { d["credentialSubject"].(map[string]any)["age_over_21"] = true }, VerifyOptions{}, ErrSignature},
				{"changed status", func(d, _ map[string]any) { d["credentialStatus"].(map[string]any)["statusListIndex"] = "8" }, VerifyOptions{}, ErrSignature},
				{"changed created", func(_, p map[string]any) { p["created"] = now.Add(-2 * time.Hour).Format(time.RFC3339) }, VerifyOptions{}, ErrSignature},
				{"added expires", func(_, p map[string]any) { p["expires"] = now.Add(time.Hour).Format(time.RFC3339) }, VerifyOptions{}, ErrSignature},
				{"wrong cryptosuite", func(_, p map[string]any) {
					if p["cryptosuite"] == EdDSA {
						p["cryptosuite"] = ECDSA
					} else {
						p["cryptosuite"] = EdDSA
					}
				}, VerifyOptions{}, ErrSignature},
				{"unknown cryptosuite", func(_, p map[string]any) { p["cryptosuite"] = "ecdsa-sd-2023" }, VerifyOptions{}, ErrSignature},
				{"other purpose", func(_, p map[string]any) { p["proofPurpose"] = PurposeAuthentication }, VerifyOptions{}, ErrSignature},
				{"purpose not asked", nil, VerifyOptions{Purpose: PurposeAuthentication}, ErrSignature},
				{"challenge missing", nil, VerifyOptions{Challenge: "n-1"}, ErrSignature},
				{"domain missing", nil, VerifyOptions{Domain: "https://rp.example"}, ErrSignature},
				{"proof set", func(d, p map[string]any) { d["proof"] = []any{p} }, VerifyOptions{}, ErrMalformed},
				{"proofValue not base58", func(_, p map[string]any) { p["proofValue"] = "zO0" }, VerifyOptions{}, ErrSignature},
				{"created in the future", func(_, p map[string]any) { p["created"] = now.Add(time.Hour).Format(time.RFC3339) }, VerifyOptions{}, ErrExpired},
				{"unknown context", func(d, _ map[string]any) { d["@context"] = []any{CredentialsV2Context, "https://evil.example/ctx"} }, VerifyOptions{}, ErrMalformed},
			} {
				t.Run(tc.name, func(t *testing.T) {
					doc := clone(t, signed)
					if tc.edit != nil {
						tc.edit(doc, doc["proof"].(map[string]any))
					}
					tc.opts.Now = now
					_, err := Verify(doc, loader, resolve, tc.opts)
					require.ErrorIs(t, err, tc.want)
				})
			}
			// A wrong key: the resolver's error passes through as it is, and
			// another key of the same type does not verify.
			_, err = Verify(signed, loader, resolverFor("did:web:other.example#k1", key.Public()), VerifyOptions{Now: now})
			require.ErrorIs(t, err, errWrongMethod)
			other := testKeys(t)[name]
			_, err = Verify(signed, loader, resolverFor(vm, other.Public()), VerifyOptions{Now: now})
			require.ErrorIs(t, err, ErrSignature)
			// A key of another type than the cryptosuite's.
			for n, k := range keys {
				if (n == "Ed25519") != (name == "Ed25519") {
					_, err = Verify(signed, loader, resolverFor(vm, k.Public()), VerifyOptions{Now: now})
					require.ErrorIs(t, err, ErrSignature)
				}
			}
		})
	}
}

// TestAuthenticationProof: a holder's proof with challenge and domain
// verifies only for that challenge and domain.
func TestAuthenticationProof(t *testing.T) {
	loader, err := NewLoader(nil)
	require.NoError(t, err)
	key := testKeys(t)["P-256"]
	vp := map[string]any{"@context": []any{CredentialsV2Context}, "type": "VerifiablePresentation", "holder": "did:example:h"}
	now := time.Now()
	signed, err := Sign(vp, key, loader, Options{VerificationMethod: "did:example:h#0", Purpose: PurposeAuthentication, Challenge: "nonce-1", Domain: "https://rp.example", Created: now})
	require.NoError(t, err)
	r := resolverFor("did:example:h#0", key.Public())
	p, err := Verify(signed, loader, r, VerifyOptions{Purpose: PurposeAuthentication, Challenge: "nonce-1", Domain: "https://rp.example", Now: now})
	require.NoError(t, err)
	require.Equal(t, "nonce-1", p.Challenge)
	require.Equal(t, "https://rp.example", p.Domain)
	_, err = Verify(signed, loader, r, VerifyOptions{Purpose: PurposeAuthentication, Challenge: "nonce-2", Domain: "https://rp.example", Now: now})
	require.ErrorIs(t, err, ErrSignature)
	_, err = Verify(signed, loader, r, VerifyOptions{Purpose: PurposeAuthentication, Challenge: "nonce-1", Domain: "https://other.example", Now: now})
	require.ErrorIs(t, err, ErrSignature)
	// Changing the signed challenge breaks the signature.
	doc := clone(t, signed)
	doc["proof"].(map[string]any)["challenge"] = "nonce-2"
	_, err = Verify(doc, loader, r, VerifyOptions{Purpose: PurposeAuthentication, Challenge: "nonce-2", Domain: "https://rp.example", Now: now})
	require.ErrorIs(t, err, ErrSignature)
	// Signing a document that already has a proof is refused.
	_, err = Sign(signed, key, loader, Options{VerificationMethod: "did:example:h#0"})
	require.ErrorIs(t, err, ErrMalformed)
}

func clone(t testing.TB, doc map[string]any) map[string]any {
	b, err := json.Marshal(doc)
	require.NoError(t, err)
	var out map[string]any
	require.NoError(t, json.Unmarshal(b, &out))
	return out
}

// TestDecodeMultikey covers the Multikey forms and their refusals, and
// EncodeMultikey's round trip.
func TestDecodeMultikey(t *testing.T) {
	for _, v := range katVectors {
		k, err := DecodeMultikey(v.publicKey)
		require.NoError(t, err, v.name)
		mk, err := EncodeMultikey(k)
		require.NoError(t, err)
		require.Equal(t, v.publicKey, mk)
	}
	for _, bad := range []string{"", "z", "u6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2", "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ", "z0OIl", "z" + base58.Encode([]byte{0x80, 0x24, 0x04, 1, 2})} {
		_, err := DecodeMultikey(bad)
		require.Error(t, err, bad)
	}
	// A compressed "point" whose x is not on the curve.
	x := make([]byte, 33)
	x[0] = 0x02
	for x[32] = 1; ; x[32]++ {
		if px, _ := elliptic.UnmarshalCompressed(elliptic.P256(), x); px == nil {
			break
		}
	}
	_, err := DecodeMultikey("z" + base58.Encode(append([]byte{0x80, 0x24}, x...)))
	require.ErrorContains(t, err, "not a point")
}

// TestPoisonedDataset: blank nodes RDFC-1.0's first-degree hashes cannot
// tell apart, and too many blank nodes, are refused by the signer and the
// verifier alike, before canonicalization.
func TestPoisonedDataset(t *testing.T) {
	loader, err := NewLoader(nil)
	require.NoError(t, err)
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
	key := testKeys(t)["Ed25519"]
	doc := personaDoc()
	doc["evidence"] = clique(9)
	_, err = Sign(doc, key, loader, Options{VerificationMethod: "did:example:i#1"})
	require.ErrorIs(t, err, ErrMalformed)
	require.ErrorContains(t, err, "indistinguishable")
	var many []any
	for i := range MaxBlankNodes + 1 {
		many = append(many, map[string]any{"n": fmt.Sprint(i)})
	}
	doc = personaDoc()
	doc["evidence"] = many
	require.ErrorContains(t, CheckCanonicalizable(doc, loader), "too many")
}

// FuzzVerify mutates the W3C eddsa-rdfc-2022 vector's JSON straight into
// the canonicalization and proof verification: no panic, and only the
// vector verifies.
func FuzzVerify(f *testing.F) {
	loader := katLoader(f)
	v := katVectors[0]
	good, err := json.Marshal(v.signed(f))
	require.NoError(f, err)
	f.Add(string(good))
	f.Add(`{"@context":["https://www.w3.org/ns/credentials/v2"],"@type":{"@value":1},"proof":{"type":"DataIntegrityProof","cryptosuite":"eddsa-rdfc-2022","proofPurpose":"assertionMethod","verificationMethod":"x","proofValue":"z1"}}`)
	f.Add(`{"@context":[{"@version":1.1}],"@graph":[{"@id":"_:b0"}],"proof":{}}`)
	f.Add(`{"@context":["https://www.w3.org/ns/credentials/v2"],"proof":{"type":"DataIntegrityProof","cryptosuite":"ecdsa-rdfc-2019","proofPurpose":"authentication","challenge":1,"verificationMethod":"x","proofValue":"z1"}}`)
	f.Fuzz(func(t *testing.T, raw string) {
		if len(raw) > 64<<10 {
			return
		}
		var doc map[string]any
		if json.Unmarshal([]byte(raw), &doc) != nil {
			return
		}
		p, err := Verify(doc, loader, v.resolver(t), VerifyOptions{Now: katNow})
		if err == nil && p == nil {
			t.Fatal("nil proof without error")
		}
		if err == nil {
			a, _ := json.Marshal(doc)
			var want map[string]any
			_ = json.Unmarshal(good, &want)
			b, _ := json.Marshal(want)
			if string(a) != string(b) {
				t.Fatalf("accepted a document that was not signed: %s", raw)
			}
		}
	})
}

// BenchmarkDataIntegrity measures signing and verifying one persona
// credential per key type (two RDFC-1.0 canonicalizations each), and one
// canonicalization alone.
func BenchmarkDataIntegrity(b *testing.B) {
	loader, err := NewLoader(nil)
	require.NoError(b, err)
	const vm = "did:web:issuer.example#k1"
	now := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	for _, name := range []string{"Ed25519", "P-256"} {
		key := testKeys(b)[name]
		b.Run("sign/"+name, func(b *testing.B) {
			for b.Loop() {
				if _, err := Sign(personaDoc(), key, loader, Options{VerificationMethod: vm, Created: now}); err != nil {
					b.Fatal(err)
				}
			}
		})
		signed, err := Sign(personaDoc(), key, loader, Options{VerificationMethod: vm, Created: now})
		require.NoError(b, err)
		b.Run("verify/"+name, func(b *testing.B) {
			for b.Loop() {
				if _, err := Verify(signed, loader, resolverFor(vm, key.Public()), VerifyOptions{Now: now}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	doc := clone(b, personaDoc())
	b.Run("canonicalize", func(b *testing.B) {
		for b.Loop() {
			if _, err := Canonicalize(doc, loader); err != nil {
				b.Fatal(err)
			}
		}
	})
}
