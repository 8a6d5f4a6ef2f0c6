package issuer

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	ariescontexts "github.com/hyperledger/aries-framework-go/pkg/doc/ldcontext/embed"
	ldsig "github.com/hyperledger/aries-framework-go/pkg/doc/signature/jsonld"
	"github.com/hyperledger/aries-framework-go/pkg/doc/signature/suite"
	"github.com/hyperledger/aries-framework-go/pkg/doc/signature/suite/jsonwebsignature2020"
	"github.com/hyperledger/aries-framework-go/pkg/doc/verifiable"
	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/mustard-id/mustard/internal/dataintegrity"
)

// JSON-LD forms of the persona credential: the same content as the JWT
// forms, secured by an embedded proof instead of a JWS envelope.
const (
	// FormatLDPVC is a W3C VC Data Model 2.0 JSON-LD credential with a
	// DataIntegrityProof (OpenID4VCI's "ldp_vc"): cryptosuite
	// ecdsa-rdfc-2019 under a P-256 issuer key, eddsa-rdfc-2022 under an
	// Ed25519 one (internal/dataintegrity).
	FormatLDPVC = "ldp_vc"
	// FormatLDPVC11 is a W3C VC Data Model 1.1 JSON-LD credential with a
	// JsonWebSignature2020 proof made by aries-framework-go's own signer,
	// for verifiers that know only 1.1 linked-data proofs.
	FormatLDPVC11 = "ldp_vc_v1"
)

// Contexts of the JSON-LD forms.
const (
	// PersonaContext defines the persona credential's terms (embedded).
	PersonaContext = dataintegrity.PersonaContext
	contextJWS2020 = "https://w3id.org/security/suites/jws-2020/v1"
)

// newLDLoader is the issuer's offline JSON-LD loader: the VC 2.0 and
// persona contexts and aries' embedded set (VC 1.1, JWS 2020, ...).
func newLDLoader() (*dataintegrity.Loader, error) {
	extra := map[string][]byte{}
	for _, c := range ariescontexts.Contexts {
		extra[c.URL] = c.Content
	}
	return dataintegrity.NewLoader(extra)
}

var ldLoader = sync.OnceValues(newLDLoader)

// NewLDLoader returns the offline loader of every context the issuer's
// JSON-LD credentials use (for verifiers and tests).
func NewLDLoader() (*dataintegrity.Loader, error) { return ldLoader() }

// signerOf returns the crypto.Signer of an issuer key.
func signerOf(key jwk.Key) (crypto.Signer, error) {
	var raw any
	if err := key.Raw(&raw); err != nil {
		return nil, fmt.Errorf("issuer: sign: %w", err)
	}
	s, ok := raw.(crypto.Signer)
	if !ok {
		return nil, errors.New("issuer: sign: the key cannot sign")
	}
	return s, nil
}

// VerificationMethod is the DID URL naming an issuer key in embedded
// proofs and JWT kids: "<issuer id>#<kid>".
func (i *Issuer) VerificationMethod(kid string) string {
	return i.cfg.ID + "#" + kid
}

