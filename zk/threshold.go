package zk

import "github.com/consensys/gnark-crypto/ecc/bn254/fr"

// TagRevokedCredential tags the revocation entry of a credential signed by
// several providers (the k-of-n profile, circuits/threshold):
// H(TagRevokedCredential, revNonce) (1). It names the credential, not a
// signer, so that any one of its signers (or its holder) revokes it whole,
// whichever k of its signatures a wallet proves with. The value is kept
// apart from the 0x4d5301-0x4d530f block the single-provider profile and
// its siblings use.
const TagRevokedCredential = 0x4d5320

// CredentialRevocationEntry is H(TagRevokedCredential, revNonce): what the
// framework-wide revocation tree holds for a revoked k-of-n credential.
func CredentialRevocationEntry(revNonce fr.Element) fr.Element {
	return Hash(TagRevokedCredential, revNonce)
}
