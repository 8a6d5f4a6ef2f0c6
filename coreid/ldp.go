package coreid

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v3"
	ariesjwk "github.com/hyperledger/aries-framework-go/pkg/doc/jose/jwk"
	ariescontexts "github.com/hyperledger/aries-framework-go/pkg/doc/ldcontext/embed"
	"github.com/hyperledger/aries-framework-go/pkg/doc/signature/suite"
	"github.com/hyperledger/aries-framework-go/pkg/doc/signature/suite/ed25519signature2018"
	"github.com/hyperledger/aries-framework-go/pkg/doc/signature/suite/ed25519signature2020"
	"github.com/hyperledger/aries-framework-go/pkg/doc/signature/suite/jsonwebsignature2020"
	sigverifier "github.com/hyperledger/aries-framework-go/pkg/doc/signature/verifier"
	"github.com/hyperledger/aries-framework-go/pkg/doc/verifiable"
	"github.com/lestrrat-go/jwx/v2/jwk"
	jsonld "github.com/piprate/json-gold/ld"

	"github.com/mustard-id/mustard/internal/trust"
)

//go:embed contexts/*.jsonld
var contextFiles embed.FS

// PIDContext is the URL of Mustard's JSON-LD context for person
// identification data, embedded with the provider.
const PIDContext = "https://w3id.org/mustard/pid/v1"

// DocumentLoader resolves JSON-LD contexts from the copies embedded in the
// binary (aries' set: VC 1.1, security, Ed25519 2018/2020, JWS 2020, ...,
// and Mustard's PID context) and refuses every other URL: nothing is
// fetched from the network at run time, and a credential whose context is
// unknown does not verify.
type DocumentLoader struct {
	docs map[string]*jsonld.RemoteDocument
}

// ErrUnknownContext is the loader's refusal.
var ErrUnknownContext = errors.New("coreid: JSON-LD context is not one of the embedded contexts")

// NewDocumentLoader returns the embedded, offline loader.
func NewDocumentLoader() (*DocumentLoader, error) {
	l := &DocumentLoader{docs: map[string]*jsonld.RemoteDocument{}}
	add := func(url string, content []byte) error {
		doc, err := jsonld.DocumentFromReader(bytes.NewReader(content))
		if err != nil {
			return fmt.Errorf("coreid: context %s: %w", url, err)
		}
		l.docs[url] = &jsonld.RemoteDocument{DocumentURL: url, Document: doc}
		return nil
	}
	for _, c := range ariescontexts.Contexts {
		if err := add(c.URL, c.Content); err != nil {
			return nil, err
		}
	}
	b, err := contextFiles.ReadFile("contexts/pid-v1.jsonld")
	if err != nil {
		return nil, err
	}
	if err := add(PIDContext, b); err != nil {
		return nil, err
	}
	return l, nil
}

// LoadDocument implements json-gold's DocumentLoader.
func (l *DocumentLoader) LoadDocument(u string) (*jsonld.RemoteDocument, error) {
	if d, ok := l.docs[u]; ok {
		return d, nil
	}
	return nil, ErrUnknownContext
}

// ldpSuites are the proof suites accepted on JSON-LD credentials:
// Ed25519Signature2018 and 2020 (EdDSA) and JsonWebSignature2020 (a
// detached JWS: ES256 / ES384 on P-256 / P-384, or EdDSA).
func ldpSuites() []sigverifier.SignatureSuite {
	return []sigverifier.SignatureSuite{
		ed25519signature2018.New(suite.WithVerifier(ed25519signature2018.NewPublicKeyVerifier())),
		ed25519signature2020.New(suite.WithVerifier(ed25519signature2020.NewPublicKeyVerifier())),
		jsonwebsignature2020.New(suite.WithVerifier(jsonwebsignature2020.NewPublicKeyVerifier())),
	}
}

