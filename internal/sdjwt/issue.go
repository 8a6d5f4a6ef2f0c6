package sdjwt

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// Media types (explicit typing, RFC 8725 §3.11).
const (
	// TypeSDJWTVC is the typ of an SD-JWT VC's Issuer-signed JWT.
	// draft-ietf-oauth-sd-jwt-vc §3.2.1: "The typ header parameter of the
	// SD-JWT MUST be present. The typ value MUST use dc+sd-jwt."
	TypeSDJWTVC = "dc+sd-jwt"
	// TypeKeyBinding is the typ of a Key Binding JWT. RFC 9901 §4.3: "typ:
	// REQUIRED. MUST be kb+jwt".
	TypeKeyBinding = "kb+jwt"

	// typeLegacySDJWTVC is the typ SD-JWT VC used until November 2024;
	// draft-ietf-oauth-sd-jwt-vc §3.2.1: "it is RECOMMENDED that Verifiers
	// and Holders accept both vc+sd-jwt and dc+sd-jwt as the value of the
	// typ header for a reasonable transitional period."
	typeLegacySDJWTVC = "vc+sd-jwt"
)

// JWT claim names this package sets or checks.
const (
	claimIss       = "iss"
	claimVCT       = "vct"
	claimIat       = "iat"
	claimNbf       = "nbf"
	claimExp       = "exp"
	claimCnf       = "cnf"
	claimStatus    = "status"
	claimAud       = "aud"
	claimNonce     = "nonce"
	claimSDHash    = "sd_hash"
	claimVCTIntegr = "vct#integrity"
)

// alwaysVisible are the claims draft-ietf-oauth-sd-jwt-vc §3.2.2.2 says
// "MUST NOT be included in the Disclosures, i.e., cannot be selectively
// disclosed".
var alwaysVisible = map[string]bool{
	claimIss: true, claimNbf: true, claimExp: true, claimCnf: true,
	claimVCT: true, claimVCTIntegr: true, claimStatus: true,
}

// IssueRequest is what an issuer puts in an SD-JWT VC.
type IssueRequest struct {
	// Issuer is the iss claim. Required.
	Issuer string
	// VCT is the credential type, the vct claim. Required
	// (draft-ietf-oauth-sd-jwt-vc §3.2.2.1).
	VCT string
	// IssuedAt is the iat claim; zero means now.
	IssuedAt time.Time
	// NotBefore is the nbf claim; zero omits it.
	NotBefore time.Time
	// Expiry is the exp claim. Required: persona credentials always expire.
	Expiry time.Time
	// Status is the status claim (e.g. a status_list reference); nil omits
	// it.
	Status map[string]any
	// Claims are further always-visible claims. They must not use the
	// names set from the fields above, nor _sd, _sd_alg or "...", at any
	// depth.
	Claims map[string]any
	// Disclosable are the top-level claims the Holder may choose to reveal;
	// each becomes one Disclosure. Their names must not be always-visible
	// claims (iss, nbf, exp, cnf, vct, vct#integrity, status), iat, or
	// names in Claims.
	Disclosable map[string]any
	// HolderKey is the Holder's P-256 or Ed25519 key, placed (public part
	// only) in cnf.jwk. Required: persona credentials are always key-bound.
	HolderKey jwk.Key
	// Decoys is the number of decoy digests to add to _sd (RFC 9901
	// §4.2.5), at most MaxDisclosures.
	Decoys int
}

// Issue creates an SD-JWT VC, signed by signer (a P-256 private key signs
// with ES256, an Ed25519 one with EdDSA; its kid, if any, goes into the
// header), and returns it with all its Disclosures:
// "<Issuer-signed JWT>~<D1>~...~<DN>~".
func Issue(req IssueRequest, signer jwk.Key) (string, error) {
	s, err := issue(req, signer, TypeSDJWTVC)
	if err != nil {
		return "", fmt.Errorf("sdjwt: issue: %w", err)
	}
	return s, nil
}

