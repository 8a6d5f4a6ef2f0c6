package coreid

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	jsonld "github.com/piprate/json-gold/ld"

	"github.com/mustard-id/mustard/internal/dataintegrity"
	"github.com/mustard-id/mustard/internal/trust"
)

// W3C Verifiable Credentials Data Model 2.0 secured with Data Integrity
// proofs (W3C vc-data-integrity, vc-di-eddsa, vc-di-ecdsa). aries v0.3.2
// knows neither the 2.0 base context nor the DataIntegrityProof
// cryptosuites: they are verified by internal/dataintegrity, Mustard's one
// implementation of them, here under the provider's policy.

// CredentialsV2Context is the base context of a W3C VC 2.0 credential,
// embedded with the provider.
const CredentialsV2Context = dataintegrity.CredentialsV2Context

// The Data Integrity cryptosuites Mustard verifies.
const (
	// CryptosuiteEdDSA is eddsa-rdfc-2022: Ed25519 over SHA-256 hashes.
	CryptosuiteEdDSA = dataintegrity.EdDSA
	// CryptosuiteECDSA is ecdsa-rdfc-2019: ECDSA on P-256 with SHA-256,
	// or on P-384 with SHA-384, the curve being the key's.
	CryptosuiteECDSA = dataintegrity.ECDSA
)

const (
	// diSkew is the clock skew allowed on validFrom.
	diSkew = time.Minute
	// diMaxDepth bounds the nesting of a credential's JSON.
	diMaxDepth = dataintegrity.MaxDepth
)

// newDILoader is the offline document loader of VC 2.0 credentials: the
// VC 2.0 context (which defines DataIntegrityProof itself) and Mustard's
// PID context, nothing else, and no network.
func newDILoader() (*DocumentLoader, error) {
	l := &DocumentLoader{docs: map[string]*jsonld.RemoteDocument{}}
	v2, _ := dataintegrity.Context(CredentialsV2Context)
	pid, err := contextFiles.ReadFile("contexts/pid-v1.jsonld")
	if err != nil {
		return nil, err
	}
	for url, b := range map[string][]byte{CredentialsV2Context: v2, PIDContext: pid} {
		doc, err := jsonld.DocumentFromReader(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("coreid: context %s: %w", url, err)
		}
		l.docs[url] = &jsonld.RemoteDocument{DocumentURL: url, Document: doc}
	}
	return l, nil
}

// diLoader is built once: its documents are never modified.
var diLoader = sync.OnceValues(newDILoader)

// DIProof is a verified Data Integrity proof's configuration.
type DIProof = dataintegrity.Proof

// diKeyResolver returns the public key a verification method names.
type diKeyResolver = dataintegrity.KeyResolver

// verifyDataIntegrity verifies doc's embedded DataIntegrityProof with
// purpose assertionMethod (dataintegrity.Verify), its errors as the
// provider's: ErrSignature, ErrExpired, ErrSource, or the resolver's own.
func verifyDataIntegrity(doc map[string]any, loader jsonld.DocumentLoader, resolve diKeyResolver, now time.Time) (*DIProof, error) {
	p, err := dataintegrity.Verify(doc, loader, resolve, dataintegrity.VerifyOptions{Now: now})
	if err != nil {
		return nil, diError(err)
	}
	return p, nil
}

// diError maps internal/dataintegrity's errors to the provider's problem
// types, keeping the detail; a resolver's errors are already the
// provider's.
func diError(err error) error {
	switch {
	case errors.Is(err, dataintegrity.ErrSignature):
		return fmt.Errorf("%w: %w", ErrSignature, err)
	case errors.Is(err, dataintegrity.ErrExpired):
		return fmt.Errorf("%w: %w", ErrExpired, err)
	case errors.Is(err, dataintegrity.ErrMalformed):
		return fmt.Errorf("%w: %w", ErrSource, err)
	}
	return err
}

