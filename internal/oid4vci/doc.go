// Package oid4vci implements OpenID for Verifiable Credential Issuance 1.0
// (final), pre-authorized code flow: the Credential Issuer Metadata
// (§12.2), the OAuth 2.0 Authorization Server Metadata (RFC 8414) of the
// issuer's own token endpoint, Credential Offers by value and by reference
// (§4.1), the Token Endpoint with the pre-authorized code grant (§6), the
// Nonce Endpoint (§7) and the Credential Endpoint (§8) with jwt key
// proofs (Appendix F.1), and the wallet side of the same flow.
//
// A Service runs the protocol and keeps its state (offers, pre-authorized
// codes and access tokens by hash, c_nonces) in a shared store, so that
// several servers can answer one wallet. What a credential says is the
// business of a Minter per credential configuration: the transaction
// identity issuer checks a persona proof there, the development source
// issuer signs a sample credential.
//
// The endpoints answer in the protocol's own error format, an OAuth error
// object {"error", "error_description"} (RFC 6749 §5.2, OpenID4VCI §8.3.1),
// not application/problem+json: wallets written against the
// specification parse these. The offer API of this package (creating an
// offer) is a Mustard API and answers in problem+json.
package oid4vci