// signLDP builds and signs a persona credential in a JSON-LD form: the
// claims of the SD-JWT VC (all visible), the persona key's did:jwk as the
// subject (the holder binding: a presentation is signed by that key), the
// status entries.
func (i *Issuer) signLDP(format string, subject map[string]any, ref StatusRef, now, exp time.Time) (string, error) {
	loader, err := ldLoader()
	if err != nil {
		return "", err
	}
	key := i.keys.signer()
	signer, err := signerOf(key)
	if err != nil {
		return "", err
	}
	vm := i.VerificationMethod(key.KeyID())
	types := []any{"VerifiableCredential", typePersona}
	subject = dedupePredicates(subject)
	var doc map[string]any
	switch format {
	case FormatLDPVC:
		doc = map[string]any{
			"@context":          []any{dataintegrity.CredentialsV2Context, PersonaContext},
			"id":                newURNUUID(),
			"type":              types,
			"issuer":            i.cfg.ID,
			"validFrom":         now.UTC().Format(time.RFC3339),
			"validUntil":        exp.UTC().Format(time.RFC3339),
			"credentialSubject": subject,
			"credentialStatus":  []any{i.statusEntry(ref, PurposeRevocation), i.statusEntry(ref, PurposeSuspension)},
		}
		signed, err := dataintegrity.Sign(doc, signer, loader, dataintegrity.Options{VerificationMethod: vm, Created: now})
		if err != nil {
			return "", fmt.Errorf("issuer: sign: %w", err)
		}
		b, err := json.Marshal(signed)
		return string(b), err
	case FormatLDPVC11:
		doc = map[string]any{
			"@context":          []any{contextV11, contextJWS2020, PersonaContext},
			"id":                newURNUUID(),
			"type":              types,
			"issuer":            i.cfg.ID,
			"issuanceDate":      now.UTC().Format(time.RFC3339),
			"expirationDate":    exp.UTC().Format(time.RFC3339),
			"credentialSubject": subject,
			// VC 1.1 has room for one status: the revocation entry, as in
			// the 1.1 JWT form.
			"credentialStatus": i.statusEntry(ref, PurposeRevocation),
		}
		return signAries(doc, signer, vm, loader, now)
	}
	return "", ErrFormat
}

// signAries signs a VC 1.1 JSON-LD credential with aries-framework-go's
// JsonWebSignature2020 suite (a detached JWS: ES256 or EdDSA, as the key
// allows).
func signAries(doc map[string]any, key crypto.Signer, vm string, loader *dataintegrity.Loader, now time.Time) (string, error) {
	raw, err := json.Marshal(doc)
	if err != nil {
		return "", err
	}
	vc, err := verifiable.ParseCredential(raw, verifiable.WithDisabledProofCheck(), verifiable.WithJSONLDDocumentLoader(loader))
	if err != nil {
		return "", fmt.Errorf("issuer: sign: %w", err)
	}
	ctx := &verifiable.LinkedDataProofContext{
		SignatureType:           "JsonWebSignature2020",
		Suite:                   jsonwebsignature2020.New(suite.WithSigner(ariesSigner{key})),
		SignatureRepresentation: verifiable.SignatureJWS,
		VerificationMethod:      vm,
		Purpose:                 "assertionMethod",
		Created:                 &now,
	}
	if err := vc.AddLinkedDataProof(ctx, ldsig.WithDocumentLoader(loader)); err != nil {
		return "", fmt.Errorf("issuer: sign: %w", err)
	}
	out, err := vc.MarshalJSON()
	return string(out), err
}

// ariesSigner signs as aries' JWS suite expects: EdDSA over the signing
// input, or ES256 as r ‖ s over its SHA-256 (RFC 7518 §3.4).
type ariesSigner struct{ key crypto.Signer }

func (s ariesSigner) Alg() string {
	if _, ok := s.key.Public().(ed25519.PublicKey); ok {
		return "EdDSA"
	}
	return "ES256"
}

func (s ariesSigner) Sign(data []byte) ([]byte, error) {
	switch k := s.key.(type) {
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
	return nil, errors.New("issuer: unsupported key")
}

// dedupePredicates drops repeated identical predicates: in RDF they are
// one statement (a set), and two blank nodes that nothing tells apart are
// what the canonicalization bound refuses (dataintegrity.MaxBlankNodes).
func dedupePredicates(subject map[string]any) map[string]any {
	preds, ok := subject["predicates"].([]map[string]any)
	if !ok {
		return subject
	}
	out := make(map[string]any, len(subject))
	for k, v := range subject {
		out[k] = v
	}
	seen := map[string]bool{}
	var kept []map[string]any
	for _, p := range preds {
		b, _ := json.Marshal(p)
		if !seen[string(b)] {
			seen[string(b)] = true
			kept = append(kept, p)
		}
	}
	out["predicates"] = kept
	return out
}

// isLDP reports the JSON-LD formats.
func isLDP(format string) bool { return format == FormatLDPVC || format == FormatLDPVC11 }
