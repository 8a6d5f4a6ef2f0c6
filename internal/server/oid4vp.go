package server

import (
	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/mustard-id/mustard/issuer"
	"github.com/mustard-id/mustard/verifier"
)

// oid4vpClient is the verifier's OpenID4VP identity: the server's did:web
// (its /.well-known/did.json), Request Objects signed with the issuer's
// current key. Without a base URL a did:web cannot be formed: each
// request is then its own redirect_uri: client, unsigned.
func (s *Server) oid4vpClient() *verifier.OID4VPClient {
	did, err := issuer.DIDWeb(s.BaseURL)
	if err != nil {
		return &verifier.OID4VPClient{Name: "Mustard verifier"}
	}
	return &verifier.OID4VPClient{ClientID: verifier.PrefixDID + did, Key: func() jwk.Key { return s.Issuer.SigningKey() }, Name: "Mustard verifier"}
}
