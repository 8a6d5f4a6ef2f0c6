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
)
