package sdjwt

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"unicode/utf8"
)

// maxDepth bounds the nesting of any JSON document this package decodes.
const maxDepth = 32

// b64 is the base64url encoding without padding of RFC 7515 §2. Strict
// rejects non-zero trailing bits, so every byte string has exactly one
// accepted encoding; callers check the alphabet first (the decoder would
// otherwise skip CR and LF).
var b64 = base64.RawURLEncoding.Strict()

// isB64URL reports whether s is non-empty and uses only the base64url
// alphabet (RFC 9901 §4, ABNF rule BASE64URL).
func isB64URL(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// decodeSegment decodes one base64url segment (JWS header, payload, or a
// Disclosure).
func decodeSegment(s string) ([]byte, error) {
	if !isB64URL(s) {
		return nil, errors.New("not base64url")
	}
	return b64.DecodeString(s)
}

// decodeJSON decodes b into generic Go values (map[string]any, []any,
// string, float64, bool, nil) and, unlike encoding/json, rejects what a
// security token must not contain: invalid UTF-8, duplicate object keys
// (RFC 7519 §4 allows rejecting them; RFC 8725 §3.10 warns of parser
// differentials), nesting deeper than maxDepth, numbers that overflow a
// float64, and trailing data.
func decodeJSON(b []byte) (any, error) {
	if !utf8.Valid(b) {
		return nil, errors.New("invalid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	v, err := decodeValue(dec, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("trailing data after JSON value")
	}
	return v, nil
}

// decodeObject is decodeJSON for input that must be a JSON object.
func decodeObject(b []byte) (map[string]any, error) {
	v, err := decodeJSON(b)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("not a JSON object")
	}
	return m, nil
}

func decodeValue(dec *json.Decoder, depth int) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		if depth >= maxDepth {
			return nil, fmt.Errorf("JSON nested deeper than %d", maxDepth)
		}
		switch t {
		case '{':
			m := make(map[string]any)
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, ok := kt.(string)
				if !ok {
					return nil, errors.New("object key is not a string")
				}
				if _, dup := m[k]; dup {
					return nil, errors.New("duplicate object key")
				}
				v, err := decodeValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				m[k] = v
			}
			if _, err := dec.Token(); err != nil { // '}'
				return nil, err
			}
			return m, nil
		case '[':
			a := make([]any, 0)
			for dec.More() {
				v, err := decodeValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				a = append(a, v)
			}
			if _, err := dec.Token(); err != nil { // ']'
				return nil, err
			}
			return a, nil
		default:
			return nil, errors.New("unexpected JSON delimiter")
		}
	case json.Number:
		f, err := strconv.ParseFloat(string(t), 64)
		if err != nil || math.IsInf(f, 0) {
			return nil, errors.New("JSON number out of range")
		}
		return f, nil
	case string, bool, nil:
		return t, nil
	default:
		return nil, fmt.Errorf("unexpected JSON token %T", tok)
	}
}

// marshalJSON encodes v as compact JSON without HTML escaping, so that
// "<", ">" and "&" in claim values stay as written.
func marshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// normalize round-trips v through JSON so that values of any Go type
// (structs, typed maps, integers) become the generic form decodeJSON
// produces and can be walked.
func normalize(v any) (any, error) {
	b, err := marshalJSON(v)
	if err != nil {
		return nil, err
	}
	return decodeJSON(b)
}
