package sdjwt

import (
	"context"
	"crypto/subtle"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// DefaultMaxAge is how old a Key Binding JWT may be when
// VerifyOptions.MaxAge is zero.
const DefaultMaxAge = 5 * time.Minute

// maxProcessDepth bounds the nesting reached while inserting Disclosures,
// which can nest inside each other.
const maxProcessDepth = 4 * maxDepth

// VerifyOptions is a Verifier's policy for one presentation.
type VerifyOptions struct {
	// IssuerKeys resolves the issuer's public key. Required.
	IssuerKeys KeyResolver
	// VCT, if set, is the only credential type (vct claim) accepted.
	VCT string
	// RequireKeyBinding demands a valid Key Binding JWT. RFC 9901 §7.3
	// step 1: this decision "MUST NOT be based on whether a Key Binding JWT
	// is provided by the Holder or not". A Key Binding JWT that is present
	// is always checked, even when not required.
	RequireKeyBinding bool
	// Audience is the expected aud of the Key Binding JWT, this Verifier.
	// Required with RequireKeyBinding.
	Audience string
	// Nonce is the expected nonce of the Key Binding JWT, the one this
	// Verifier issued for the transaction. Required with RequireKeyBinding.
	Nonce string
	// Now is the verification time; zero means time.Now().
	Now time.Time
	// Skew is the clock skew tolerated on exp, nbf and iat.
	Skew time.Duration
	// MaxAge is how old the Key Binding JWT's iat may be; zero means
	// DefaultMaxAge.
	MaxAge time.Duration
	// AllowedAlgs are the JWS algorithms accepted for the Issuer-signed JWT
	// and the Key Binding JWT; empty means ES256 and EdDSA. "none" and
	// HMAC algorithms are refused whatever the list says, and every
	// algorithm must also match its key's type.
	AllowedAlgs []jwa.SignatureAlgorithm
}

// Verified is a verified presentation.
type Verified struct {
	// Claims is the Processed SD-JWT Payload (RFC 9901 §7.1): the
	// issuer-signed claims with the disclosed claims inserted where their
	// digests were, and _sd, _sd_alg and undisclosed array elements
	// removed. Numbers are float64, as with encoding/json.
	Claims map[string]any
	// Disclosed are the JSON Pointers (RFC 6901) of the claims that
	// Disclosures revealed, sorted; "/given_name" for a top-level claim.
	Disclosed []string
	// Issuer is the iss claim.
	Issuer string
	// VCT is the vct claim.
	VCT string
	// IssuedAt, NotBefore and Expiry are the iat, nbf and exp claims; zero
	// when absent.
	IssuedAt, NotBefore, Expiry time.Time
	// HolderKey is the public key in cnf.jwk, or nil.
	HolderKey jwk.Key
	// KeyBound reports that a Key Binding JWT was verified.
	KeyBound bool
	// KeyID and Algorithm are the kid and alg headers of the Issuer-signed
	// JWT.
	KeyID     string
	Algorithm jwa.SignatureAlgorithm
}

// profile is what distinguishes an SD-JWT VC from a plain SD-JWT.
type profile struct {
	types []string // accepted typ values of the Issuer-signed JWT
	vc    bool     // apply draft-ietf-oauth-sd-jwt-vc claim rules
}

var sdJWTVC = profile{types: []string{TypeSDJWTVC, typeLegacySDJWTVC}, vc: true}

// Verify verifies an SD-JWT VC presentation, with or without Key Binding,
// following RFC 9901 §7.1 and §7.3 and draft-ietf-oauth-sd-jwt-vc §3.4. It
// returns the processed claims, or an error wrapping one of the sentinel
// errors of this package.
func Verify(ctx context.Context, presentation string, opts VerifyOptions) (*Verified, error) {
	v, err := verify(ctx, presentation, opts, sdJWTVC)
	if err != nil {
		return nil, fmt.Errorf("sdjwt: verify: %w", err)
	}
	return v, nil
}

func verify(ctx context.Context, s string, opts VerifyOptions, prof profile) (*Verified, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	allowed := opts.AllowedAlgs
	if len(allowed) == 0 {
		allowed = defaultAlgorithms
	}

	// RFC 9901 §7.1 step 1: "Separate the SD-JWT into the Issuer-signed JWT
	// and the Disclosures (if any)."
	t, jwt, kb, err := parse(s)
	if err != nil {
		return nil, err
	}

	// Step 2: "Validate the Issuer-signed JWT".
	alg, kid, err := joseHeader(jwt.header)
	if err != nil {
		return nil, err
	}
	// RFC 8725 §3.11: explicitly typed JWTs are checked before use.
	if !typeIn(jwt.header, prof.types) {
		return nil, fmt.Errorf("%w: typ header", ErrType)
	}
	// Step 2.1: "Ensure that a signing algorithm was used that was deemed
	// secure for the application. [...] The none algorithm MUST NOT be
	// accepted."
	if refusedAlgorithm(alg) || !algorithmIn(alg, allowed) {
		return nil, fmt.Errorf("%w: alg %q", ErrAlgorithm, alg)
	}
	iss, err := optionalString(jwt.payload, claimIss)
	if err != nil {
		return nil, err
	}
	if prof.vc && iss == "" {
		// The SD-JWT VC draft makes iss optional when x5c names the issuer;
		// Mustard resolves issuer keys by iss, so it is required here.
		return nil, fmt.Errorf("%w: iss claim is required", ErrMalformed)
	}
	// Step 2.3: "Validate the Issuer and that the signing key belongs to
	// this Issuer." The resolver answers for the binding of key to iss.
	key, err := opts.IssuerKeys(ctx, KeyQuery{Issuer: iss, KeyID: kid, Algorithm: jwa.SignatureAlgorithm(alg)})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnknownKey, err)
	}
	if key == nil {
		return nil, ErrUnknownKey
	}
	pub, err := checkAlgorithm(alg, key, allowed)
	if err != nil {
		return nil, err
	}
	// Step 2.2: "Validate the signature over the Issuer-signed JWT per
	// Section 5.2 of [RFC7515]."
	if _, err := jws.Verify([]byte(t.JWT), jws.WithKey(jwa.SignatureAlgorithm(alg), pub)); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSignature, err)
	}
	// Step 2.4: "Check that the _sd_alg claim value is understood and the
	// hash algorithm is deemed secure".
	if err := checkSDAlg(jwt.payload); err != nil {
		return nil, err
	}

	// Steps 3 to 5: process the Disclosures.
	p := newProcessor(t.Disclosures)
	claims, err := p.object(jwt.payload, "", 0)
	if err != nil {
		return nil, err
	}
	// Step 5: "If any Disclosure was not referenced by digest value in the
	// Issuer-signed JWT (directly or recursively via other Disclosures),
	// the SD-JWT MUST be rejected."
	for i, used := range p.used {
		if !used {
			return nil, fmt.Errorf("%w: disclosure %s is not referenced by the issuer-signed JWT", ErrDisclosure, t.Disclosures[i].Digest)
		}
	}
	// Step 3.6: "Remove the claim _sd_alg from the SD-JWT payload."
	delete(claims, keySDAlg)

	v := &Verified{Claims: claims, Disclosed: p.disclosed, Issuer: iss, KeyID: kid, Algorithm: jwa.SignatureAlgorithm(alg)}
	slices.Sort(v.Disclosed)

	if prof.vc {
		// draft-ietf-oauth-sd-jwt-vc §3.2.2.2: iss, nbf, exp, cnf, vct,
		// vct#integrity and status "MUST NOT be included in the
		// Disclosures".
		for _, name := range p.topLevel {
			if alwaysVisible[name] {
				return nil, fmt.Errorf("%w: an always-visible claim was selectively disclosed", ErrDisclosure)
			}
		}
		// draft-ietf-oauth-sd-jwt-vc §3.2.2.1: vct is REQUIRED; "The vct
		// value MUST be a case-sensitive string".
		if v.VCT, err = optionalString(claims, claimVCT); err != nil {
			return nil, err
		}
		if v.VCT == "" {
			return nil, fmt.Errorf("%w: vct claim is required", ErrMalformed)
		}
		if opts.VCT != "" && v.VCT != opts.VCT {
			return nil, fmt.Errorf("%w: vct", ErrType)
		}
	}

	// Step 6: "Check that the SD-JWT is valid using claims such as nbf,
	// exp, and aud in the processed payload, if present."
	if v.IssuedAt, v.NotBefore, v.Expiry, err = validity(claims, now, opts.Skew); err != nil {
		return nil, err
	}

	// Other confirmation methods than jwk leave HolderKey nil, and a Key
	// Binding JWT then fails.
	if raw, ok := claims[claimCnf]; ok {
		cnf, ok := raw.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%w: cnf claim is not an object", ErrMalformed)
		}
		if _, ok := cnf["jwk"]; ok {
			if v.HolderKey, err = holderKey(claims); err != nil {
				return nil, err
			}
		}
	}

	// RFC 9901 §7.3 step 2: "If Key Binding is required and the Holder has
	// provided an SD-JWT (without Key Binding), the Verifier MUST reject
	// the presentation."
	if kb == nil {
		if opts.RequireKeyBinding {
			return nil, fmt.Errorf("%w: a Key Binding JWT is required", ErrKeyBinding)
		}
		return v, nil
	}
	if err := verifyKeyBinding(kb, v.HolderKey, s[:len(s)-len(t.KeyBinding)], opts, allowed, now); err != nil {
		return nil, err
	}
	v.KeyBound = true
	return v, nil
}

