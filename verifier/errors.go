package verifier

import (
	"errors"
	"net/http"

	"github.com/mustard-id/mustard/internal/problem"
	"github.com/mustard-id/mustard/internal/sdjwt"
)

// Errors: each is a stable reason code (its problem type).
var (
	ErrMalformed         = problem.New("malformed-presentation", http.StatusBadRequest, "The presentation is not a well-formed SD-JWT")
	ErrUntrusted         = problem.New("untrusted-issuer", http.StatusUnauthorized, "The credential's issuer is not accredited in the trust framework")
	ErrSignature         = problem.New("invalid-credential-signature", http.StatusUnauthorized, "The credential's signature does not verify")
	ErrExpired           = problem.New("credential-expired", http.StatusUnauthorized, "The credential has expired or is not yet valid")
	ErrDisclosure        = problem.New("invalid-disclosure", http.StatusUnauthorized, "A disclosure does not match the credential")
	ErrKeyBinding        = problem.New("invalid-key-binding", http.StatusUnauthorized, "The key-binding JWT is missing, stale or not signed by the persona key")
	ErrAudience          = problem.New("wrong-audience", http.StatusUnauthorized, "The presentation is for another audience")
	ErrNonce             = problem.New("invalid-nonce", http.StatusUnauthorized, "The nonce is unknown, expired, already used or not the one presented")
	ErrScope             = problem.New("wrong-scope", http.StatusForbidden, "The persona is for another scope than the relying party's")
	ErrGrade             = problem.New("grade-too-low", http.StatusForbidden, "The persona's grade is below the policy's minimum")
	ErrMissingClaim      = problem.New("missing-claim", http.StatusForbidden, "The presentation does not disclose a claim the policy requires")
	ErrWrongType         = problem.New("wrong-credential-type", http.StatusUnauthorized, "The credential is not a Mustard persona credential")
	ErrRevoked           = problem.New("revoked", http.StatusUnauthorized, "The credential has been revoked")
	ErrSuspended         = problem.New("suspended", http.StatusUnauthorized, "The credential is suspended")
	ErrStatusUnavailable = problem.New("status-unavailable", http.StatusServiceUnavailable, "The credential's status list could not be fetched or verified")
	ErrUnknownRequest    = problem.New("unknown-presentation-request", http.StatusNotFound, "No such presentation request, or it expired")
	ErrInvalidRequest    = problem.New("invalid-verification-request", http.StatusBadRequest, "The verification request is malformed")
	ErrNotDeviceBound    = problem.New("not-device-bound", http.StatusForbidden, "The persona is not device-bound (its proof is not of the device-bound circuit this verifier trusts), and the policy requires one")
)

// reason maps the SD-JWT layer's errors to reason codes.
func reason(err error) error {
	switch {
	case errors.Is(err, sdjwt.ErrAudience):
		return ErrAudience
	case errors.Is(err, sdjwt.ErrNonce):
		return ErrNonce
	case sdjwt.IsKeyBindingError(err):
		return ErrKeyBinding
	case errors.Is(err, sdjwt.ErrUnknownKey):
		return ErrUntrusted
	case errors.Is(err, sdjwt.ErrSignature), errors.Is(err, sdjwt.ErrAlgorithm):
		return ErrSignature
	case errors.Is(err, sdjwt.ErrExpired), errors.Is(err, sdjwt.ErrNotYetValid):
		return ErrExpired
	case errors.Is(err, sdjwt.ErrDisclosure):
		return ErrDisclosure
	case errors.Is(err, sdjwt.ErrAudience):
		return ErrAudience
	case errors.Is(err, sdjwt.ErrNonce):
		return ErrNonce
	case errors.Is(err, sdjwt.ErrType):
		return ErrWrongType
	case errors.Is(err, sdjwt.ErrKeyBinding), errors.Is(err, sdjwt.ErrStale):
		return ErrKeyBinding
	}
	return ErrMalformed
}

// IsPolicyError reports whether err is a policy failure (the presentation
// is authentic but does not satisfy the policy).
func IsPolicyError(err error) bool {
	return errors.Is(err, ErrGrade) || errors.Is(err, ErrMissingClaim) || errors.Is(err, ErrScope) || errors.Is(err, ErrNotDeviceBound)
}
