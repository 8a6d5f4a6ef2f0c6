package sdjwt

import "errors"

// Sentinel errors. Every error returned by Issue, Parse, Present and Verify
// wraps exactly one of them (with errors.Is), so that callers can map a
// failure to a stable reason code. Messages never contain claim values.
var (
	// ErrInvalidRequest reports a programming error on the caller's side:
	// an invalid IssueRequest, PresentRequest or VerifyOptions. It says
	// nothing about the token.
	ErrInvalidRequest = errors.New("invalid request")

	// ErrMalformed reports input that is not a well-formed SD-JWT: wrong
	// separators or characters, bad base64url, invalid or duplicate-keyed
	// JSON, a missing or mistyped required claim, or a size bound exceeded.
	ErrMalformed = errors.New("malformed SD-JWT")

	// ErrAlgorithm reports a refused algorithm: "none", an HMAC algorithm,
	// an algorithm outside the allowed list, an algorithm that does not
	// match the verification key's type, or an unsupported _sd_alg.
	ErrAlgorithm = errors.New("algorithm not allowed")

	// ErrUnknownKey reports that no issuer key could be resolved for the
	// token's iss and kid.
	ErrUnknownKey = errors.New("unknown issuer key")

	// ErrSignature reports that the Issuer-signed JWT's signature does not
	// verify with the resolved issuer key.
	ErrSignature = errors.New("invalid issuer signature")

	// ErrType reports an unexpected typ header on the Issuer-signed JWT or
	// an unexpected vct claim.
	ErrType = errors.New("unexpected credential type")

	// ErrExpired reports that the credential's exp has passed.
	ErrExpired = errors.New("credential expired")

	// ErrNotYetValid reports a credential whose nbf or iat lies in the
	// future.
	ErrNotYetValid = errors.New("credential not yet valid")

	// ErrDisclosure reports a Disclosure that does not belong to the
	// Issuer-signed JWT: its digest is absent, present more than once, of
	// the wrong kind, colliding with an existing claim, duplicated, or
	// disclosing a claim that must always be visible.
	ErrDisclosure = errors.New("invalid disclosure")

	// ErrKeyBinding reports a missing or invalid Key Binding JWT: absent
	// when required, no usable cnf key, wrong typ, bad signature, or an
	// sd_hash that does not match the presented SD-JWT.
	ErrKeyBinding = errors.New("invalid key binding")

	// ErrAudience reports a Key Binding JWT whose aud is not the expected
	// audience.
	ErrAudience = errors.New("key binding audience mismatch")

	// ErrNonce reports a Key Binding JWT whose nonce is not the expected
	// nonce.
	ErrNonce = errors.New("key binding nonce mismatch")

	// ErrStale reports a Key Binding JWT whose iat is outside the accepted
	// window (older than MaxAge, or in the future), or whose own exp or
	// nbf fails.
	ErrStale = errors.New("key binding not fresh")
)

// IsKeyBindingError reports whether err is one of the failures of the Key
// Binding JWT: ErrKeyBinding, ErrAudience, ErrNonce or ErrStale.
func IsKeyBindingError(err error) bool {
	return errors.Is(err, ErrKeyBinding) || errors.Is(err, ErrAudience) ||
		errors.Is(err, ErrNonce) || errors.Is(err, ErrStale)
}
