package cli

import (
	"bytes"
	"strings"

	"github.com/mustard-id/mustard/internal/sdjwt"
	"github.com/mustard-id/mustard/internal/trust"
	"github.com/mustard-id/mustard/verifier"
)

// issuerKeys resolves an accredited issuer's keys: the ones the framework
// pins, or for a did:web listed without keys (a rotatable issuer) the
// ones its DID document publishes over TLS.
func issuerKeys(iss *trust.Issuer) (sdjwt.KeyResolver, error) {
	if j := bytes.TrimSpace(iss.JWKS); strings.HasPrefix(iss.ID, "did:web:") && (len(j) == 0 || string(j) == "null") {
		id := iss.ID
		return verifier.DIDWebKeys(verifier.DIDWebConfig{Accredited: func(s string) bool { return s == id }})
	}
	set, err := trust.KeySet(iss.JWKS)
	if err != nil {
		return nil, err
	}
	return sdjwt.StaticKeys(iss.ID, set), nil
}
