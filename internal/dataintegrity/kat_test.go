package dataintegrity

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"hash"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Known-answer tests from the W3C specifications' test vectors:
//   - vc-di-eddsa (github.com/w3c/vc-di-eddsa, TestVectors/keyPair.json and
//     TestVectors/eddsa-rdfc-2022/{signedDataInt.json, proofCanonDataInt.txt,
//     proofHashDataInt.txt, combinedHashDataInt.txt}), the spec's
//     "Representation: eddsa-rdfc-2022" example;
//   - vc-di-ecdsa (github.com/w3c/vc-di-ecdsa, TestVectors/p256KeyPair.json,
//     p384KeyPair.json,
//     ecdsa-rdfc-2019-p256/{sigBTC58ECDSAP256.txt, combinedHashECDSAP256.txt},
//     ecdsa-rdfc-2019-p384/{sigBTC58ECDSAP384.txt, combinedHashECDSAP384.txt}
//     at w3c/vc-di-ecdsa commit 36e81595, whose proofs name did:key
//     verification methods). The repository's older signed*.json ECDSA
//     files predate the final VC 2.0 context (cryptosuite was then an
//     untyped string, so their proof hashes differ) and are not used.
// All sign the same Alumni credential under the VC 2.0 and examples
// contexts; the examples context is served by the test loader only.

// katNow is after the vectors' proofs were created.
var katNow = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

const katExamplesContext = "https://www.w3.org/ns/credentials/examples/v2"

const katUnsigned = `{
  "@context": [
    "https://www.w3.org/ns/credentials/v2",
    "https://www.w3.org/ns/credentials/examples/v2"
  ],
  "id": "urn:uuid:58172aac-d8ba-11ed-83dd-0b3aef56cc33",
  "type": ["VerifiableCredential", "AlumniCredential"],
  "name": "Alumni Credential",
  "description": "A minimum viable example of an Alumni Credential.",
  "issuer": "https://vc.example/issuers/5678",
  "validFrom": "2023-01-01T00:00:00Z",
  "credentialSubject": {
    "id": "did:example:abcdefgh",
    "alumniOf": "The School of Examples"
  }
}`

type katVector struct {
	name        string
	publicKey   string // publicKeyMultibase
	vm          string // verification method, default https://vc.example/issuers/5678#<publicKey>
	cryptosuite string
	proofValue  string
	proofHash   string // hex, H(canonical proof configuration)
	docHash     string // hex, H(canonical unsecured document)
}

var katVectors = []katVector{
	{
		name:        "eddsa-rdfc-2022",
		publicKey:   "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2",
		cryptosuite: EdDSA,
		proofValue:  "z21EVs3eXERqTn4acNHT9viboqgzUaQ3kTmhPT3eA8qrVPE7CrQq78WkzctnMX5W4CrzcKnHw8V6dvy5pgWYCU5e9",
		proofHash:   "4c4d3890a157f8d611b13c265c2c22f39aa0a567c7c7dd9ba3e45cd579784eeb",
		docHash:     "517744132ae165a5349155bef0bb0cf2258fff99dfe1dbd914b938d775a36017",
	},
	{
		name:        "ecdsa-rdfc-2019 P-256",
		publicKey:   "zDnaepBuvsQ8cpsWrVKw8fbpGpvPeNSjVPTWoq6cRqaYzBKVP",
		cryptosuite: ECDSA,
		vm:          "did:key:zDnaepBuvsQ8cpsWrVKw8fbpGpvPeNSjVPTWoq6cRqaYzBKVP#zDnaepBuvsQ8cpsWrVKw8fbpGpvPeNSjVPTWoq6cRqaYzBKVP",
		proofValue:  "zaHXrr7AQdydBk3ahpCDpWbxfLokDqmCToYm2dyWvpcFVyWooC2he63w1f7UNQoAMKdhaRtcnaE2KTo5o5vTCcfw",
		proofHash:   "3a8a522f689025727fb9d1f0fa99a618da023e8494ac74f51015d009d35abc2e",
		docHash:     "517744132ae165a5349155bef0bb0cf2258fff99dfe1dbd914b938d775a36017",
	},
	{
		name:        "ecdsa-rdfc-2019 P-384",
		publicKey:   "z82LkuBieyGShVBhvtE2zoiD6Kma4tJGFtkAhxR5pfkp5QPw4LutoYWhvQCnGjdVn14kujQ",
		cryptosuite: ECDSA,
		vm:          "did:key:z82LkuBieyGShVBhvtE2zoiD6Kma4tJGFtkAhxR5pfkp5QPw4LutoYWhvQCnGjdVn14kujQ#z82LkuBieyGShVBhvtE2zoiD6Kma4tJGFtkAhxR5pfkp5QPw4LutoYWhvQCnGjdVn14kujQ",
		proofValue:  "z967Mvv5bxtmLNqTzPZ8KmJjFmFXaAKeQNzq7GWnQkMcLtaGSSmuozE5WtJ8PipMe178B1tE28K1vsJur9bGVJhz6jgSJsRHFSQeqgH8hhjcg8gZDFJC1b9FsR5ggNmDBqHv",
		proofHash:   "e32805a26492eac777aa7a138f6d8da3c74e0c7be7b296dcaccf97420c3b92eaad7be6449ca565e165031567f5c7cbc1",
		docHash:     "8bf6e01df72c5b62f91b685231915ac4b8c58ea95f002c6b8f6bfafa1b251df476b56b8e01518e317dab099d3ecbff96",
	},
}

