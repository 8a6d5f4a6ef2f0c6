// Package sdjwt issues, presents and verifies SD-JWT-based Verifiable
// Credentials: Selective Disclosure for JSON Web Tokens (RFC 9901) in the
// SD-JWT VC profile (draft-ietf-oauth-sd-jwt-vc). The transaction-identity
// provider issues persona credentials with it; wallets present them; the
// relying-party verifier checks them. All JOSE work (signing, signature
// verification, JWK handling) is done by lestrrat-go/jwx/v2.
//
// # Flow
//
//	cred, _ := sdjwt.Issue(sdjwt.IssueRequest{...}, issuerKey)      // issuer
//	tok, _ := sdjwt.Parse(cred)                                     // holder
//	pres, _ := tok.Present(sdjwt.PresentRequest{...}, holderKey)    // holder
//	v, err := sdjwt.Verify(ctx, pres, sdjwt.VerifyOptions{...})     // verifier
//
// # What is implemented, by section
//
//   - RFC 9901 §4: compact serialization "<JWT>~<D1>~...~<DN>~[<KB-JWT>]"
//     (Parse, Token.Serialize).
//   - §4.1, §4.1.1: the Issuer-signed JWT, _sd_alg; only sha-256 is issued
//     or accepted (absent _sd_alg means sha-256).
//   - §4.1.2: Key Binding through cnf.jwk (RFC 7800 §3.2); Issue always
//     binds the credential to a Holder key.
//   - §4.2.1 to §4.2.5: Disclosures with 128-bit salts, digests, _sd arrays
//     sorted to hide claim order, decoy digests. Issue makes top-level
//     claims disclosable; Verify also processes nested, array-element
//     ("...") and recursive Disclosures (§4.2.6, §6).
//   - §4.3, §4.3.1: the Key Binding JWT (typ kb+jwt; iat, aud, nonce,
//     sd_hash over "<JWT>~<D1>~...~<DN>~").
//   - §7.1, §7.2, §7.3: verification by Holder and Verifier, in order;
//     each step is quoted where it is implemented.
//   - draft-ietf-oauth-sd-jwt-vc §3.2: typ dc+sd-jwt (vc+sd-jwt still
//     accepted, as the draft recommends for a transition), vct required,
//     iss, nbf, exp, cnf, vct, vct#integrity and status never selectively
//     disclosable; §3.4: verification.
//
// Not implemented: the JWS JSON serialization (RFC 9901 §8, OPTIONAL),
// hash algorithms other than sha-256, cnf methods other than jwk, and
// Issuer key discovery (JWT VC Issuer Metadata, x5c): a KeyResolver
// supplies the key.
//
// # Security choices
//
// The JWS algorithm is bound to the key: an issuer or holder key verifies
// only with the algorithm its type and curve imply (ES256 for P-256,
// EdDSA for Ed25519, ...), "none" and HMAC are always refused, and the
// header's alg must also be in the allowed list (RFC 8725 §3.1). Input is
// bounded (MaxSize, MaxDisclosures, JSON depth) and decoded strictly: no
// padding or whitespace in base64url, no duplicate JSON keys, valid UTF-8
// only. Nonces and sd_hash are compared in constant time. Errors wrap the
// sentinels of errors.go and never contain claim values; Token and
// Disclosure print without their content.
package sdjwt
