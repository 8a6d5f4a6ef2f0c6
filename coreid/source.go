package coreid

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/mustard-id/mustard/internal/trust"
	"github.com/mustard-id/mustard/zk"
)

// MaxSourceSize bounds a source credential.
const MaxSourceSize = 32 << 10

// Source is a verified source credential, normalized.
type Source struct {
	Issuer  *trust.Source
	Format  string            // one of the trust.Format constants
	Subject string            // the person's identifier at the source (SubjectClaim, or "sub"): used only for the uniqueness tag
	Attrs   map[string]string // schema attribute name -> textual value
	Grade   uint64
	// IssuedAt is when the source issued the credential (zero if it does
	// not say); re-enrollment requires one newer than the identity.
	IssuedAt time.Time
	// Nonce is the provider-issued nonce the credential is bound to (an
	// id_token's nonce, an SD-JWT Key Binding JWT's), or empty.
	Nonce string
}

// fromClaims maps a verified credential's subject claims through the
// framework's mapping: the person identifier (SubjectClaim, else sub) and
// the schema attributes. Nothing here is logged or kept but the result.
func fromClaims(src *trust.Source, format, sub string, claims map[string]any) (*Source, error) {
	grade, err := zk.ParseGrade(src.Grade)
	if err != nil {
		return nil, ErrUnknownIssuer
	}
	out := &Source{Issuer: src, Format: format, Subject: sub, Attrs: map[string]string{}, Grade: grade}
	if src.SubjectClaim != "" {
		id, _ := claims[src.SubjectClaim].(string)
		if id == "" {
			return nil, fmt.Errorf("%w: the person identifier claim is missing", ErrSource)
		}
		out.Subject = id
	}
	if out.Subject == "" {
		return nil, fmt.Errorf("%w: no subject", ErrSource)
	}
	for claim, attr := range src.Claims {
		v, ok := claims[claim]
		if !ok {
			continue
		}
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("%w: claim is not a string", ErrSource)
		}
		out.Attrs[attr] = s
	}
	return out, nil
}

// allowedAlgs are the signature algorithms accepted on source credentials:
// never "none", never HMAC.
var allowedAlgs = []jwa.SignatureAlgorithm{jwa.ES256, jwa.ES384, jwa.EdDSA, jwa.RS256, jwa.PS256}

// VerifyJWTVC verifies a JWT-VC (VC Data Model 1.1 JWT encoding, §6.3.1)
// against the trust framework: accredited issuer, signature under one of
// its keys, validity period, accepted type, and the claims it maps.
func VerifyJWTVC(ctx context.Context, fw *trust.Document, raw string, now time.Time) (*Source, error) {
	return verifyJWTVC(ctx, fw, func(src *trust.Source) (jwk.Set, error) { return verificationKeys(src.JWKS) }, raw, now)
}

// sourceKeys returns a source's verification keys.
type sourceKeys func(*trust.Source) (jwk.Set, error)

// parsedSourceKeys parses every source's keys once, for a provider that
// verifies many credentials under one framework.
func parsedSourceKeys(fw *trust.Document) (sourceKeys, error) {
	sets := make(map[string]jwk.Set, len(fw.Sources))
	for _, src := range fw.Sources {
		set, err := verificationKeys(src.JWKS)
		if err != nil {
			return nil, fmt.Errorf("coreid: source %s: %w", src.ID, err)
		}
		sets[src.ID] = set
	}
	return func(src *trust.Source) (jwk.Set, error) {
		set, ok := sets[src.ID]
		if !ok {
			return nil, trust.ErrUnknown
		}
		return set, nil
	}, nil
}

// jwtSource checks a compact JWT's shape (one signature, an allowed
// asymmetric algorithm) and finds the accredited source its unverified
// "iss" names, for format: only to pick the keys that then verify it.
func jwtSource(fw *trust.Document, raw, format string) (*trust.Source, error) {
	if len(raw) == 0 || len(raw) > MaxSourceSize {
		return nil, ErrSource
	}
	msg, err := jws.ParseString(raw)
	if err != nil || len(msg.Signatures()) != 1 {
		return nil, ErrSource
	}
	if !slices.Contains(allowedAlgs, msg.Signatures()[0].ProtectedHeaders().Algorithm()) {
		return nil, ErrSignature
	}
	// Read "iss" only to find the keys; nothing is trusted until verified.
	unverified, err := jwt.ParseString(raw, jwt.WithVerify(false), jwt.WithValidate(false))
	if err != nil {
		return nil, ErrSource
	}
	src, err := fw.Source(unverified.Issuer())
	if err != nil || !src.Accepts(format) {
		return nil, ErrUnknownIssuer
	}
	return src, nil
}