func (o *VerifyOptions) validate() error {
	switch {
	case o.IssuerKeys == nil:
		return fmt.Errorf("%w: IssuerKeys is required", ErrInvalidRequest)
	case o.Skew < 0 || o.MaxAge < 0:
		return fmt.Errorf("%w: negative duration", ErrInvalidRequest)
	case o.RequireKeyBinding && (o.Audience == "" || o.Nonce == ""):
		return fmt.Errorf("%w: key binding needs an expected audience and nonce", ErrInvalidRequest)
	}
	return nil
}

// verifyKeyBinding follows RFC 9901 §7.3 step 5. prefix is the presented
// SD-JWT without the KB-JWT: "<Issuer-signed JWT>~<D1>~...~<DN>~".
func verifyKeyBinding(kb *jwsParts, holder jwk.Key, prefix string, opts VerifyOptions, allowed []jwa.SignatureAlgorithm, now time.Time) error {
	// Step 5.1: "Determine the public key for the Holder from the SD-JWT".
	if holder == nil {
		return fmt.Errorf("%w: the credential has no cnf.jwk key", ErrKeyBinding)
	}
	alg, _, err := joseHeader(kb.header)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrKeyBinding, err)
	}
	// Step 5.2: "Ensure that a signing algorithm was used that was deemed
	// secure for the application. [...] The none algorithm MUST NOT be
	// accepted."
	pub, err := checkAlgorithm(alg, holder, allowed)
	if err != nil {
		return err
	}
	// Step 5.3: "Validate the signature over the Key Binding JWT".
	if _, err := jws.Verify([]byte(kb.raw), jws.WithKey(jwa.SignatureAlgorithm(alg), pub)); err != nil {
		return fmt.Errorf("%w: signature: %w", ErrKeyBinding, err)
	}
	// Step 5.4: "Check that the typ of the Key Binding JWT is kb+jwt".
	if !typeIn(kb.header, []string{TypeKeyBinding}) {
		return fmt.Errorf("%w: typ header", ErrKeyBinding)
	}
	// Step 5.5: "Check that the creation time of the Key Binding JWT, as
	// determined by the iat claim, is within an acceptable window."
	iat, ok, err := numericDate(kb.payload, claimIat)
	if err != nil || !ok {
		return fmt.Errorf("%w: iat claim is required", ErrKeyBinding)
	}
	maxAge := opts.MaxAge
	if maxAge == 0 {
		maxAge = DefaultMaxAge
	}
	if iat.After(now.Add(opts.Skew)) {
		return fmt.Errorf("%w: iat is in the future", ErrStale)
	}
	if now.Sub(iat) > maxAge+opts.Skew {
		return fmt.Errorf("%w: iat is older than %s", ErrStale, maxAge)
	}
	// Step 5.8: "Check that the Key Binding JWT is a valid JWT in all other
	// respects".
	if _, _, _, err := validity(kb.payload, now, opts.Skew); err != nil {
		return fmt.Errorf("%w: %w", ErrStale, err)
	}
	// Step 5.6: "Determine that the Key Binding JWT is bound to the current
	// transaction and was created for this Verifier (replay detection) by
	// validating nonce and aud claims."
	nonce, ok := kb.payload[claimNonce].(string)
	if !ok {
		return fmt.Errorf("%w: nonce claim is required", ErrKeyBinding)
	}
	if opts.Nonce != "" && subtle.ConstantTimeCompare([]byte(nonce), []byte(opts.Nonce)) != 1 {
		return ErrNonce
	}
	// RFC 9901 §4.3: aud "MUST be a single string".
	aud, ok := kb.payload[claimAud].(string)
	if !ok {
		return fmt.Errorf("%w: aud claim must be a single string", ErrKeyBinding)
	}
	if opts.Audience != "" && aud != opts.Audience {
		return ErrAudience
	}
	// Step 5.7: "Calculate the digest over the Issuer-signed JWT and
	// Disclosures as defined in Section 4.3.1 and verify that it matches
	// the value of the sd_hash claim in the Key Binding JWT."
	sdHash, ok := kb.payload[claimSDHash].(string)
	if !ok {
		return fmt.Errorf("%w: sd_hash claim is required", ErrKeyBinding)
	}
	if subtle.ConstantTimeCompare([]byte(sdHash), []byte(digest(prefix))) != 1 {
		return fmt.Errorf("%w: sd_hash does not match the presented SD-JWT", ErrKeyBinding)
	}
	return nil
}

