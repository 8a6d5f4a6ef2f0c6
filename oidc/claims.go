package oidc

import (
	"errors"
	"fmt"

	"github.com/mustard-id/mustard/verifier"
)

// Errors.
var (
	// ErrSector is returned for a persona of another sector than the client's.
	ErrSector = errors.New("oidc: the persona is for another sector than the client's")
	// ErrClaimUnavailable is returned when the persona does not prove or
	// disclose a requested claim (OIDC Core §5.5: an essential claim the OP
	// cannot provide makes the request fail).
	ErrClaimUnavailable = errors.New("oidc: the persona does not prove a requested claim")
)

// acrValues are the eIDAS levels of assurance, the acr values Mustard uses
// for its grades.
var acrValues = map[string]string{
	"low":         "http://eidas.europa.eu/LoA/low",
	"substantial": "http://eidas.europa.eu/LoA/substantial",
	"high":        "http://eidas.europa.eu/LoA/high",
}

// ACR returns the acr value of a grade name.
func ACR(grade string) (string, bool) {
	v, ok := acrValues[grade]
	return v, ok
}

// IDClaims is what an ID token says about a persona to one client.
type IDClaims struct {
	Subject string         // pairwise: the persona's pseudonym for the client's sector
	ACR     string         // the persona's grade as an eIDAS level
	Claims  map[string]any // only the requested claims, each proven or disclosed
}

// ClaimsFor maps a verified presentation to ID token claims for a client of
// sector, releasing only the requested claims, and failing when one of
// them is not proven.
func ClaimsFor(v *verifier.Verdict, sector string, requested []string) (*IDClaims, error) {
	if v == nil || v.Scope == "" || v.Scope != sector {
		return nil, ErrSector
	}
	acr, ok := ACR(v.Grade)
	if !ok {
		return nil, fmt.Errorf("oidc: unknown grade %q", v.Grade)
	}
	out := &IDClaims{Subject: v.Pseudonym, ACR: acr, Claims: map[string]any{}}
	for _, name := range requested {
		val, ok := v.Claims[name]
		if !ok || val == nil || val == false || val == "" {
			return nil, fmt.Errorf("%w: %s", ErrClaimUnavailable, name)
		}
		out.Claims[name] = val
	}
	return out, nil
}
