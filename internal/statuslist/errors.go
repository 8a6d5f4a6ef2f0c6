package statuslist

import "errors"

// Sentinel errors; every error of this package wraps one of them.
var (
	// ErrMalformed reports an encoded list or token that does not decode:
	// bad base64url or multibase, bad compression, a size out of bounds,
	// missing or mistyped claims.
	ErrMalformed = errors.New("statuslist: malformed")
	// ErrRange reports an index outside the list.
	ErrRange = errors.New("statuslist: index out of range")
	// ErrSignature reports a Status List Token whose signature, algorithm
	// or key does not verify.
	ErrSignature = errors.New("statuslist: invalid signature")
	// ErrExpired reports a Status List Token past its exp (or issued in
	// the future).
	ErrExpired = errors.New("statuslist: token expired")
	// ErrSubject reports a Status List Token for another list than the
	// one the credential points to.
	ErrSubject = errors.New("statuslist: token is for another list")
)