// joseHeader returns the alg and kid of a JWS header and refuses header
// parameters this package does not implement.
func joseHeader(h map[string]any) (alg, kid string, err error) {
	alg, ok := h["alg"].(string)
	if !ok {
		return "", "", fmt.Errorf("%w: alg header is required", ErrMalformed)
	}
	if v, ok := h["kid"]; ok {
		if kid, ok = v.(string); !ok {
			return "", "", fmt.Errorf("%w: kid header is not a string", ErrMalformed)
		}
	}
	// RFC 7515 §4.1.11: a recipient that does not understand an extension
	// listed in crit MUST reject the JWS; none is understood here. b64
	// (RFC 7797) would change what is signed.
	if _, ok := h["crit"]; ok {
		return "", "", fmt.Errorf("%w: crit header is not supported", ErrMalformed)
	}
	if _, ok := h["b64"]; ok {
		return "", "", fmt.Errorf("%w: b64 header is not supported", ErrMalformed)
	}
	return alg, kid, nil
}

// typeIn compares the typ header with the accepted media types. RFC 7515
// §4.1.9: typ values are compared case-insensitively and the
// "application/" prefix may be omitted.
func typeIn(h map[string]any, want []string) bool {
	typ, _ := h["typ"].(string)
	typ = strings.TrimPrefix(strings.ToLower(typ), "application/")
	return slices.Contains(want, typ)
}

