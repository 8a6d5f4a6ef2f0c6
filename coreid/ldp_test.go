package coreid

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hyperledger/aries-framework-go/pkg/doc/signature/jsonld"
	"github.com/hyperledger/aries-framework-go/pkg/doc/signature/suite"
	"github.com/hyperledger/aries-framework-go/pkg/doc/signature/suite/ed25519signature2018"
	"github.com/hyperledger/aries-framework-go/pkg/doc/signature/suite/ed25519signature2020"
	"github.com/hyperledger/aries-framework-go/pkg/doc/signature/suite/jsonwebsignature2020"
	"github.com/hyperledger/aries-framework-go/pkg/doc/verifiable"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/internal/trust"
	"github.com/mustard-id/mustard/zk"
)

// ldSigner signs as aries' suites expect: Ed25519 over the data, or
// ES256 (r||s) over its SHA-256.
type ldSigner struct{ key jwk.Key }

func (s ldSigner) Alg() string {
	if s.key.KeyType() == "OKP" {
		return "EdDSA"
	}
	return "ES256"
}

func (s ldSigner) Sign(data []byte) ([]byte, error) {
	var raw any
	if err := s.key.Raw(&raw); err != nil {
		return nil, err
	}
	switch k := raw.(type) {
	case ed25519.PrivateKey:
		return ed25519.Sign(k, data), nil
	case *ecdsa.PrivateKey:
		h := sha256.Sum256(data)
		r, ss, err := ecdsa.Sign(rand.Reader, k, h[:])
		if err != nil {
			return nil, err
		}
		out := make([]byte, 64)
		r.FillBytes(out[:32])
		ss.FillBytes(out[32:])
		return out, nil
	}
	return nil, nil
}

// ldVC builds a VC 1.1 JSON-LD credential from the registry and signs it
// with suiteName under key, naming verification method vm.
func ldVC(t testing.TB, loader *DocumentLoader, doc map[string]any, suiteName string, key jwk.Key, vm string) string {
	t.Helper()
	raw, err := json.Marshal(doc)
	require.NoError(t, err)
	vc, err := verifiable.ParseCredential(raw, verifiable.WithDisabledProofCheck(), verifiable.WithJSONLDDocumentLoader(loader))
	require.NoError(t, err)
	signer := ldSigner{key}
	ctx := &verifiable.LinkedDataProofContext{SignatureType: suiteName, VerificationMethod: vm, SignatureRepresentation: verifiable.SignatureProofValue}
	switch suiteName {
	case "Ed25519Signature2018":
		ctx.Suite = ed25519signature2018.New(suite.WithSigner(signer))
		ctx.SignatureRepresentation = verifiable.SignatureJWS
	case "Ed25519Signature2020":
		ctx.Suite = ed25519signature2020.New(suite.WithSigner(signer))
	case "JsonWebSignature2020":
		ctx.Suite = jsonwebsignature2020.New(suite.WithSigner(signer))
		ctx.SignatureRepresentation = verifiable.SignatureJWS
	}
	created := time.Now()
	ctx.Created = &created
	require.NoError(t, vc.AddLinkedDataProof(ctx, jsonld.WithDocumentLoader(loader)))
	out, err := vc.MarshalJSON()
	require.NoError(t, err)
	return string(out)
}

func (e *env) ldDoc(suiteContext string, subject map[string]any) map[string]any {
	cs := map[string]any{"id": "did:example:holder"}
	for k, v := range subject {
		cs[k] = v
	}
	ctx := []any{"https://www.w3.org/2018/credentials/v1", PIDContext}
	if suiteContext != "" {
		ctx = append(ctx, suiteContext)
	}
	return map[string]any{
		"@context":          ctx,
		"id":                "urn:uuid:3978344f-8596-4c3a-a978-8fcaba3903c5",
		"type":              []any{"VerifiableCredential", "PersonIdentificationData"},
		"issuer":            ldpID,
		"issuanceDate":      e.now.UTC().Format(time.RFC3339),
		"expirationDate":    e.now.Add(time.Hour).UTC().Format(time.RFC3339),
		"credentialSubject": cs,
	}
}

