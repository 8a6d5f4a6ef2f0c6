package oidc

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/verifier"
)

func verdict(scope, pseudonym string) *verifier.Verdict {
	return &verifier.Verdict{Scope: scope, Pseudonym: pseudonym, Grade: "high", Claims: map[string]any{
		"scope": scope, "pseudonym": pseudonym, "grade": "high", "age_over_18": true, "nationality": 528, "family_name": "de Vries",
	}}
}

func TestClaimsFor(t *testing.T) {
	c, err := ClaimsFor(verdict("shop.example", "aa11"), "shop.example", []string{"age_over_18"})
	require.NoError(t, err)
	require.Equal(t, "aa11", c.Subject)
	require.Equal(t, "http://eidas.europa.eu/LoA/high", c.ACR)
	require.Equal(t, map[string]any{"age_over_18": true}, c.Claims, "only what was requested is released")

	// Pairwise: another sector's persona is refused, never re-labelled.
	_, err = ClaimsFor(verdict("forum.example", "bb22"), "shop.example", nil)
	require.ErrorIs(t, err, ErrSector)
	_, err = ClaimsFor(verdict("", "bb22"), "", nil)
	require.ErrorIs(t, err, ErrSector)

	// A claim the persona does not prove fails the request.
	_, err = ClaimsFor(verdict("shop.example", "aa11"), "shop.example", []string{"age_over_21"})
	require.ErrorIs(t, err, ErrClaimUnavailable)
	v := verdict("shop.example", "aa11")
	v.Claims["age_over_18"] = false
	_, err = ClaimsFor(v, "shop.example", []string{"age_over_18"})
	require.ErrorIs(t, err, ErrClaimUnavailable)

	v.Grade = "unknown"
	_, err = ClaimsFor(v, "shop.example", nil)
	require.Error(t, err)
}
