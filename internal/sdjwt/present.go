package sdjwt

import (
	"fmt"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// PresentRequest says what a Holder reveals, and to whom.
type PresentRequest struct {
	// Disclose names the top-level claims to reveal. Revealing a claim
	// reveals everything selectively disclosable nested inside it; naming
	// an always-visible claim reveals what is disclosable inside it (array
	// elements, sub-claims), if anything.
	Disclose []string
	// Audience is the Verifier, the KB-JWT's aud.
	Audience string
	// Nonce is the Verifier's nonce, the KB-JWT's nonce.
	Nonce string
	// IssuedAt is the KB-JWT's iat; zero means now.
	IssuedAt time.Time
}

// Present builds a presentation of an issued SD-JWT: the Issuer-signed JWT,
// only the Disclosures req selects, and a Key Binding JWT signed by holder
// over the Verifier's audience and nonce (RFC 9901 §4.3, §7.2). holder must
// be the private key whose public part is the credential's cnf.jwk. With a
// nil holder, Present returns an SD-JWT without Key Binding.
//
// Present does not verify the Issuer's signature; a wallet checks the
// credential with Verify when it receives it (RFC 9901 §7.2).
func (t Token) Present(req PresentRequest, holder jwk.Key) (string, error) {
	s, err := t.present(req, holder, TypeKeyBinding)
	if err != nil {
		return "", fmt.Errorf("sdjwt: present: %w", err)
	}
	return s, nil
}

func (t Token) present(req PresentRequest, holder jwk.Key, kbType string) (string, error) {
	// RFC 9901 §7.2: "The Issuer provides the Holder with an SD-JWT, not an
	// SD-JWT+KB. If the Holder receives an SD-JWT+KB, it MUST be rejected."
	if t.KeyBinding != "" {
		return "", fmt.Errorf("%w: the token already has a Key Binding JWT", ErrInvalidRequest)
	}
	jwt, err := parseJWS(t.JWT)
	if err != nil {
		return "", fmt.Errorf("%w: issuer-signed JWT: %w", ErrMalformed, err)
	}
	if err := checkSDAlg(jwt.payload); err != nil {
		return "", err
	}
	byDigest := make(map[string]int, len(t.Disclosures))
	for i, d := range t.Disclosures {
		byDigest[d.Digest] = i
	}

	// RFC 9901 §7.2 step 2: the Holder MUST "Verify that each selected
	// Disclosure satisfies one of the two following conditions: 1. The hash
	// of the Disclosure is contained in the Issuer-signed JWT claims 2. The
	// hash of the Disclosure is contained in the claim value of another
	// selected Disclosure". Selection starts from the top-level _sd array
	// and follows digests down, so both hold by construction.
	top, _ := jwt.payload[keySD].([]any)
	selected := make([]bool, len(t.Disclosures))
	var follow func(v any)
	follow = func(v any) {
		for _, dg := range embeddedDigests(v) {
			if i, ok := byDigest[dg]; ok && !selected[i] {
				selected[i] = true
				follow(t.Disclosures[i].Value)
			}
		}
	}
	for _, name := range req.Disclose {
		found := false
		for _, e := range top {
			dg, _ := e.(string)
			if i, ok := byDigest[dg]; ok && !t.Disclosures[i].Element && t.Disclosures[i].Name == name {
				found = true
				if !selected[i] {
					selected[i] = true
					follow(t.Disclosures[i].Value)
				}
				break
			}
		}
		if !found {
			visible, ok := jwt.payload[name]
			if !ok || reservedName(name) {
				return "", fmt.Errorf("%w: the credential has no claim %q", ErrInvalidRequest, name)
			}
			follow(visible)
		}
	}

	var b strings.Builder
	b.WriteString(t.JWT)
	b.WriteString(separator)
	for i, d := range t.Disclosures {
		if selected[i] {
			b.WriteString(d.Encoded)
			b.WriteString(separator)
		}
	}
	sdJWT := b.String()
	if holder == nil {
		return sdJWT, nil
	}

	if req.Audience == "" || req.Nonce == "" {
		return "", fmt.Errorf("%w: key binding needs an audience and a nonce", ErrInvalidRequest)
	}
	alg, err := signingAlgorithm(holder)
	if err != nil {
		return "", err
	}
	cnf, err := holderKey(jwt.payload)
	if err != nil {
		return "", err
	}
	// RFC 9901 §4.3.2: the KB-JWT must verify with "the key specified in the
	// SD-JWT as the Holder's public key".
	if !sameKey(holder, cnf) {
		return "", fmt.Errorf("%w: holder key is not the credential's cnf key", ErrKeyBinding)
	}
	iat := req.IssuedAt
	if iat.IsZero() {
		iat = time.Now()
	}
	// RFC 9901 §4.3: iat, aud, nonce and sd_hash are REQUIRED; further
	// claims "SHOULD be avoided".
	body, err := marshalJSON(map[string]any{
		claimIat:    iat.Unix(),
		claimAud:    req.Audience,
		claimNonce:  req.Nonce,
		claimSDHash: digest(sdJWT),
	})
	if err != nil {
		return "", err
	}
	hdr := jws.NewHeaders()
	if err := hdr.Set(jws.TypeKey, kbType); err != nil {
		return "", err
	}
	// Sign with the raw key so that jwx adds no kid header: the cnf claim
	// already names the key.
	var raw any
	if err := holder.Raw(&raw); err != nil {
		return "", err
	}
	kb, err := jws.Sign(body, jws.WithKey(alg, raw, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		return "", err
	}
	return sdJWT + string(kb), nil
}

// embeddedDigests lists the digests directly embedded in v: the strings of
// an _sd array of an object and of {"...": digest} array elements, at any
// depth but not through Disclosures.
func embeddedDigests(v any) []string {
	var out []string
	var walk func(v any)
	walk = func(v any) {
		switch t := v.(type) {
		case map[string]any:
			for k, e := range t {
				if k == keySD {
					if arr, ok := e.([]any); ok {
						for _, s := range arr {
							if dg, ok := s.(string); ok {
								out = append(out, dg)
							}
						}
					}
					continue
				}
				walk(e)
			}
		case []any:
			for _, e := range t {
				if dg, ok := elementDigest(e); ok {
					out = append(out, dg)
					continue
				}
				walk(e)
			}
		}
	}
	walk(v)
	return out
}

// elementDigest recognizes an array-element digest placeholder. RFC 9901
// §4.2.4.2: "For each digest, an object of the form {"...": "<digest>"} is
// added to the array. [...] There MUST NOT be any other keys in the
// object."
func elementDigest(v any) (string, bool) {
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		return "", false
	}
	dg, ok := m[keyElement].(string)
	return dg, ok
}

// checkSDAlg checks the hash function claim. RFC 9901 §4.1.1: "If the
// _sd_alg claim is not present at the top level, a default value of
// sha-256 MUST be used." This package supports sha-256 only.
func checkSDAlg(payload map[string]any) error {
	v, ok := payload[keySDAlg]
	if !ok {
		return nil
	}
	if s, _ := v.(string); s != hashSHA256 {
		return fmt.Errorf("%w: unsupported _sd_alg", ErrAlgorithm)
	}
	return nil
}

// holderKey returns the Holder's public key from the cnf claim (RFC 7800
// §3.2, jwk confirmation method).
func holderKey(payload map[string]any) (jwk.Key, error) {
	cnf, ok := payload[claimCnf].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: no cnf claim", ErrKeyBinding)
	}
	v, ok := cnf["jwk"]
	if !ok {
		return nil, fmt.Errorf("%w: cnf has no jwk member", ErrKeyBinding)
	}
	raw, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: cnf.jwk is not an object", ErrMalformed)
	}
	if _, priv := raw["d"]; priv {
		return nil, fmt.Errorf("%w: cnf.jwk holds private key material", ErrMalformed)
	}
	b, err := marshalJSON(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: cnf.jwk: %w", ErrMalformed, err)
	}
	key, err := jwk.ParseKey(b)
	if err != nil {
		return nil, fmt.Errorf("%w: cnf.jwk: %w", ErrMalformed, err)
	}
	pub, err := publicKey(key)
	if err != nil {
		return nil, fmt.Errorf("%w: cnf.jwk: %w", ErrMalformed, err)
	}
	if keyAlgorithms(pub) == nil {
		return nil, fmt.Errorf("%w: cnf.jwk is not a supported signature key", ErrKeyBinding)
	}
	return pub, nil
}