func issue(req IssueRequest, signer jwk.Key, typ string) (string, error) {
	alg, err := signingAlgorithm(signer)
	if err != nil {
		return "", err
	}
	if req.IssuedAt.IsZero() {
		req.IssuedAt = time.Now()
	}
	if err := req.validate(); err != nil {
		return "", fmt.Errorf("%w: %w", ErrInvalidRequest, err)
	}
	holder, err := jwk.PublicKeyOf(req.HolderKey)
	if err != nil {
		return "", fmt.Errorf("%w: holder key: %w", ErrInvalidRequest, err)
	}
	cnfJWK, err := normalize(holder)
	if err != nil {
		return "", fmt.Errorf("%w: holder key: %w", ErrInvalidRequest, err)
	}

	payload := make(map[string]any, len(req.Claims)+9)
	for name, v := range req.Claims {
		nv, err := normalize(v)
		if err != nil {
			return "", fmt.Errorf("%w: claim %q: %w", ErrInvalidRequest, name, err)
		}
		if err := checkNoReservedKeys(nv); err != nil {
			return "", fmt.Errorf("%w: claim %q: %w", ErrInvalidRequest, name, err)
		}
		payload[name] = nv
	}
	payload[claimIss] = req.Issuer
	payload[claimVCT] = req.VCT
	payload[claimIat] = req.IssuedAt.Unix()
	payload[claimExp] = req.Expiry.Unix()
	if !req.NotBefore.IsZero() {
		payload[claimNbf] = req.NotBefore.Unix()
	}
	if req.Status != nil {
		st, err := normalize(req.Status)
		if err == nil {
			err = checkNoReservedKeys(st)
		}
		if err != nil {
			return "", fmt.Errorf("%w: status: %w", ErrInvalidRequest, err)
		}
		payload[claimStatus] = st
	}
	payload[claimCnf] = map[string]any{"jwk": cnfJWK}

	names := slices.Sorted(maps.Keys(req.Disclosable))
	disclosures := make([]Disclosure, 0, len(names))
	digests := make([]string, 0, len(names)+req.Decoys)
	for _, name := range names {
		nv, err := normalize(req.Disclosable[name])
		if err != nil {
			return "", fmt.Errorf("%w: disclosable claim %q: %w", ErrInvalidRequest, name, err)
		}
		if err := checkNoReservedKeys(nv); err != nil {
			return "", fmt.Errorf("%w: disclosable claim %q: %w", ErrInvalidRequest, name, err)
		}
		d, err := newDisclosure(name, nv)
		if err != nil {
			return "", err
		}
		disclosures = append(disclosures, d)
		digests = append(digests, d.Digest)
	}
	for range req.Decoys {
		dd, err := decoyDigest()
		if err != nil {
			return "", err
		}
		digests = append(digests, dd)
	}
	if len(digests) > 0 {
		// RFC 9901 §4.2.4.1: "The Issuer MUST hide the original order of
		// the claims in the array. To ensure this, it is RECOMMENDED to
		// shuffle the array of hashes, e.g., by sorting it alphanumerically
		// or randomly".
		slices.Sort(digests)
		payload[keySD] = digests
		payload[keySDAlg] = hashSHA256
	}

	body, err := marshalJSON(payload)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrInvalidRequest, err)
	}
	hdr := jws.NewHeaders()
	if err := hdr.Set(jws.TypeKey, typ); err != nil {
		return "", err
	}
	// RFC 9901 §4.1: the Issuer-signed JWT "MUST be signed using the
	// Issuer's private key. It MUST NOT use the none algorithm."
	signed, err := jws.Sign(body, jws.WithKey(alg, signer, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		return "", err
	}
	out := Token{JWT: string(signed), Disclosures: disclosures}.Serialize()
	if len(out) > MaxSize {
		return "", fmt.Errorf("%w: the credential would exceed %d bytes", ErrInvalidRequest, MaxSize)
	}
	return out, nil
}

func (req *IssueRequest) validate() error {
	switch {
	case req.Issuer == "":
		return errors.New("issuer is required")
	case req.VCT == "":
		return errors.New("vct is required")
	case req.Expiry.IsZero():
		return errors.New("expiry is required")
	case !req.Expiry.After(req.IssuedAt):
		return errors.New("expiry must be after issued-at")
	case !req.NotBefore.IsZero() && !req.Expiry.After(req.NotBefore):
		return errors.New("expiry must be after not-before")
	case req.HolderKey == nil:
		return errors.New("holder key is required")
	case req.Decoys < 0 || req.Decoys > MaxDisclosures:
		return fmt.Errorf("decoys must be between 0 and %d", MaxDisclosures)
	case len(req.Disclosable) > MaxDisclosures:
		return fmt.Errorf("at most %d disclosable claims", MaxDisclosures)
	}
	pub, err := publicKey(req.HolderKey)
	if err != nil {
		return fmt.Errorf("holder key: %w", err)
	}
	if !slices.ContainsFunc(keyAlgorithms(pub), func(a jwa.SignatureAlgorithm) bool {
		return slices.Contains(defaultAlgorithms, a)
	}) {
		return errors.New("holder key must be a P-256 or Ed25519 key")
	}
	for name := range req.Claims {
		// vct#integrity is the one always-visible claim without a field.
		if name != claimVCTIntegr && (alwaysVisible[name] || name == claimIat || reservedName(name)) {
			return fmt.Errorf("claim %q must be set through its field, or not at all", name)
		}
	}
	for name := range req.Disclosable {
		if alwaysVisible[name] || name == claimIat || reservedName(name) {
			return fmt.Errorf("claim %q cannot be selectively disclosable", name)
		}
		if _, dup := req.Claims[name]; dup {
			return fmt.Errorf("claim %q is both always visible and disclosable", name)
		}
	}
	return nil
}

// reservedName reports the names RFC 9901 gives a meaning of their own.
// RFC 9901 §4.1: "The payload MUST NOT contain the claims _sd or ...
// except for the purpose of conveying digests"; §4.1.1: _sd_alg "MUST NOT
// be used in any object nested within the payload."
func reservedName(name string) bool {
	return name == keySD || name == keySDAlg || name == keyElement
}

// checkNoReservedKeys walks a normalized claim value and refuses any
// object key that a Verifier would read as SD-JWT structure.
func checkNoReservedKeys(v any) error {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			if reservedName(k) {
				return fmt.Errorf("contains the reserved key %q", k)
			}
			if err := checkNoReservedKeys(e); err != nil {
				return err
			}
		}
	case []any:
		for _, e := range t {
			if err := checkNoReservedKeys(e); err != nil {
				return err
			}
		}
	}
	return nil
}
