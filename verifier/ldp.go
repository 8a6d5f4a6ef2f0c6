package verifier

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/mustard-id/mustard/internal/dataintegrity"
	"github.com/mustard-id/mustard/internal/sdjwt"
)

// W3C VC 2.0 JSON-LD presentations of persona credentials.
//
// The credential (issuer.FormatLDPVC) carries the issuer's
// DataIntegrityProof; its credentialSubject.id is the persona key's
// did:jwk. The holder presents it inside a VerifiablePresentation signed
// by that key: a DataIntegrityProof (ecdsa-rdfc-2019, persona keys are
// P-256) with purpose authentication, challenge = the relying party's
// nonce, domain = its audience, created within Policy.MaxAge, and
// verification method "<did:jwk>#0" (did:jwk §2: the key's one method).
// That proof plays the key-binding JWT's part in an SD-JWT VC
// presentation.

const (
	typePersona  = "MustardPersonaCredential"
	typeVP       = "VerifiablePresentation"
	typeVC       = "VerifiableCredential"
	maxDIDJWKLen = 1024
)

var ldLoader = sync.OnceValues(func() (*dataintegrity.Loader, error) { return dataintegrity.NewLoader(nil) })

// verifyLDP verifies a JSON-LD presentation (see above) against policy.
func (v *Verifier) verifyLDP(ctx context.Context, raw string, policy Policy) (*Verdict, error) {
	vp, err := parseLDP(raw)
	if err != nil {
		return nil, err
	}
	loader, err := ldLoader()
	if err != nil {
		return nil, err
	}
	now := v.cfg.Now()
	vc := vp.credential
	// The credential first: its issuer, proof and dates.
	issuer, _ := vc["issuer"].(string)
	issProof, err := dataintegrity.Verify(vc, loader, v.issuerKeys(ctx, issuer), dataintegrity.VerifyOptions{Now: now})
	if err != nil {
		return nil, ldpReason(err, ErrSignature)
	}
	if !strings.HasPrefix(issProof.VerificationMethod, issuer+"#") {
		return nil, ErrUntrusted
	}
	validFrom, err1 := dataintegrity.OptionalTime(vc, "validFrom")
	validUntil, err2 := dataintegrity.OptionalTime(vc, "validUntil")
	if err1 != nil || err2 != nil || validUntil.IsZero() {
		return nil, ErrMalformed
	}
	if validFrom.After(now.Add(time.Minute)) || !now.Before(validUntil) {
		return nil, ErrExpired
	}
	// Then the holder: the subject's key signed the presentation for
	// this relying party and nonce, recently.
	// The nonce and audience get their own reason codes; Verify checks
	// them again, as signed.
	proof, _ := vp.doc["proof"].(map[string]any)
	if c, _ := proof["challenge"].(string); subtle.ConstantTimeCompare([]byte(c), []byte(policy.Nonce)) != 1 {
		return nil, ErrNonce
	}
	if d, _ := proof["domain"].(string); d != policy.Audience {
		return nil, ErrAudience
	}
	holderKey, err := didJWKKey(vp.subjectID)
	if err != nil {
		return nil, ErrKeyBinding
	}
	hp, err := dataintegrity.Verify(vp.doc, loader, func(vm, _ string) (crypto.PublicKey, error) {
		if vm != vp.subjectID+"#0" {
			return nil, ErrKeyBinding
		}
		return holderKey, nil
	}, dataintegrity.VerifyOptions{Purpose: dataintegrity.PurposeAuthentication, Challenge: policy.Nonce, Domain: policy.Audience, Now: now})
	if err != nil {
		return nil, ldpReason(err, ErrKeyBinding)
	}
	maxAge := policy.MaxAge
	if maxAge == 0 {
		maxAge = 5 * time.Minute
	}
	if hp.Created.IsZero() || now.Sub(hp.Created) > maxAge {
		return nil, ErrKeyBinding
	}
	claims := make(map[string]any, len(vp.subject))
	for k, x := range vp.subject {
		if k != "id" {
			claims[k] = x
		}
	}
	return v.decide(issuer, claims, validUntil, policy, func() error {
		return v.checkBitstring(ctx, issuer, vc["credentialStatus"])
	})
}

// ldpPresentation is a parsed JSON-LD presentation of one persona
// credential, not yet verified.
type ldpPresentation struct {
	doc        map[string]any
	credential map[string]any
	subject    map[string]any
	subjectID  string
}