// verifyLDPVC verifies a W3C VC 2.0 (verifyDIVC) or VC 1.1 in JSON-LD with an embedded
// linked-data proof from an accredited source: the issuer is listed for
// format "ldp-vc", the proof's verification method is the issuer's
// ("<issuer>#<kid>" with kid in the source's JWKS), the signature verifies
// over the canonicalized document using only embedded contexts, the
// credential is within its validity period and of an accepted type.
func verifyLDPVC(fw *trust.Document, keysOf sourceKeys, loader *DocumentLoader, raw string, now time.Time) (*Source, error) {
	if len(raw) == 0 || len(raw) > MaxSourceSize {
		return nil, ErrSource
	}
	var head struct {
		Context json.RawMessage `json:"@context"`
		Issuer  json.RawMessage `json:"issuer"`
		Proof   json.RawMessage `json:"proof"`
	}
	if err := json.Unmarshal([]byte(raw), &head); err != nil || len(head.Proof) == 0 {
		return nil, ErrSource
	}
	// Every top-level context must be one of the embedded ones; inline
	// context objects are refused too, so the vocabulary is the
	// framework's, not the credential's.
	var contexts []string
	if err := json.Unmarshal(head.Context, &contexts); err != nil || len(contexts) == 0 {
		return nil, fmt.Errorf("%w: @context must be a list of known context URLs", ErrSource)
	}
	if contexts[0] == CredentialsV2Context {
		// VC 2.0 (its base context comes first): Data Integrity proofs,
		// verified in dataintegrity.go, not by aries.
		return verifyDIVC(fw, keysOf, raw, now)
	}
	for _, c := range contexts {
		if _, ok := loader.docs[c]; !ok {
			return nil, fmt.Errorf("%w: unknown JSON-LD context", ErrSource)
		}
	}
	issuer := issuerID(head.Issuer)
	src, err := fw.Source(issuer)
	if err != nil || !src.Accepts(trust.FormatLDPVC) {
		return nil, ErrUnknownIssuer
	}
	// aries canonicalizes before it checks the signature: bound the work
	// first, as the VC 2.0 path does.
	var doc map[string]any
	if err := json.Unmarshal([]byte(raw), &doc); err != nil {
		return nil, ErrSource
	}
	if err := checkCanonicalizable(doc, loader); err != nil {
		return nil, err
	}
	keys, err := keysOf(src)
	if err != nil {
		return nil, ErrUnknownIssuer
	}
	fetch := func(controller, keyID string) (*sigverifier.PublicKey, error) {
		if controller != src.ID {
			return nil, ErrUnknownIssuer
		}
		k, ok := keys.LookupKeyID(controller + keyID)
		if !ok {
			k, ok = keys.LookupKeyID(strings.TrimPrefix(keyID, "#"))
		}
		if !ok {
			return nil, ErrUnknownIssuer
		}
		return ariesKey(k)
	}
	vc, err := verifiable.ParseCredential([]byte(raw),
		verifiable.WithJSONLDDocumentLoader(loader),
		verifiable.WithPublicKeyFetcher(fetch),
		verifiable.WithEmbeddedSignatureSuites(ldpSuites()...),
		verifiable.WithJSONLDValidation(),
		verifiable.WithStrictValidation(),
	)
	if err != nil {
		if errors.Is(err, ErrUnknownIssuer) {
			return nil, ErrUnknownIssuer
		}
		msg := err.Error()
		if strings.Contains(msg, "loading remote context failed") || strings.Contains(msg, ErrUnknownContext.Error()) {
			// A context nested below the top level: json-gold asked the
			// loader, which refused.
			return nil, fmt.Errorf("%w: unknown JSON-LD context", ErrSource)
		}
		if strings.Contains(msg, "check embedded proof") || strings.Contains(msg, "check linked data proof") {
			return nil, ErrSignature
		}
		return nil, ErrSource
	}
	if vc.Issuer.ID != src.ID {
		return nil, ErrUnknownIssuer
	}
	if len(vc.Proofs) == 0 {
		return nil, ErrSignature
	}
	if vc.Issued != nil && vc.Issued.After(now.Add(time.Minute)) {
		return nil, ErrExpired
	}
	if vc.Expired != nil && !now.Before(vc.Expired.Time) {
		return nil, ErrExpired
	}
	if vc.Expired == nil {
		// Mustard accepts only source credentials that expire.
		return nil, fmt.Errorf("%w: no expirationDate", ErrSource)
	}
	if !slices.ContainsFunc(vc.Types, func(t string) bool { return slices.Contains(src.Types, t) }) {
		return nil, fmt.Errorf("%w: type not accepted", ErrSource)
	}
	subjects, ok := vc.Subject.([]verifiable.Subject)
	if !ok || len(subjects) != 1 {
		return nil, fmt.Errorf("%w: exactly one credentialSubject object", ErrSource)
	}
	subj := subjects[0]
	claims := map[string]any{}
	for k, v := range subj.CustomFields {
		claims[k] = v
	}
	out, err := fromClaims(src, trust.FormatLDPVC, subj.ID, claims)
	if err != nil {
		return nil, err
	}
	if vc.Issued != nil {
		out.IssuedAt = vc.Issued.Time
	}
	return out, nil
}

// issuerID reads a VC's issuer: a URL string or an object with an id.
func issuerID(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var o struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(raw, &o)
	return o.ID
}

// ariesKey converts a framework key to aries' verifier key: raw bytes for
// Ed25519 (the 2018 and 2020 suites), a JWK for JsonWebSignature2020.
func ariesKey(k jwk.Key) (*sigverifier.PublicKey, error) {
	var raw any
	if err := k.Raw(&raw); err != nil {
		return nil, ErrUnknownIssuer
	}
	switch pub := raw.(type) {
	case ed25519.PublicKey:
		j := &ariesjwk.JWK{JSONWebKey: jose.JSONWebKey{Key: pub, KeyID: k.KeyID()}, Kty: "OKP", Crv: "Ed25519"}
		return &sigverifier.PublicKey{Type: "Ed25519VerificationKey2018", Value: pub, JWK: j}, nil
	case *ecdsa.PublicKey:
		j := &ariesjwk.JWK{JSONWebKey: jose.JSONWebKey{Key: pub, KeyID: k.KeyID()}, Kty: "EC", Crv: pub.Curve.Params().Name}
		return &sigverifier.PublicKey{Type: "JsonWebKey2020", JWK: j}, nil
	}
	return nil, ErrUnknownIssuer
}
