package cli

import (
	"context"
	"errors"
	"slices"

	"github.com/mustard-id/mustard/internal/oid4vci"
	"github.com/mustard-id/mustard/persona"
)

// countSet counts the non-empty strings.
func countSet(v ...string) int {
	n := 0
	for _, s := range v {
		if s != "" {
			n++
		}
	}
	return n
}

// sourceFormats are the OpenID4VCI formats of source credentials the
// enrollment takes from an offer: a JWT-VC (W3C VC 1.1 JWT).
var sourceFormats = []string{"jwt_vc_json"}

// offerCredential redeems a source issuer's credential offer and returns
// the credential, bound to a fresh key of its own: the provider checks
// the issuer's signature and the claims, and the wallet's commitment, not
// this key (the core credential is bound to the core secret and the
// device key instead).
func offerCredential(ctx context.Context, ref *oid4vci.OfferRef, txCode string) (string, error) {
	c := &oid4vci.Client{HTTP: httpClient()}
	offer, err := c.Resolve(ctx, ref)
	if err != nil {
		return "", err
	}
	s, err := c.Redeem(ctx, offer, txCode)
	if err != nil {
		return "", err
	}
	for _, id := range offer.CredentialConfigurationIDs {
		conf, ok := s.Metadata.Configurations[id]
		if !ok || !slices.Contains(sourceFormats, conf.Format) {
			continue
		}
		key, err := persona.NewPersonaKey()
		if err != nil {
			return "", err
		}
		return s.Credential(ctx, id, key, nil)
	}
	return "", errors.New("the offer holds no JWT-VC (jwt_vc_json) credential")
}