func verifyJWTVC(ctx context.Context, fw *trust.Document, keysOf sourceKeys, raw string, now time.Time) (*Source, error) {
	src, err := jwtSource(fw, raw, trust.FormatJWTVC)
	if err != nil {
		return nil, err
	}
	keys, err := keysOf(src)
	if err != nil {
		return nil, ErrUnknownIssuer
	}
	tok, err := jwt.ParseString(raw,
		jwt.WithKeySet(keys, jws.WithRequireKid(false), jws.WithInferAlgorithmFromKey(false)),
		jwt.WithValidate(true),
		jwt.WithClock(jwt.ClockFunc(func() time.Time { return now })),
		jwt.WithAcceptableSkew(time.Minute),
		jwt.WithIssuer(src.ID),
		jwt.WithRequiredClaim(jwt.ExpirationKey),
	)
	if err != nil {
		if errors.Is(err, jwt.ErrTokenExpired()) || errors.Is(err, jwt.ErrTokenNotYetValid()) || errors.Is(err, jwt.ErrInvalidIssuedAt()) {
			return nil, ErrExpired
		}
		return nil, ErrSignature
	}
	vcRaw, ok := tok.Get("vc")
	if !ok {
		return nil, ErrSource
	}
	vc, ok := vcRaw.(map[string]any)
	if !ok {
		return nil, ErrSource
	}
	types, _ := vc["type"].([]any)
	accepted := false
	for _, t := range types {
		if s, ok := t.(string); ok && slices.Contains(src.Types, s) {
			accepted = true
		}
	}
	if !accepted {
		return nil, fmt.Errorf("%w: type not accepted", ErrSource)
	}
	subj, _ := vc["credentialSubject"].(map[string]any)
	if subj == nil || tok.Subject() == "" {
		return nil, ErrSource
	}
	out, err := fromClaims(src, trust.FormatJWTVC, tok.Subject(), subj)
	if err != nil {
		return nil, err
	}
	out.IssuedAt = tok.IssuedAt()
	return out, nil
}

// verificationKeys keeps the source's asymmetric keys whose "alg" is one
// Mustard accepts: jwx verifies with the key's alg, so an "oct" key or an
// HMAC alg in a framework's JWKS would otherwise let anyone forge.
func verificationKeys(raw []byte) (jwk.Set, error) {
	all, err := trust.KeySet(raw)
	if err != nil {
		return nil, err
	}
	out := jwk.NewSet()
	for i := 0; i < all.Len(); i++ {
		k, _ := all.Key(i)
		alg := jwa.SignatureAlgorithm(k.Algorithm().String())
		if k.KeyType() == jwa.OctetSeq || !slices.Contains(allowedAlgs, alg) {
			continue
		}
		if _, err := k.PublicKey(); err != nil {
			continue
		}
		_ = out.AddKey(k)
	}
	return out, nil
}

// SignJWTVC issues a JWT-VC, as a source issuer does; Mustard uses it for
// its sample government issuer and in tests.
func SignJWTVC(key jwk.Key, iss, sub string, types []string, claims map[string]any, iat, exp time.Time) (string, error) {
	tok := jwt.New()
	_ = tok.Set(jwt.IssuerKey, iss)
	_ = tok.Set(jwt.SubjectKey, sub)
	_ = tok.Set(jwt.IssuedAtKey, iat)
	_ = tok.Set(jwt.NotBeforeKey, iat)
	_ = tok.Set(jwt.ExpirationKey, exp)
	cs := map[string]any{"id": sub}
	for k, v := range claims {
		cs[k] = v
	}
	_ = tok.Set("vc", map[string]any{
		"@context":          []string{"https://www.w3.org/2018/credentials/v1"},
		"type":              append([]string{"VerifiableCredential"}, types...),
		"credentialSubject": cs,
	})
	alg := jwa.ES256
	if key.KeyType() == "OKP" {
		alg = jwa.EdDSA
	}
	b, err := jwt.Sign(tok, jwt.WithKey(alg, key))
	if err != nil {
		return "", fmt.Errorf("coreid: sign jwt-vc: %w", err)
	}
	return string(b), nil
}