// parseLDP checks the shape of a JSON-LD presentation of a persona
// credential (no signature is checked): one JSON object within
// MaxPresentation, the VC 2.0 context, type VerifiablePresentation, a
// holder (if any) that is the subject, exactly one embedded credential
// with the VC 2.0 and persona contexts (nothing else, no context below
// the top level), types VerifiableCredential and MustardPersonaCredential,
// a string issuer and one credentialSubject object whose id is a did:jwk.
func parseLDP(raw string) (*ldpPresentation, error) {
	if len(raw) > MaxPresentation {
		return nil, ErrMalformed
	}
	dec := json.NewDecoder(strings.NewReader(raw))
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil || dec.More() {
		return nil, ErrMalformed
	}
	if !contexts(doc["@context"], dataintegrity.CredentialsV2Context) || !hasType(doc["type"], typeVP) {
		return nil, ErrMalformed
	}
	list, ok := doc["verifiableCredential"].([]any)
	if !ok || len(list) != 1 {
		return nil, ErrMalformed
	}
	vc, ok := list[0].(map[string]any)
	if !ok || !contexts(vc["@context"], dataintegrity.CredentialsV2Context, dataintegrity.PersonaContext) {
		return nil, ErrMalformed
	}
	if !hasType(vc["type"], typeVC) || !hasType(vc["type"], typePersona) {
		return nil, ErrWrongType
	}
	if iss, ok := vc["issuer"].(string); !ok || iss == "" {
		return nil, ErrMalformed
	}
	subj, ok := vc["credentialSubject"].(map[string]any)
	if !ok {
		return nil, ErrMalformed
	}
	id, _ := subj["id"].(string)
	if !strings.HasPrefix(id, "did:jwk:") || len(id) > maxDIDJWKLen {
		return nil, ErrKeyBinding
	}
	if h, ok := doc["holder"]; ok && h != id {
		return nil, ErrKeyBinding
	}
	if err := noInnerContext(doc, vc); err != nil {
		return nil, err
	}
	return &ldpPresentation{doc: doc, credential: vc, subject: subj, subjectID: id}, nil
}

// contexts reports whether v is exactly the list want.
func contexts(v any, want ...string) bool {
	list, ok := v.([]any)
	if !ok || len(list) != len(want) {
		return false
	}
	for n, c := range list {
		if s, ok := c.(string); !ok || s != want[n] {
			return false
		}
	}
	return true
}

func hasType(v any, t string) bool {
	switch x := v.(type) {
	case string:
		return x == t
	case []any:
		return slices.Contains(x, any(t))
	}
	return false
}

// noInnerContext refuses a @context anywhere but at the top of the
// presentation and of its credential (the vocabulary is the embedded
// contexts', not the document's), and JSON nested too deeply.
func noInnerContext(vp, vc map[string]any) error {
	for k, x := range vp {
		if k != "@context" && k != "verifiableCredential" && !contextFree(x, 1) {
			return ErrMalformed
		}
	}
	for k, x := range vc {
		if k != "@context" && !contextFree(x, 2) {
			return ErrMalformed
		}
	}
	return nil
}

func contextFree(v any, depth int) bool {
	if depth > dataintegrity.MaxDepth {
		return false
	}
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if k == "@context" || !contextFree(e, depth+1) {
				return false
			}
		}
	case []any:
		for _, e := range x {
			if !contextFree(e, depth+1) {
				return false
			}
		}
	}
	return true
}

// issuerKeys resolves "<issuer>#<kid>" through the accredited issuers'
// keys (Config.Issuers).
func (v *Verifier) issuerKeys(ctx context.Context, issuer string) dataintegrity.KeyResolver {
	return func(vm, suite string) (crypto.PublicKey, error) {
		kid, ok := strings.CutPrefix(vm, issuer+"#")
		if !ok || kid == "" {
			return nil, ErrUntrusted
		}
		alg := jwa.ES256
		if suite == dataintegrity.EdDSA {
			alg = jwa.EdDSA
		}
		k, err := v.cfg.Issuers(ctx, sdjwt.KeyQuery{Issuer: issuer, KeyID: kid, Algorithm: alg})
		if err != nil || k == nil {
			return nil, ErrUntrusted
		}
		var raw any
		if err := k.Raw(&raw); err != nil {
			return nil, ErrUntrusted
		}
		switch p := raw.(type) {
		case ed25519.PublicKey, *ecdsa.PublicKey:
			return p, nil
		}
		return nil, ErrUntrusted
	}
}

// didJWKKey decodes a did:jwk's P-256 public key (persona keys are P-256).
func didJWKKey(did string) (*ecdsa.PublicKey, error) {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(did, "did:jwk:"))
	if err != nil {
		return nil, err
	}
	k, err := jwk.ParseKey(b)
	if err != nil {
		return nil, err
	}
	if _, private := k.(interface{ D() []byte }); private {
		return nil, errors.New("verifier: a did:jwk holds a public key")
	}
	var pub ecdsa.PublicKey
	if err := k.Raw(&pub); err != nil || pub.Curve != elliptic.P256() {
		return nil, errors.New("verifier: persona keys are P-256")
	}
	if _, err := pub.ECDH(); err != nil {
		return nil, errors.New("verifier: not a valid P-256 point")
	}
	return &pub, nil
}

// ldpReason maps internal/dataintegrity's errors to reason codes: bad
// signatures to sig, validity to ErrExpired, the rest to ErrMalformed;
// the resolvers' own errors are already reason codes.
func ldpReason(err, sig error) error {
	switch {
	case errors.Is(err, dataintegrity.ErrSignature):
		return sig
	case errors.Is(err, dataintegrity.ErrExpired):
		return ErrExpired
	case errors.Is(err, dataintegrity.ErrMalformed):
		return ErrMalformed
	}
	var p interface{ Type() string }
	if errors.As(err, &p) {
		return err
	}
	return ErrMalformed
}