// katLoader serves the embedded contexts plus the W3C examples context.
func katLoader(t testing.TB) *Loader {
	t.Helper()
	l, err := NewLoader(map[string][]byte{katExamplesContext: []byte(`{"@context":{"@vocab":"https://www.w3.org/ns/credentials/examples#"}}`)})
	require.NoError(t, err)
	return l
}

func (v katVector) signed(t testing.TB) map[string]any {
	t.Helper()
	var doc map[string]any
	require.NoError(t, json.Unmarshal([]byte(katUnsigned), &doc))
	doc["proof"] = map[string]any{
		"type":               "DataIntegrityProof",
		"cryptosuite":        v.cryptosuite,
		"created":            "2023-02-24T23:36:38Z",
		"verificationMethod": v.method(),
		"proofPurpose":       "assertionMethod",
		"proofValue":         v.proofValue,
	}
	return doc
}

func (v katVector) method() string {
	if v.vm != "" {
		return v.vm
	}
	return "https://vc.example/issuers/5678#" + v.publicKey
}

// katResolver returns the vector's key for its own verification method
// only.
func (v katVector) resolver(t testing.TB) KeyResolver {
	pub, err := DecodeMultikey(v.publicKey)
	require.NoError(t, err)
	return func(vm, suite string) (crypto.PublicKey, error) {
		if vm != v.method() || suite != v.cryptosuite {
			return nil, errWrongMethod
		}
		return pub, nil
	}
}

func TestDataIntegrityKnownAnswers(t *testing.T) {
	loader := katLoader(t)
	now := katNow
	for _, v := range katVectors {
		t.Run(v.name, func(t *testing.T) {
			doc := v.signed(t)
			pub, err := DecodeMultikey(v.publicKey)
			require.NoError(t, err)
			newHash, err := suiteHash(v.cryptosuite, pub)
			require.NoError(t, err)
			hashData, err := HashData(doc, doc["proof"].(map[string]any), loader, newHash)
			require.NoError(t, err)
			n := newHash().Size()
			require.Len(t, hashData, 2*n)
			if v.proofHash != "" {
				require.Equal(t, v.proofHash, hex.EncodeToString(hashData[:n]), "proof configuration hash")
			}
			require.Equal(t, v.docHash, hex.EncodeToString(hashData[n:]), "document hash")

			proof, err := Verify(doc, loader, v.resolver(t), VerifyOptions{Now: now})
			require.NoError(t, err)
			require.Equal(t, v.cryptosuite, proof.Cryptosuite)
			require.Equal(t, time.Date(2023, 2, 24, 23, 36, 38, 0, time.UTC), proof.Created)

			// The vector's signature does not verify over anything else.
			doc["credentialSubject"] = map[string]any{"id": "did:example:abcdefgh", "alumniOf": "The School of Counterexamples"}
			_, err = Verify(doc, loader, v.resolver(t), VerifyOptions{Now: now})
			require.ErrorIs(t, err, ErrSignature)
		})
	}
}

