package issuer

import (
	"context"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/mustard-id/mustard/circuits/persona"
)

// IssueVerified issues a credential for a statement as Issue does once
// the proof, nonce and holder binding have been checked: status tests
// need credentials, not Groth16 proofs (internal/integration issues over
// real proofs).
func (i *Issuer) IssueVerified(ctx context.Context, st *persona.Statement, holder jwk.Key, format string, now time.Time) (*Issued, error) {
	if format == "" {
		format = FormatSDJWT
	}
	return i.issue(ctx, st, holder, format, now)
}