// checkCanonicalizable refuses, before any signature suite canonicalizes
// it, a document whose canonicalization would take more than linear work
// (the VC 1.1 path: aries canonicalizes before it checks a signature).
func checkCanonicalizable(doc map[string]any, loader jsonld.DocumentLoader) error {
	return diError(dataintegrity.CheckCanonicalizable(doc, loader))
}

// SignDataIntegrity adds a DataIntegrityProof (purpose assertionMethod)
// to a VC 2.0 credential, as a source issuer does (Mustard uses it for
// samples and tests), through dataintegrity.Sign with the provider's
// loader.
func SignDataIntegrity(doc map[string]any, key crypto.Signer, verificationMethod string, created time.Time) (map[string]any, error) {
	loader, err := diLoader()
	if err != nil {
		return nil, err
	}
	out, err := dataintegrity.Sign(doc, key, loader, dataintegrity.Options{VerificationMethod: verificationMethod, Created: created})
	if err != nil {
		return nil, diError(err)
	}
	return out, nil
}

// optionalTime reads an XML Schema dateTimeStamp from m[k], zero when
// absent.
func optionalTime(m map[string]any, k string) (time.Time, error) {
	t, err := dataintegrity.OptionalTime(m, k)
	return t, diError(err)
}

func decodeMultikey(s string) (crypto.PublicKey, error) { return dataintegrity.DecodeMultikey(s) }

// sourceDIKeys resolves verification methods against a source's keys, as
// for VC 1.1: "<source id>#<kid>" (a did:web or URL issuer) or
// "did:key:<mk>#<mk>" (a did:key issuer) whose kid (the fragment, or the
// whole method id) is a key in the source's JWKS. When the method's
// fragment or did:key identifier is itself a Multikey, it must be that
// very key.
func sourceDIKeys(src *trust.Source, keys jwk.Set) diKeyResolver {
	return func(vm, _ string) (crypto.PublicKey, error) {
		controller, fragment, ok := strings.Cut(vm, "#")
		if !ok || controller != src.ID || fragment == "" {
			return nil, fmt.Errorf("%w: verification method is not the issuer's", ErrUnknownIssuer)
		}
		k, ok := keys.LookupKeyID(vm)
		if !ok {
			k, ok = keys.LookupKeyID(fragment)
		}
		if !ok {
			return nil, fmt.Errorf("%w: verification method not in the framework", ErrUnknownIssuer)
		}
		var raw any
		if err := k.Raw(&raw); err != nil {
			return nil, ErrUnknownIssuer
		}
		var pub crypto.PublicKey
		switch p := raw.(type) {
		case ed25519.PublicKey:
			pub = p
		case *ecdsa.PublicKey:
			pub = p
		default:
			return nil, fmt.Errorf("%w: unsupported key type", ErrSignature)
		}
		named := []string{fragment}
		if mk, ok := strings.CutPrefix(controller, "did:key:"); ok {
			named = append(named, mk)
		}
		for _, n := range named {
			if !strings.HasPrefix(n, "z") {
				continue
			}
			if mk, err := decodeMultikey(n); err == nil && !samePublicKey(mk, pub) {
				return nil, fmt.Errorf("%w: the verification method names another key", ErrSignature)
			}
		}
		return pub, nil
	}
}

func samePublicKey(a, b crypto.PublicKey) bool {
	ea, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && ea.Equal(b)
}

