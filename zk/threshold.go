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

// Tags of the k-of-n profile's organisation registry: the circuit counts
// organisations, not keys, so an organisation holding two accredited keys
// (during a rotation, say) still counts once.
const (
	// TagOrg maps an organisation identifier (bytes) to a field element:
	// HashBytes(TagOrg, id).
	TagOrg = 0x4d5321
	// TagProviderOrg is the organisation registry's leaf:
	// H(TagProviderOrg, pk.x, pk.y, maxGrade, validUntil, org) (5).
	TagProviderOrg = 0x4d5322
)

// OrgID is HashBytes(TagOrg, id): an organisation's identifier in the
// organisation registry.
func OrgID(id string) fr.Element { return HashBytes(TagOrg, []byte(id)) }

// ProviderOrgLeaf is the organisation registry's leaf of a provider key:
// the registry leaf's fields and the key's organisation.
func ProviderOrgLeaf(pk *PublicKey, maxGrade uint64, validUntil int64, org fr.Element) fr.Element {
	return Hash(TagProviderOrg, pk.A.X, pk.A.Y, fr.NewElement(maxGrade), Int64(validUntil), org)
}

// Tags of a k-of-n credential's revocation nonce.
const (
	// TagThresholdNonce: the nonce is H(TagThresholdNonce, C, salt) (2),
	// marked (ThresholdNonce).
	TagThresholdNonce = 0x4d5323
	// TagThresholdSalt: a wallet's salt, H(TagThresholdSalt, s) (1).
	TagThresholdSalt = 0x4d5324
)

// A k-of-n credential's revocation nonce starts with these two bytes
// (big-endian): a provider that holds only the nonce of an identity (its
// store maps uniqueness tags to nonces) can tell a k-of-n credential from
// a single-provider one and revoke it as such. A random single-provider
// nonce carries the mark with probability 2^-16; revoking it as a k-of-n
// credential adds entries and misses none.
const (
	thresholdNonceMark0 = 0x2a
	thresholdNonceMark1 = 0x4b
)

// ThresholdNonce is the revocation nonce of the k-of-n credential over
// commitment C: H(TagThresholdNonce, C, salt) with its first two bytes
// replaced by the mark (about 238 bits of the hash remain). Binding the
// nonce to C lets a provider answer a retried enrollment again without
// letting a second wallet (another commitment) claim the first one's
// nonce; the salt, which the wallet derives from its core secret
// (ThresholdSalt), keeps it unpredictable to anyone who sees only C.
func ThresholdNonce(commitment, salt fr.Element) fr.Element {
	h := Hash(TagThresholdNonce, commitment, salt)
	b := h.Bytes()
	b[0], b[1] = thresholdNonceMark0, thresholdNonceMark1
	var e fr.Element
	_ = e.SetBytesCanonical(b[:]) // 0x2a4b… is below the modulus (0x3064…)
	return e
}

// ThresholdSalt is the salt of a wallet's k-of-n nonce: H(TagThresholdSalt,
// s), one-way in the core secret s, the same at every attempt.
func ThresholdSalt(secret fr.Element) fr.Element { return Hash(TagThresholdSalt, secret) }

// RevocationNonce draws a single-provider credential's revocation nonce:
// uniform, redrawn in the rare case (about one in 12,400) that it carries
// the k-of-n mark, so that every revocation path treats it as what it is.
func RevocationNonce() (fr.Element, error) {
	for {
		n, err := RandomElement()
		if err != nil || !IsThresholdNonce(n) {
			return n, err
		}
	}
}

// IsThresholdNonce reports whether revNonce carries the k-of-n mark.
func IsThresholdNonce(revNonce fr.Element) bool {
	b := revNonce.Bytes()
	return b[0] == thresholdNonceMark0 && b[1] == thresholdNonceMark1
}