// validity checks exp, nbf and iat (RFC 7519 §4.1.4 to §4.1.6) at now with
// skew, and returns them.
func validity(claims map[string]any, now time.Time, skew time.Duration) (iat, nbf, exp time.Time, err error) {
	var ok bool
	if exp, ok, err = numericDate(claims, claimExp); err != nil {
		return
	}
	// RFC 7519 §4.1.4: "the current date/time MUST be before the expiration
	// date/time listed in the exp claim."
	if ok && !now.Add(-skew).Before(exp) {
		err = ErrExpired
		return
	}
	if nbf, ok, err = numericDate(claims, claimNbf); err != nil {
		return
	}
	// RFC 7519 §4.1.5: "the current date/time MUST be after or equal to the
	// not-before date/time listed in the nbf claim."
	if ok && now.Add(skew).Before(nbf) {
		err = ErrNotYetValid
		return
	}
	if iat, ok, err = numericDate(claims, claimIat); err != nil {
		return
	}
	if ok && now.Add(skew).Before(iat) {
		err = fmt.Errorf("%w: issued in the future", ErrNotYetValid)
	}
	return
}

// maxNumericDate keeps NumericDate conversion far from int64 overflow
// (year 33658).
const maxNumericDate = 1e12

// numericDate reads a NumericDate claim (RFC 7519 §2).
func numericDate(claims map[string]any, name string) (time.Time, bool, error) {
	v, ok := claims[name]
	if !ok {
		return time.Time{}, false, nil
	}
	f, isNum := v.(float64)
	if !isNum || math.Abs(f) > maxNumericDate {
		return time.Time{}, false, fmt.Errorf("%w: %s claim is not a NumericDate", ErrMalformed, name)
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), true, nil
}

