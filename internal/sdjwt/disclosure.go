package sdjwt

import (
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
)

// Names with a meaning of their own in SD-JWT (RFC 9901 §4.1, §4.2.4).
const (
	keySD      = "_sd"
	keySDAlg   = "_sd_alg"
	keyElement = "..."
	// hashSHA256 is the only _sd_alg this package issues or accepts.
	// RFC 9901 §4.1.1: "To promote interoperability, implementations MUST
	// support the sha-256 hash algorithm."
	hashSHA256 = "sha-256"
)

// saltBytes is the salt's random length. RFC 9901 §9.3: "The RECOMMENDED
// minimum length of the randomly-generated portion of the salt is 128
// bits."
const saltBytes = 16

// Disclosure is one decoded Disclosure (RFC 9901 §4.2): the salted claim
// an Issuer hides behind a digest and a Holder may reveal.
type Disclosure struct {
	// Encoded is the base64url string as it travels; the digest is taken
	// over exactly these characters.
	Encoded string
	// Digest is the base64url SHA-256 digest of Encoded (RFC 9901 §4.2.3).
	Digest string
	// Salt is the Disclosure's first element.
	Salt string
	// Name is the claim name of an object-property Disclosure; empty for an
	// array element.
	Name string
	// Element is true for an array-element Disclosure ([salt, value],
	// RFC 9901 §4.2.2) and false for an object property ([salt, name,
	// value], RFC 9901 §4.2.1).
	Element bool
	// Value is the disclosed claim value, decoded as encoding/json would
	// into an any (numbers are float64).
	Value any
}

// digest returns the base64url SHA-256 digest of an encoded Disclosure.
// RFC 9901 §4.2.3: "The digest MUST be taken over the US-ASCII bytes of
// the base64url-encoded value that is the Disclosure. [...] The bytes of
// the digest MUST then be base64url-encoded."
func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return b64.EncodeToString(sum[:])
}

// newDisclosure creates an object-property Disclosure with a fresh salt
// (RFC 9901 §4.2.1).
func newDisclosure(name string, value any) (Disclosure, error) {
	var salt [saltBytes]byte
	if _, err := rand.Read(salt[:]); err != nil {
		return Disclosure{}, err
	}
	s := b64.EncodeToString(salt[:])
	raw, err := marshalJSON([]any{s, name, value})
	if err != nil {
		return Disclosure{}, err
	}
	enc := b64.EncodeToString(raw)
	// Decode what was encoded, so that Value has the same form a Verifier
	// will see.
	return parseDisclosure(enc)
}

// decoyDigest returns a digest over random bytes (RFC 9901 §4.2.5: "It is
// RECOMMENDED to create the decoy digests by hashing over a
// cryptographically secure random number.").
func decoyDigest() (string, error) {
	var r [32]byte
	if _, err := rand.Read(r[:]); err != nil {
		return "", err
	}
	sum := sha256.Sum256(r[:])
	return b64.EncodeToString(sum[:]), nil
}

// parseDisclosure decodes one Disclosure and checks its shape.
func parseDisclosure(enc string) (Disclosure, error) {
	raw, err := decodeSegment(enc)
	if err != nil {
		return Disclosure{}, fmt.Errorf("disclosure: %w", err)
	}
	v, err := decodeJSON(raw)
	if err != nil {
		return Disclosure{}, fmt.Errorf("disclosure: %w", err)
	}
	arr, ok := v.([]any)
	if !ok {
		return Disclosure{}, errors.New("disclosure is not a JSON array")
	}
	d := Disclosure{Encoded: enc, Digest: digest(enc)}
	if len(arr) == 0 {
		return Disclosure{}, errors.New("disclosure is empty")
	}
	// RFC 9901 §4.2.1: the salt "MUST be a string".
	if d.Salt, ok = arr[0].(string); !ok || d.Salt == "" {
		return Disclosure{}, errors.New("disclosure salt is not a non-empty string")
	}
	switch len(arr) {
	case 2:
		d.Element = true
		d.Value = arr[1]
	case 3:
		// RFC 9901 §4.2.1: the claim name "MUST be a string and MUST NOT be
		// _sd, ..., or a claim name existing in the object as a permanently
		// disclosed claim."
		if d.Name, ok = arr[1].(string); !ok {
			return Disclosure{}, errors.New("disclosure claim name is not a string")
		}
		if d.Name == keySD || d.Name == keyElement {
			return Disclosure{}, errors.New("disclosure claim name is reserved")
		}
		d.Value = arr[2]
	default:
		return Disclosure{}, fmt.Errorf("disclosure has %d elements, want 2 or 3", len(arr))
	}
	return d, nil
}

// String describes the Disclosure by its digest only, so that a
// Disclosure that reaches a log line does not leak its claim.
func (d Disclosure) String() string {
	return "sdjwt.Disclosure{digest: " + d.Digest + "}"
}

// GoString is String, for %#v.
func (d Disclosure) GoString() string { return d.String() }
