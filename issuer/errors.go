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
	ErrStatement     = problem.New("invalid-statement", http.StatusBadRequest, "The proof's statement is malformed")
)
