package statuslist

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/mustard-id/mustard/internal/sdjwt"
)

// Media types of draft-ietf-oauth-status-list.
const (
	// TypeToken is the Status List Token's typ: "The JWT MUST contain
	// ... typ (type) header parameter: REQUIRED. The JWT type MUST be
	// statuslist+jwt."
	TypeToken = "statuslist+jwt"
	// MediaType is the HTTP Content-Type of a Status List Token.
	MediaType = "application/statuslist+jwt"
	// MaxToken bounds a Status List Token read from the network.
	MaxToken = MaxEncoded + 8<<10
)

// Token is a Status List Token (a JWT): the list and its metadata.
type Token struct {
	// Issuer is iss: Mustard signs status lists with the key of the issuer
	// whose credentials point into them.
	Issuer string
	// Subject is sub: "REQUIRED. ... MUST specify the URI of the Status
	// List Token. The value MUST be equal to that of the uri claim
	// contained in the status_list claim of the Referenced Token."
	Subject string
	// IssuedAt is iat (REQUIRED), Expiry exp (RECOMMENDED, always set by
	// Sign), TTL ttl: "the maximum amount of time, in seconds, that the
	// Status List Token can be cached by a consumer before a fresh copy
	// SHOULD be retrieved".
	IssuedAt, Expiry time.Time
	TTL              time.Duration
	// List is the status list (LSBFirst).
	List *List
}

type tokenClaims struct {
	Iss        string    `json:"iss,omitempty"`
	Sub        string    `json:"sub"`
	Iat        int64     `json:"iat"`
	Exp        int64     `json:"exp,omitempty"`
	TTL        int64     `json:"ttl,omitempty"`
	StatusList *ListJSON `json:"status_list"`
}