// optionalString reads a claim that, when present, must be a string.
func optionalString(claims map[string]any, name string) (string, error) {
	v, ok := claims[name]
	if !ok {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("%w: %s claim is not a string", ErrMalformed, name)
	}
	return s, nil
}

// processor inserts Disclosures into a payload per RFC 9901 §7.1 step 3.
type processor struct {
	disclosures []Disclosure
	byDigest    map[string]int
	used        []bool
	seen        map[string]struct{}
	disclosed   []string // JSON Pointers of inserted claims
	topLevel    []string // names of claims inserted at the top level
}

func newProcessor(ds []Disclosure) *processor {
	p := &processor{
		disclosures: ds,
		byDigest:    make(map[string]int, len(ds)),
		used:        make([]bool, len(ds)),
		seen:        make(map[string]struct{}),
	}
	for i, d := range ds {
		p.byDigest[d.Digest] = i
	}
	return p
}

// embedded records an embedded digest and returns the index of its
// Disclosure, or -1. Step 4: "If any digest value is encountered more than
// once in the Issuer-signed JWT payload (directly or recursively via other
// Disclosures), the SD-JWT MUST be rejected."
func (p *processor) embedded(dg string) (int, error) {
	if _, dup := p.seen[dg]; dup {
		return -1, fmt.Errorf("%w: digest %s appears more than once", ErrDisclosure, dg)
	}
	p.seen[dg] = struct{}{}
	i, ok := p.byDigest[dg]
	if !ok {
		// Step 3.3.1: "If no such Disclosure can be found, the digest MUST
		// be ignored."
		return -1, nil
	}
	p.used[i] = true
	return i, nil
}

func (p *processor) value(v any, path string, depth int) (any, error) {
	if depth > maxProcessDepth {
		return nil, fmt.Errorf("%w: nested deeper than %d", ErrMalformed, maxProcessDepth)
	}
	switch t := v.(type) {
	case map[string]any:
		return p.object(t, path, depth)
	case []any:
		return p.array(t, path, depth)
	default:
		return v, nil
	}
}

