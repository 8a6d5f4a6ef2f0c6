package issuer

import (
	"net/http"

	"github.com/mustard-id/mustard/internal/problem"
)

// Errors, each a stable problem type.
var (
	ErrNonce         = problem.New("invalid-nonce", http.StatusBadRequest, "The nonce is unknown, expired or already used")
	ErrProof         = problem.New("invalid-proof", http.StatusBadRequest, "The persona proof does not verify for its statement")
	ErrVerifyingKey  = problem.New("unknown-verifying-key", http.StatusBadRequest, "The proof names a verifying key this issuer does not use")
	ErrRegistryRoot  = problem.New("stale-registry-root", http.StatusConflict, "The proof is for another registry root: refresh the trust framework")
	ErrRevocation    = problem.New("stale-revocation-root", http.StatusConflict, "The proof is for another revocation root: refresh the revocation snapshot")
	ErrClock         = problem.New("proof-time-skew", http.StatusBadRequest, "The proof's time is too far from the issuer's clock")
	ErrHolderBinding = problem.New("invalid-holder-binding", http.StatusBadRequest, "The persona key does not match the proof's holder binding or its proof of possession")
	ErrScope         = problem.New("scope-mismatch", http.StatusBadRequest, "The proof is for another scope than the nonce was issued for")
	ErrFormat        = problem.New("unsupported-credential-format", http.StatusBadRequest, "The credential format must be dc+sd-jwt, jwt_vc_json, jwt_vc_json_v1, ldp_vc or ldp_vc_v1")
	ErrStatement     = problem.New("invalid-statement", http.StatusBadRequest, "The proof's statement is malformed")
)

// Status errors, each a stable problem type.
var (
	ErrStatusIndex   = problem.New("unknown-status-index", http.StatusNotFound, "No credential has that status index")
	ErrStatusFinal   = problem.New("status-final", http.StatusConflict, "The credential is revoked; revocation is final")
	ErrStatusValue   = problem.New("invalid-status", http.StatusBadRequest, "The status must be valid, suspended or revoked")
	ErrNoStatusList  = problem.New("unknown-status-list", http.StatusNotFound, "No such status list")
	ErrAdmin         = problem.New("admin-unauthorized", http.StatusUnauthorized, "The administrative API needs a valid bearer token")
	ErrCredential    = problem.New("invalid-credential", http.StatusBadRequest, "The credential is not a valid persona credential of this issuer")
	ErrRevocationPoP = problem.New("invalid-revocation-proof", http.StatusUnauthorized, "The revocation request is not signed by the credential's persona key for this issuer and nonce")
)

// Validation service errors.
var (
	ErrValidation       = problem.New("invalid-validation-request", http.StatusBadRequest, "Send exactly one of credential and pseudonym, bounded")
	ErrUnknownPseudonym = problem.New("unknown-pseudonym", http.StatusNotFound, "This issuer has issued no credential for that pseudonym")
)
