package integration

import (
	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/mustard-id/mustard/issuer"
)

func issuerPoP(key jwk.Key, nonce string) (string, error) {
	return issuer.SignPossession(key, env.srv.Issuer.ID(), nonce)
}
