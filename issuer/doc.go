// Package issuer is the transaction-identity provider. It hands out
// single-use nonces, checks a persona-derivation proof (Groth16, the
// universal persona circuit) against the trust framework's current registry
// root and revocation root, checks that the holder controls the persona key
// the proof commits to, and issues a persona credential: an SD-JWT VC
// (draft-ietf-oauth-sd-jwt-vc) whose subject is the persona key (cnf), with
// the scope, the pseudonym, the proven grade and predicates, and the
// disclosed attributes.
package issuer
