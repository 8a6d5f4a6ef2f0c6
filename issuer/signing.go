package issuer

import "github.com/lestrrat-go/jwx/v2/jwk"

// SigningKey returns the current signing key, the one the did:web
// document lists under its kid: the same process's verifier signs its
// OpenID4VP Request Objects with it as decentralized_identifier:<did:web>
// (typ oauth-authz-req+jwt, so no signature passes for a credential's).
func (i *Issuer) SigningKey() jwk.Key { return i.keys.signer() }
