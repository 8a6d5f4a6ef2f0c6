package sdjwt

import (
	"errors"
	"fmt"
	"strings"
)

// Bounds on untrusted input. Parse and Verify reject anything larger
// before doing any cryptography.
const (
	// MaxSize is the largest SD-JWT or SD-JWT+KB accepted, in bytes.
	MaxSize = 64 << 10
	// MaxDisclosures is the largest number of Disclosures accepted in one
	// SD-JWT, and the most Issue creates.
	MaxDisclosures = 64
)

// separator joins the parts of an SD-JWT (RFC 9901 §4).
const separator = "~"

// Token is an SD-JWT or SD-JWT+KB split into its parts (RFC 9901 §4). Parse
// checks its syntax only: nothing in a Token is verified.
type Token struct {
	// JWT is the Issuer-signed JWT in compact serialization.
	JWT string
	// Disclosures are the Disclosures in the order they appear.
	Disclosures []Disclosure
	// KeyBinding is the Key Binding JWT in compact serialization, or empty
	// for an SD-JWT without Key Binding.
	KeyBinding string
}

// jwsParts is a compact JWS with its header and payload decoded.
type jwsParts struct {
	raw     string
	header  map[string]any
	payload map[string]any
}

// Parse splits s into the Issuer-signed JWT, the Disclosures and the
// optional Key Binding JWT, and decodes each Disclosure. It is strict and
// bounded: s must be at most MaxSize bytes with at most MaxDisclosures
// Disclosures, every part must be base64url (no padding, no whitespace),
// every decoded JSON text valid UTF-8 without duplicate keys, and no
// Disclosure may appear twice.
//
// RFC 9901 §4: "The order of the concatenated parts MUST be the
// Issuer-signed JWT, a tilde character, zero or more Disclosures each
// followed by a tilde character, and lastly the optional Key Binding JWT.
// In the case that there is no Key Binding JWT, the last element MUST be an
// empty string and the last separating tilde character MUST NOT be
// omitted."
func Parse(s string) (*Token, error) {
	t, _, _, err := parse(s)
	if err != nil {
		return nil, fmt.Errorf("sdjwt: parse: %w", err)
	}
	return t, nil
}

// parse is Parse returning also the decoded Issuer-signed JWT and Key
// Binding JWT (nil when absent), for Verify.
func parse(s string) (*Token, *jwsParts, *jwsParts, error) {
	if len(s) > MaxSize {
		return nil, nil, nil, fmt.Errorf("%w: larger than %d bytes", ErrMalformed, MaxSize)
	}
	n := strings.Count(s, separator)
	if n == 0 {
		return nil, nil, nil, fmt.Errorf("%w: no %q separator", ErrMalformed, separator)
	}
	if n-1 > MaxDisclosures {
		return nil, nil, nil, fmt.Errorf("%w: more than %d disclosures", ErrMalformed, MaxDisclosures)
	}
	parts := strings.Split(s, separator)
	jwt, err := parseJWS(parts[0])
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%w: issuer-signed JWT: %w", ErrMalformed, err)
	}
	t := &Token{JWT: parts[0], KeyBinding: parts[len(parts)-1]}
	var kb *jwsParts
	if t.KeyBinding != "" {
		if kb, err = parseJWS(t.KeyBinding); err != nil {
			return nil, nil, nil, fmt.Errorf("%w: key binding JWT: %w", ErrMalformed, err)
		}
	}
	encoded := parts[1 : len(parts)-1]
	if len(encoded) > 0 {
		t.Disclosures = make([]Disclosure, 0, len(encoded))
	}
	seen := make(map[string]struct{}, len(encoded))
	for i, e := range encoded {
		d, err := parseDisclosure(e)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("%w: disclosure %d: %w", ErrMalformed, i+1, err)
		}
		// RFC 9901 §4: "A Holder MUST NOT [...] send a Disclosure more than
		// once."
		if _, dup := seen[d.Digest]; dup {
			return nil, nil, nil, fmt.Errorf("%w: disclosure %d is repeated", ErrDisclosure, i+1)
		}
		seen[d.Digest] = struct{}{}
		t.Disclosures = append(t.Disclosures, d)
	}
	return t, jwt, kb, nil
}

// parseJWS splits a compact JWS (RFC 7515 §7.1) and decodes its header and
// payload, which must be JSON objects. The signature may be empty here so
// that an "alg":"none" token is refused for its algorithm.
func parseJWS(s string) (*jwsParts, error) {
	segs := strings.Split(s, ".")
	if len(segs) != 3 {
		return nil, errors.New("not a compact JWS")
	}
	if segs[2] != "" && !isB64URL(segs[2]) {
		return nil, errors.New("signature is not base64url")
	}
	hb, err := decodeSegment(segs[0])
	if err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	header, err := decodeObject(hb)
	if err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	pb, err := decodeSegment(segs[1])
	if err != nil {
		return nil, fmt.Errorf("payload: %w", err)
	}
	payload, err := decodeObject(pb)
	if err != nil {
		return nil, fmt.Errorf("payload: %w", err)
	}
	return &jwsParts{raw: s, header: header, payload: payload}, nil
}

// Serialize reassembles the token: "<JWT>~<D1>~...~<DN>~<KB-JWT>", with
// the Key Binding JWT empty when absent.
func (t Token) Serialize() string {
	var b strings.Builder
	b.WriteString(t.JWT)
	b.WriteString(separator)
	for _, d := range t.Disclosures {
		b.WriteString(d.Encoded)
		b.WriteString(separator)
	}
	b.WriteString(t.KeyBinding)
	return b.String()
}

// String describes the token without its content, so that a token that
// reaches a log line does not leak claims.
func (t Token) String() string {
	return fmt.Sprintf("sdjwt.Token{disclosures: %d, key binding: %t}", len(t.Disclosures), t.KeyBinding != "")
}

// GoString is String, for %#v.
func (t Token) GoString() string { return t.String() }