func TestEnrollLDPVC(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	loader, err := NewDocumentLoader()
	require.NoError(t, err)
	ed, p256 := e.keys[ldpID], e.keys[ldpID+"#p256"]
	subject := map[string]any{"personal_number": "NL-123456789", "birthdate": "1990-04-12", "nationality": "NL"}
	suites := map[string]struct {
		context string
		key     jwk.Key
		vm      string
	}{
		// VC 1.1's context defines Ed25519Signature2018 itself.
		"Ed25519Signature2018": {"", ed, ldpID + "#key-1"},
		"Ed25519Signature2020": {"https://w3id.org/security/suites/ed25519-2020/v1", ed, ldpID + "#key-1"},
		"JsonWebSignature2020": {"https://w3id.org/security/suites/jws-2020/v1", p256, ldpID + "#p256"},
	}
	for name, s := range suites {
		t.Run(name, func(t *testing.T) {
			suiteName := strings.Fields(name)[0]
			raw := ldVC(t, loader, e.ldDoc(s.context, subject), suiteName, s.key, s.vm)
			src, err := e.p.VerifySource(ctx, SourceCredential{Format: trust.FormatLDPVC, Credential: raw}, "")
			require.NoError(t, err)
			require.Equal(t, "did:example:holder", src.Subject)
			require.Equal(t, "1990-04-12", src.Attrs["birth_date"])
			require.Equal(t, uint64(zk.GradeHigh), src.Grade)

			// Changing a signed claim breaks the proof.
			tampered := strings.Replace(raw, "1990-04-12", "1950-04-12", 1)
			_, err = e.p.VerifySource(ctx, SourceCredential{Format: trust.FormatLDPVC, Credential: tampered}, "")
			require.ErrorIs(t, err, ErrSignature)
		})
	}

	enroll := func(raw string) error {
		r := e.commitment(t)
		r.Sources = []SourceCredential{{Format: trust.FormatLDPVC, Credential: raw}}
		_, err := e.p.Enroll(ctx, r)
		return err
	}
	good := e.ldDoc("https://w3id.org/security/suites/ed25519-2020/v1", subject)
	require.NoError(t, enroll(ldVC(t, loader, good, "Ed25519Signature2020", ed, ldpID+"#key-1")))

	other := edKey(t, "key-1")
	unknownCtx := e.ldDoc("https://w3id.org/security/suites/ed25519-2020/v1", subject)
	unknownCtx["@context"] = append(unknownCtx["@context"].([]any), "https://evil.example/context/v1")
	unknownIssuer := e.ldDoc("https://w3id.org/security/suites/ed25519-2020/v1", subject)
	unknownIssuer["issuer"] = "did:web:forger.example"
	expired := e.ldDoc("https://w3id.org/security/suites/ed25519-2020/v1", subject)
	expired["expirationDate"] = e.now.Add(-time.Minute).UTC().Format(time.RFC3339)
	noExpiry := e.ldDoc("https://w3id.org/security/suites/ed25519-2020/v1", subject)
	delete(noExpiry, "expirationDate")
	stringSubject := e.ldDoc("https://w3id.org/security/suites/ed25519-2020/v1", subject)
	stringSubject["credentialSubject"] = "did:example:holder"
	twoSubjects := e.ldDoc("https://w3id.org/security/suites/ed25519-2020/v1", subject)
	twoSubjects["credentialSubject"] = []any{map[string]any{"id": "did:example:a", "birthdate": "1990-04-12"}, map[string]any{"id": "did:example:b", "birthdate": "1980-01-01"}}
	wrongType := e.ldDoc("https://w3id.org/security/suites/ed25519-2020/v1", subject)
	wrongType["type"] = []any{"VerifiableCredential"}

	cases := []struct {
		name string
		raw  func() string
		want error
	}{
		{"another key", func() string { return ldVC(t, loader, good, "Ed25519Signature2020", other, ldpID+"#key-1") }, ErrSignature},
		{"verification method of another controller", func() string {
			return ldVC(t, loader, good, "Ed25519Signature2020", ed, "did:web:forger.example#key-1")
		}, ErrUnknownIssuer},
		{"unknown verification method", func() string { return ldVC(t, loader, good, "Ed25519Signature2020", ed, ldpID+"#nope") }, ErrUnknownIssuer},
		{"unknown context", func() string {
			// Signed with a loader that knows the context, verified by the
			// provider's, which does not and fetches nothing.
			l2, _ := NewDocumentLoader()
			l2.docs["https://evil.example/context/v1"] = l2.docs[PIDContext]
			return ldVC(t, l2, unknownCtx, "Ed25519Signature2020", ed, ldpID+"#key-1")
		}, ErrSource},
		{"unknown issuer", func() string { return ldVC(t, loader, unknownIssuer, "Ed25519Signature2020", ed, ldpID+"#key-1") }, ErrUnknownIssuer},
		{"expired", func() string { return ldVC(t, loader, expired, "Ed25519Signature2020", ed, ldpID+"#key-1") }, ErrExpired},
		{"no expiry", func() string { return ldVC(t, loader, noExpiry, "Ed25519Signature2020", ed, ldpID+"#key-1") }, ErrSource},
		{"type not accepted", func() string { return ldVC(t, loader, wrongType, "Ed25519Signature2020", ed, ldpID+"#key-1") }, ErrSource},
		{"subject is a string", func() string { return ldVC(t, loader, stringSubject, "Ed25519Signature2020", ed, ldpID+"#key-1") }, ErrSource},
		{"two subjects", func() string { return ldVC(t, loader, twoSubjects, "Ed25519Signature2020", ed, ldpID+"#key-1") }, ErrSource},
		{"no proof", func() string { b, _ := json.Marshal(good); return string(b) }, ErrSource},
		{"not JSON", func() string { return "{" }, ErrSource},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.ErrorIs(t, enroll(tc.raw()), tc.want)
		})
	}
	_, err = loader.LoadDocument("https://www.w3.org/ns/credentials/v2")
	require.ErrorIs(t, err, ErrUnknownContext)
}