// TestDataIntegrityKnownCanonicalProof checks the canonical N-Quads of the
// eddsa-rdfc-2022 proof configuration byte for byte
// (TestVectors/eddsa-rdfc-2022/proofCanonDataInt.txt), and that signing
// with the vector's private key (TestVectors/keyPair.json; Ed25519 is
// deterministic) gives the vector's proofValue.
func TestDataIntegrityKnownCanonicalProof(t *testing.T) {
	loader := katLoader(t)
	v := katVectors[0]
	doc := v.signed(t)
	config := map[string]any{"@context": doc["@context"]}
	for k, x := range doc["proof"].(map[string]any) {
		if k != "proofValue" {
			config[k] = x
		}
	}
	canon, err := Canonicalize(config, loader)
	require.NoError(t, err)
	want := `_:c14n0 <http://purl.org/dc/terms/created> "2023-02-24T23:36:38Z"^^<http://www.w3.org/2001/XMLSchema#dateTime> .
_:c14n0 <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <https://w3id.org/security#DataIntegrityProof> .
_:c14n0 <https://w3id.org/security#cryptosuite> "eddsa-rdfc-2022"^^<https://w3id.org/security#cryptosuiteString> .
_:c14n0 <https://w3id.org/security#proofPurpose> <https://w3id.org/security#assertionMethod> .
_:c14n0 <https://w3id.org/security#verificationMethod> <https://vc.example/issuers/5678#z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2> .
`
	require.Equal(t, want, string(canon))
	sum := sha256.Sum256(canon)
	require.Equal(t, v.proofHash, hex.EncodeToString(sum[:]))

	// privateKeyMultibase: multicodec ed25519-priv (0x1300) ‖ 32-byte seed.
	priv, err := DecodeMultibase("z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq")
	require.NoError(t, err)
	require.Equal(t, []byte{0x80, 0x26}, priv[:2])
	key := ed25519.NewKeyFromSeed(priv[2:])
	pub, err := DecodeMultikey(v.publicKey)
	require.NoError(t, err)
	require.True(t, key.Public().(ed25519.PublicKey).Equal(pub))

	hashData, err := HashData(doc, doc["proof"].(map[string]any), loader, sha256.New)
	require.NoError(t, err)
	sig, err := DecodeMultibase(v.proofValue)
	require.NoError(t, err)
	require.True(t, bytes.Equal(sig, ed25519.Sign(key, hashData)), "Ed25519 signature differs from the vector's proofValue")
}

// TestDataIntegrityKnownKeys decodes the vectors' private keys (P-256:
// multicodec p256-priv 0x1306, P-384: p384-priv 0x1307) and checks they
// are the public keys' pairs, so the ECDSA vectors are verified under the
// right keys.
func TestDataIntegrityKnownKeys(t *testing.T) {
	for _, tc := range []struct {
		priv, pub string
		prefix    []byte
		hash      func() hash.Hash
	}{
		{"z42twTcNeSYcnqg1FLuSFs2bsGH3ZqbRHFmvS9XMsYhjxvHN", katVectors[1].publicKey, []byte{0x86, 0x26}, sha256.New},
		{"z2fanyY7zgwNpZGxX5fXXibvScNaUWNprHU9dKx7qpVj7mws9J8LLt4mDB5TyH2GLHWkUc", katVectors[2].publicKey, []byte{0x87, 0x26}, sha512.New384},
	} {
		b, err := DecodeMultibase(tc.priv)
		require.NoError(t, err)
		require.Equal(t, tc.prefix, b[:2])
		pub, err := DecodeMultikey(tc.pub)
		require.NoError(t, err)
		ec := pub.(*ecdsa.PublicKey)
		x, y := ec.Curve.ScalarBaseMult(b[2:])
		require.Zero(t, x.Cmp(ec.X))
		require.Zero(t, y.Cmp(ec.Y))
		h, err := suiteHash(ECDSA, pub)
		require.NoError(t, err)
		require.Equal(t, tc.hash().Size(), h().Size())
	}
}