// Sign returns the token as a compact JWS signed by key (ES256 for a
// P-256 key, EdDSA for Ed25519), with typ statuslist+jwt and the key's kid.
func (t *Token) Sign(key jwk.Key) (string, error) {
	if t.Subject == "" || t.List == nil || t.IssuedAt.IsZero() || !t.Expiry.After(t.IssuedAt) || t.TTL < time.Second {
		return "", errors.New("statuslist: sign: subject, list, iat < exp and a ttl of a second or more are required")
	}
	alg, err := signingAlgorithm(key)
	if err != nil {
		return "", err
	}
	lj, err := t.List.EncodeToken()
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(tokenClaims{Iss: t.Issuer, Sub: t.Subject, Iat: t.IssuedAt.Unix(), Exp: t.Expiry.Unix(), TTL: int64(t.TTL / time.Second), StatusList: &lj})
	if err != nil {
		return "", err
	}
	hdr := jws.NewHeaders()
	_ = hdr.Set(jws.TypeKey, TypeToken)
	b, err := jws.Sign(payload, jws.WithKey(alg, key, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		return "", fmt.Errorf("statuslist: sign: %w", err)
	}
	return string(b), nil
}

// ParseOptions says what a Status List Token must be.
type ParseOptions struct {
	// Subject is the uri the Referenced Token names. Required.
	Subject string
	// Issuer, if set, is the only iss accepted, and the issuer whose key
	// Keys is asked for (the Referenced Token's issuer).
	Issuer string
	// Keys resolves the signing key (by issuer and kid). Required.
	Keys sdjwt.KeyResolver
	// Now is the validation time; zero means time.Now().
	Now time.Time
	// Skew is the clock skew tolerated on iat and exp.
	Skew time.Duration
}

// ParseToken verifies a Status List Token and decodes its list. Following
// the draft's validation rules it checks: the typ header, the signature
// (with a key of the Referenced Token's issuer, by an algorithm bound to
// the key type: never "none" or HMAC), that sub equals the uri the
// Referenced Token names, iat and exp, and the status_list object.
func ParseToken(ctx context.Context, raw string, opts ParseOptions) (*Token, error) {
	if opts.Subject == "" || opts.Keys == nil {
		return nil, errors.New("statuslist: parse: a subject and a key resolver are required")
	}
	if len(raw) > MaxToken || strings.Count(raw, ".") != 2 {
		return nil, fmt.Errorf("%w: not a bounded compact JWS", ErrMalformed)
	}
	msg, err := jws.Parse([]byte(raw))
	if err != nil || len(msg.Signatures()) != 1 {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	h := msg.Signatures()[0].ProtectedHeaders()
	if h.Type() != TypeToken {
		return nil, fmt.Errorf("%w: typ is not %s", ErrMalformed, TypeToken)
	}
	var c tokenClaims
	if err := strictJSON(msg.Payload(), &c); err != nil {
		return nil, fmt.Errorf("%w: claims: %v", ErrMalformed, err)
	}
	if c.StatusList == nil || c.Sub == "" || c.Iat <= 0 {
		return nil, fmt.Errorf("%w: sub, iat and status_list are required", ErrMalformed)
	}
	if opts.Issuer != "" && c.Iss != "" && c.Iss != opts.Issuer {
		return nil, fmt.Errorf("%w: iss is not the credential's issuer", ErrSignature)
	}
	iss := opts.Issuer
	if iss == "" {
		iss = c.Iss
	}
	alg := h.Algorithm()
	key, err := opts.Keys(ctx, sdjwt.KeyQuery{Issuer: iss, KeyID: h.KeyID(), Algorithm: alg})
	if err != nil || key == nil {
		return nil, fmt.Errorf("%w: no key for the list's issuer", ErrSignature)
	}
	pub, err := jwk.PublicKeyOf(key)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSignature, err)
	}
	if want, err := verifyAlgorithm(pub); err != nil || want != alg {
		return nil, fmt.Errorf("%w: alg %q does not fit the key", ErrSignature, alg)
	}
	if _, err := jws.Verify([]byte(raw), jws.WithKey(alg, pub)); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSignature, err)
	}
	if c.Sub != opts.Subject {
		return nil, ErrSubject
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	if c.Iat > maxUnix || c.Exp < 0 || c.Exp > maxUnix || c.TTL < 0 || c.TTL > 366*86400 {
		return nil, fmt.Errorf("%w: iat, exp or ttl out of range", ErrMalformed)
	}
	if time.Unix(c.Iat, 0).After(now.Add(opts.Skew)) {
		return nil, fmt.Errorf("%w: issued in the future", ErrExpired)
	}
	if c.Exp != 0 && !now.Add(-opts.Skew).Before(time.Unix(c.Exp, 0)) {
		return nil, ErrExpired
	}
	l, err := DecodeToken(*c.StatusList)
	if err != nil {
		return nil, err
	}
	t := &Token{Issuer: c.Iss, Subject: c.Sub, IssuedAt: time.Unix(c.Iat, 0), TTL: time.Duration(c.TTL) * time.Second, List: l}
	if c.Exp != 0 {
		t.Expiry = time.Unix(c.Exp, 0)
	}
	return t, nil
}

// maxUnix bounds iat and exp (year 36812), far past any real token.
const maxUnix = 1 << 40

// strictJSON decodes one JSON object with nothing after it.
func strictJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data")
	}
	return nil
}

func signingAlgorithm(key jwk.Key) (jwa.SignatureAlgorithm, error) {
	switch k := key.(type) {
	case jwk.ECDSAPrivateKey:
		if k.Crv() == jwa.P256 {
			return jwa.ES256, nil
		}
	case jwk.OKPPrivateKey:
		if k.Crv() == jwa.Ed25519 {
			return jwa.EdDSA, nil
		}
	}
	return "", errors.New("statuslist: the signing key must be a P-256 or Ed25519 private key")
}

// verifyAlgorithm is the one algorithm a public key verifies with.
func verifyAlgorithm(pub jwk.Key) (jwa.SignatureAlgorithm, error) {
	switch k := pub.(type) {
	case jwk.ECDSAPublicKey:
		if k.Crv() == jwa.P256 {
			return jwa.ES256, nil
		}
	case jwk.OKPPublicKey:
		if k.Crv() == jwa.Ed25519 {
			return jwa.EdDSA, nil
		}
	}
	return "", errors.New("unsupported key")
}
