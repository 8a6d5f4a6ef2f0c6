package coreid

import (
	"net/http"

	"github.com/mustard-id/mustard/internal/problem"
)

// Errors, each a stable problem type.
var (
	ErrUnknownIssuer = problem.New("unknown-source-issuer", http.StatusForbidden, "The source credential's issuer is not accredited in the trust framework")
	ErrSignature     = problem.New("invalid-source-signature", http.StatusUnauthorized, "The source credential's signature does not verify")
	ErrExpired       = problem.New("source-expired", http.StatusUnauthorized, "The source credential has expired or is not yet valid")
	ErrSource        = problem.New("invalid-source-credential", http.StatusBadRequest, "The source credential is malformed or lacks required claims")
	ErrDuplicate     = problem.New("duplicate-identity", http.StatusConflict, "This person already holds a core identity")
	ErrCommitment    = problem.New("invalid-commitment", http.StatusBadRequest, "The holder commitment is not a field element")
	ErrHolderBinding = problem.New("invalid-holder-binding", http.StatusUnauthorized, "The source credential is holder-bound and its key binding does not verify for this provider and nonce")
	ErrNonce         = problem.New("invalid-nonce", http.StatusUnauthorized, "The nonce is unknown, expired or already used")
	ErrAudience      = problem.New("wrong-audience", http.StatusUnauthorized, "The source credential was not issued for this provider")
	ErrInconsistent  = problem.New("inconsistent-sources", http.StatusBadRequest, "The source credentials do not describe one person")
	ErrStaleSource   = problem.New("stale-source", http.StatusConflict, "Re-enrollment needs a source credential issued after the current core identity")
	ErrNotEnrolled   = problem.New("not-enrolled", http.StatusNotFound, "No core identity matches")
	ErrUnauthorized  = problem.New("unauthorized", http.StatusUnauthorized, "Missing or wrong credentials for this operation")
	ErrSince         = problem.New("invalid-since", http.StatusBadRequest, "since must be between 0 and the number of revoked entries")
	ErrLimit         = problem.New("invalid-limit", http.StatusBadRequest, "limit must be a positive number of entries")
	ErrFormat        = problem.New("unsupported-source-format", http.StatusBadRequest, "The source credential format is not supported")
)