func (p *processor) object(m map[string]any, path string, depth int) (map[string]any, error) {
	out := make(map[string]any, len(m))
	for k, v := range m {
		switch k {
		case keySD:
			continue
		case keyElement:
			// RFC 9901 §4.1: the payload "MUST NOT contain the claims _sd or
			// ... except for the purpose of conveying digests".
			return nil, fmt.Errorf("%w: %q key outside an array element placeholder", ErrMalformed, keyElement)
		}
		pv, err := p.value(v, path+"/"+pointerEscape(k), depth+1)
		if err != nil {
			return nil, err
		}
		out[k] = pv
	}
	raw, ok := m[keySD]
	if !ok {
		return out, nil
	}
	// Step 3.2.1: "Find all objects having an _sd key that refers to an
	// array of strings." (RFC 9901 §4.2.4.1: "The _sd key MUST refer to an
	// array of strings".)
	arr, ok := raw.([]any)
	if !ok {
		return nil, fmt.Errorf("%w: _sd is not an array", ErrMalformed)
	}
	for _, e := range arr {
		dg, ok := e.(string)
		if !ok {
			return nil, fmt.Errorf("%w: _sd holds a non-string", ErrMalformed)
		}
		i, err := p.embedded(dg)
		if err != nil {
			return nil, err
		}
		if i < 0 {
			continue
		}
		d := p.disclosures[i]
		// Step 3.3.2.1: "If the contents of the respective Disclosure is not
		// a JSON array of three elements (salt, claim name, claim value),
		// the SD-JWT MUST be rejected." (Step 3.3.2.2, names _sd and ...,
		// is enforced when the Disclosure is parsed.)
		if d.Element {
			return nil, fmt.Errorf("%w: array-element disclosure %s referenced from _sd", ErrDisclosure, dg)
		}
		// Step 3.3.2.3: "If the claim name already exists at the level of
		// the _sd key, the SD-JWT MUST be rejected."
		if _, exists := out[d.Name]; exists {
			return nil, fmt.Errorf("%w: disclosure %s names a claim that already exists", ErrDisclosure, dg)
		}
		// Steps 3.3.2.4 and 3.3.2.5: insert, then process recursively.
		ptr := path + "/" + pointerEscape(d.Name)
		pv, err := p.value(d.Value, ptr, depth+1)
		if err != nil {
			return nil, err
		}
		out[d.Name] = pv
		p.disclosed = append(p.disclosed, ptr)
		if depth == 0 {
			p.topLevel = append(p.topLevel, d.Name)
		}
	}
	// Step 3.5: "Remove all _sd keys and their contents".
	return out, nil
}

func (p *processor) array(a []any, path string, depth int) ([]any, error) {
	out := make([]any, 0, len(a))
	for _, e := range a {
		if m, ok := e.(map[string]any); ok {
			if _, ok := m[keyElement]; ok {
				// Step 3.2.2: "Find all array elements that are objects with
				// one key, that key being ... and referring to a string."
				dg, ok := elementDigest(m)
				if !ok {
					return nil, fmt.Errorf("%w: malformed array element placeholder", ErrMalformed)
				}
				i, err := p.embedded(dg)
				if err != nil {
					return nil, err
				}
				// Step 3.4: "Remove all array elements for which the digest
				// was not found in the previous step."
				if i < 0 {
					continue
				}
				d := p.disclosures[i]
				// Step 3.3.3.1: "If the contents of the respective
				// Disclosure is not a JSON array of two elements (salt,
				// value), the SD-JWT MUST be rejected."
				if !d.Element {
					return nil, fmt.Errorf("%w: object-property disclosure %s referenced from an array", ErrDisclosure, dg)
				}
				// Steps 3.3.3.2 and 3.3.3.3: replace, then process.
				ptr := path + "/" + strconv.Itoa(len(out))
				pv, err := p.value(d.Value, ptr, depth+1)
				if err != nil {
					return nil, err
				}
				out = append(out, pv)
				p.disclosed = append(p.disclosed, ptr)
				continue
			}
		}
		pv, err := p.value(e, path+"/"+strconv.Itoa(len(out)), depth+1)
		if err != nil {
			return nil, err
		}
		out = append(out, pv)
	}
	return out, nil
}

// pointerEscape escapes a JSON Pointer reference token (RFC 6901 §3).
func pointerEscape(s string) string {
	if !strings.ContainsAny(s, "~/") {
		return s
	}
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}
