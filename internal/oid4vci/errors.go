package oid4vci

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// Error is an OAuth-style error of the token and credential endpoints
// (RFC 6749 §5.2, RFC 6750 §3.1, OpenID4VCI §8.3.1.2): a code, a
// description a wallet may show, and optionally the Mustard problem type
// that says more precisely why (for instance a stale registry root).
type Error struct {
	Code        string `json:"error"`
	Description string `json:"error_description,omitempty"`
	// Problem is the urn:mustard:problem: type behind the error, when a
	// Mustard check refused the request (an extension member).
	Problem string `json:"mustard_problem_type,omitempty"`
	status  int
}

func (e *Error) Error() string {
	if e.Problem != "" {
		return fmt.Sprintf("oid4vci: %s: %s (%s)", e.Code, e.Description, e.Problem)
	}
	return fmt.Sprintf("oid4vci: %s: %s", e.Code, e.Description)
}

// Status is the HTTP status the error is sent with.
func (e *Error) Status() int {
	if e.status == 0 {
		return http.StatusBadRequest
	}
	return e.status
}

// Is makes errors.Is match errors of the same code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// With returns a copy of e with description d.
func (e *Error) With(d string) *Error {
	c := *e
	c.Description = d
	return &c
}

// Error codes. Token endpoint: RFC 6749 §5.2 and OpenID4VCI §6.3;
// credential endpoint: OpenID4VCI §8.3.1.2 and RFC 6750 §3.1.
var (
	ErrInvalidRequest       = &Error{Code: "invalid_request", Description: "The request is missing a parameter or is malformed"}
	ErrInvalidGrant         = &Error{Code: "invalid_grant", Description: "The pre-authorized code is unknown, expired or used, or the transaction code is wrong"}
	ErrUnsupportedGrantType = &Error{Code: "unsupported_grant_type", Description: "Only the pre-authorized code grant is supported"}
	ErrInvalidToken         = &Error{Code: "invalid_token", Description: "The access token is missing, unknown, expired or used", status: http.StatusUnauthorized}
	ErrCredentialRequest    = &Error{Code: "invalid_credential_request", Description: "The credential request is malformed"}
	ErrUnknownConfiguration = &Error{Code: "unknown_credential_configuration", Description: "The credential configuration is unknown or not granted by this access token"}
	ErrUnknownIdentifier    = &Error{Code: "unknown_credential_identifier", Description: "This issuer does not issue credential identifiers"}
	ErrInvalidProof         = &Error{Code: "invalid_proof", Description: "The key proof is missing or invalid"}
	ErrInvalidNonce         = &Error{Code: "invalid_nonce", Description: "The key proof's nonce is unknown, expired or used: get a fresh c_nonce"}
	ErrEncryption           = &Error{Code: "invalid_encryption_parameters", Description: "This issuer does not encrypt credential responses"}
	ErrDenied               = &Error{Code: "credential_request_denied", Description: "The credential request was not accepted"}
	ErrServer               = &Error{Code: "server_error", Description: "Internal error", status: http.StatusInternalServerError}
)

func writeError(w http.ResponseWriter, e *Error) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if e.Status() == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	}
	w.WriteHeader(e.Status())
	_ = json.NewEncoder(w).Encode(e)
}
