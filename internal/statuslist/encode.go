package statuslist

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
)

// Size bounds for decoding outside input.
const (
	// MaxEncoded bounds an encoded list (lst or encodedList) in bytes.
	MaxEncoded = 1 << 20
	// MaxDecoded bounds a decompressed list in bytes (64 Mi entries of
	// 1 bit); a larger list is refused before it is fully inflated.
	MaxDecoded = 8 << 20
	// MinBitstringEntries is the W3C minimum: "The uncompressed bitstring
	// MUST be at least 16KB in size" (Bitstring Status List v1.0 §2.1,
	// 131,072 entries).
	MinBitstringEntries = 131072
)

var b64 = base64.RawURLEncoding.Strict()

// isB64URL reports whether s is non-empty base64url without padding; the
// decoder alone would skip CR and LF.
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

// ListJSON is a Token Status List's "status_list" object.
type ListJSON struct {
	// Bits is "bits": "REQUIRED. JSON Integer specifying the number of
	// bits per Referenced Token in the compressed byte array (lst). The
	// allowed values for bits are 1, 2, 4 and 8."
	Bits int `json:"bits"`
	// Lst is "lst": "REQUIRED. JSON String that contains the status values
	// for all the Referenced Tokens it conveys statuses for. The value
	// MUST be the base64url-encoded compressed byte array".
	Lst string `json:"lst"`
	// AggregationURI is "aggregation_uri", OPTIONAL.
	AggregationURI string `json:"aggregation_uri,omitempty"`
}

// EncodeToken returns l as a Token Status List object: its bytes ZLIB
// compressed (the draft: "compressed using DEFLATE [RFC1951] with the
// ZLIB [RFC1950] data format") at the best compression, base64url without
// padding. l must be LSBFirst.
func (l *List) EncodeToken() (ListJSON, error) {
	if l.order != LSBFirst {
		return ListJSON{}, errors.New("statuslist: a token status list is LSB first")
	}
	var buf bytes.Buffer
	zw, err := zlib.NewWriterLevel(&buf, zlib.BestCompression)
	if err != nil {
		return ListJSON{}, err
	}
	if _, err := zw.Write(l.data); err != nil {
		return ListJSON{}, err
	}
	if err := zw.Close(); err != nil {
		return ListJSON{}, err
	}
	return ListJSON{Bits: l.bits, Lst: b64.EncodeToString(buf.Bytes())}, nil
}

// DecodeToken decodes a Token Status List object.
func DecodeToken(j ListJSON) (*List, error) {
	if !validBits(j.Bits) {
		return nil, fmt.Errorf("%w: bits must be 1, 2, 4 or 8", ErrMalformed)
	}
	if len(j.Lst) > MaxEncoded || !isB64URL(j.Lst) {
		return nil, fmt.Errorf("%w: lst is not bounded base64url", ErrMalformed)
	}
	raw, err := b64.DecodeString(j.Lst)
	if err != nil {
		return nil, fmt.Errorf("%w: lst: %v", ErrMalformed, err)
	}
	src := bytes.NewReader(raw)
	zr, err := zlib.NewReader(src)
	if err != nil {
		return nil, fmt.Errorf("%w: lst: %v", ErrMalformed, err)
	}
	data, err := inflate(zr, src)
	if err != nil {
		return nil, err
	}
	return fromBytes(j.Bits, LSBFirst, data), nil
}

// inflate reads a whole stream, at most MaxDecoded bytes, and checks that
// nothing follows it in src (the readers read src byte-wise, as a
// bytes.Reader is an io.ByteReader, so what they leave is what follows).
func inflate(r io.ReadCloser, src *bytes.Reader) ([]byte, error) {
	defer r.Close()
	data, err := io.ReadAll(io.LimitReader(r, MaxDecoded+1))
	if err != nil {
		return nil, fmt.Errorf("%w: decompress: %v", ErrMalformed, err)
	}
	if len(data) > MaxDecoded {
		return nil, fmt.Errorf("%w: the list inflates to more than %d bytes", ErrMalformed, MaxDecoded)
	}
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: empty list", ErrMalformed)
	}
	if src.Len() != 0 {
		return nil, fmt.Errorf("%w: data after the compressed list", ErrMalformed)
	}
	return data, nil
}

// EncodeBitstring returns l (MSBFirst) as a Bitstring Status List
// encodedList: "the GZIP-compressed [RFC1952], base-64-url-encoded (with
// no padding) value of the bitstring", "a Multibase-encoded base64url
// (with no padding) string" (Bitstring Status List v1.0 §2.1), so it
// starts with "u". The list must have at least MinBitstringEntries.
func (l *List) EncodeBitstring() (string, error) {
	if l.order != MSBFirst {
		return "", errors.New("statuslist: a bitstring status list is MSB first")
	}
	if len(l.data)*8 < MinBitstringEntries {
		return "", fmt.Errorf("statuslist: a bitstring must be at least %d bits", MinBitstringEntries)
	}
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return "", err
	}
	if _, err := zw.Write(l.data); err != nil {
		return "", err
	}
	if err := zw.Close(); err != nil {
		return "", err
	}
	return "u" + b64.EncodeToString(buf.Bytes()), nil
}

// DecodeBitstring decodes an encodedList whose entries are statusSize
// bits (1 for the revocation and suspension purposes). It refuses a
// bitstring shorter than the W3C minimum of 131,072 bits.
func DecodeBitstring(encoded string, statusSize int) (*List, error) {
	if !validBits(statusSize) {
		return nil, fmt.Errorf("%w: statusSize must be 1, 2, 4 or 8", ErrMalformed)
	}
	if len(encoded) > MaxEncoded || len(encoded) < 2 || encoded[0] != 'u' || !isB64URL(encoded[1:]) {
		return nil, fmt.Errorf("%w: encodedList is not multibase base64url", ErrMalformed)
	}
	raw, err := b64.DecodeString(encoded[1:])
	if err != nil {
		return nil, fmt.Errorf("%w: encodedList: %v", ErrMalformed, err)
	}
	src := bytes.NewReader(raw)
	zr, err := gzip.NewReader(src)
	if err != nil {
		return nil, fmt.Errorf("%w: encodedList: %v", ErrMalformed, err)
	}
	// One member only: a concatenated second member is trailing data.
	zr.Multistream(false)
	data, err := inflate(zr, src)
	if err != nil {
		return nil, err
	}
	if len(data)*8 < MinBitstringEntries {
		return nil, fmt.Errorf("%w: the bitstring is shorter than %d bits", ErrMalformed, MinBitstringEntries)
	}
	return fromBytes(statusSize, MSBFirst, data), nil
}