// A VC 1.1 credential whose canonicalization would take exponential work
// (a clique of blank nodes RDFC-1.0 cannot tell apart) is refused before
// aries canonicalizes it, quickly, signature or not.
func TestLDPVCPoisonedDatasetRefusedFirst(t *testing.T) {
	e := newEnv(t)
	loader, err := NewDocumentLoader()
	require.NoError(t, err)
	good := ldVC(t, loader, e.ldDoc("https://w3id.org/security/suites/ed25519-2020/v1", map[string]any{"birthdate": "1990-04-12"}), "Ed25519Signature2020", e.keys[ldpID], ldpID+"#key-1")
	var doc map[string]any
	require.NoError(t, json.Unmarshal([]byte(good), &doc))
	var clique []any
	for i := range 9 {
		var refs []any
		for j := range 9 {
			if j != i {
				refs = append(refs, map[string]any{"id": fmt.Sprintf("_:b%d", j)})
			}
		}
		clique = append(clique, map[string]any{"id": fmt.Sprintf("_:b%d", i), "evidence": refs})
	}
	// evidence is a term of the VC 1.1 context whose values are node
	// references: the clique is in the dataset.
	doc["evidence"] = clique
	raw, _ := json.Marshal(doc)
	start := time.Now()
	_, err = e.p.VerifySource(context.Background(), SourceCredential{Format: trust.FormatLDPVC, Credential: string(raw)}, "")
	require.ErrorIs(t, err, ErrSource)
	require.ErrorContains(t, err, "indistinguishable blank nodes")
	require.Less(t, time.Since(start), 10*time.Second, "canonicalization ran: it takes minutes on this input")
}