// verifyDIVC verifies a W3C VC 2.0 JSON-LD credential with a
// DataIntegrityProof from an accredited source: contexts only the
// embedded ones (the VC 2.0 context first, then Mustard's PID context),
// no context below the top level, issuer listed for "ldp-vc", an accepted
// type, validUntil required and validFrom / validUntil around now, exactly
// one credentialSubject object, then the proof (verifyDataIntegrity) under
// a key of the source's JWKS. Claims map through the framework as for
// every source.
func verifyDIVC(fw *trust.Document, keysOf sourceKeys, raw string, now time.Time) (*Source, error) {
	if len(raw) == 0 || len(raw) > MaxSourceSize {
		return nil, ErrSource
	}
	loader, err := diLoader()
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(strings.NewReader(raw))
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil || dec.More() {
		return nil, ErrSource
	}
	var ctxs []string
	if list, ok := doc["@context"].([]any); ok {
		for _, c := range list {
			s, ok := c.(string)
			if !ok {
				return nil, fmt.Errorf("%w: @context must be a list of known context URLs", ErrSource)
			}
			ctxs = append(ctxs, s)
		}
	}
	if len(ctxs) == 0 || ctxs[0] != CredentialsV2Context {
		return nil, fmt.Errorf("%w: @context must start with %s", ErrSource, CredentialsV2Context)
	}
	for _, c := range ctxs {
		if _, ok := loader.docs[c]; !ok {
			return nil, fmt.Errorf("%w: unknown JSON-LD context", ErrSource)
		}
	}
	if err := noNestedContext(doc, 0); err != nil {
		return nil, err
	}
	issuer, _ := doc["issuer"].(string)
	if o, ok := doc["issuer"].(map[string]any); ok {
		issuer, _ = o["id"].(string)
	}
	src, err := fw.Source(issuer)
	if err != nil || !src.Accepts(trust.FormatLDPVC) {
		return nil, ErrUnknownIssuer
	}
	types, _ := doc["type"].([]any)
	if !slices.Contains(types, any("VerifiableCredential")) ||
		!slices.ContainsFunc(types, func(t any) bool { s, _ := t.(string); return slices.Contains(src.Types, s) }) {
		return nil, fmt.Errorf("%w: type not accepted", ErrSource)
	}
	validFrom, err := optionalTime(doc, "validFrom")
	if err != nil {
		return nil, err
	}
	validUntil, err := optionalTime(doc, "validUntil")
	if err != nil {
		return nil, err
	}
	if validUntil.IsZero() {
		// Mustard accepts only source credentials that expire.
		return nil, fmt.Errorf("%w: no validUntil", ErrSource)
	}
	if !validFrom.IsZero() && validFrom.After(now.Add(diSkew)) {
		return nil, fmt.Errorf("%w: not yet valid", ErrExpired)
	}
	if !now.Before(validUntil) {
		return nil, ErrExpired
	}
	subj, ok := doc["credentialSubject"].(map[string]any)
	if list, isList := doc["credentialSubject"].([]any); isList && len(list) == 1 {
		subj, ok = list[0].(map[string]any)
	}
	if !ok {
		return nil, fmt.Errorf("%w: exactly one credentialSubject object", ErrSource)
	}
	keys, err := keysOf(src)
	if err != nil {
		return nil, ErrUnknownIssuer
	}
	proof, err := verifyDataIntegrity(doc, loader, sourceDIKeys(src, keys), now)
	if err != nil {
		return nil, err
	}
	sub, _ := subj["id"].(string)
	claims := make(map[string]any, len(subj))
	for k, v := range subj {
		if k != "id" {
			claims[k] = v
		}
	}
	out, err := fromClaims(src, trust.FormatLDPVC, sub, claims)
	if err != nil {
		return nil, err
	}
	out.IssuedAt = validFrom
	if out.IssuedAt.IsZero() {
		out.IssuedAt = proof.Created
	}
	return out, nil
}

// noNestedContext refuses a @context anywhere below the top level (the
// vocabulary is the framework's, not the credential's) and JSON nested
// deeper than diMaxDepth.
func noNestedContext(v any, depth int) error {
	if depth > diMaxDepth {
		return fmt.Errorf("%w: nested too deeply", ErrSource)
	}
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if k == "@context" {
				if depth > 0 {
					return fmt.Errorf("%w: @context below the top level", ErrSource)
				}
				continue
			}
			if err := noNestedContext(e, depth+1); err != nil {
				return err
			}
		}
	case []any:
		for _, e := range x {
			if err := noNestedContext(e, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}
