// Package verifier is what a relying party imports to check persona
// credentials: Verify takes a key-bound SD-JWT VC presentation and a
// Policy (audience, nonce, minimum grade, required claims, accepted
// issuers) and returns a Verdict, or an error whose problem type is a
// stable reason code. Handler serves the same as an HTTP verification API
// with single-use nonces, and as an OpenID for Verifiable Presentations
// 1.0 verifier (signed Request Objects by reference, DCQL, direct_post
// and direct_post.jwt responses: oid4vp*.go, dcql.go), whose wallet side
// (ParseAuthorizationLink, ParseRequestObject, EncryptResponse) is here
// too. It imports no provider code.
package verifier
