package zk

import "github.com/consensys/gnark-crypto/ecc/bn254/fr"

// Community tags (communities: membership trees and per-topic
// nullifiers, circuits/community).
const (
	TagMember       = 0x4d5330 // member leaf: H(TagMember, memberSecret) (1)
	TagNullifier    = 0x4d5331 // nullifier: H(TagNullifier, memberSecret, topic) (2)
	TagTopic        = 0x4d5332 // topic bytes to field element (bytes, chunked)
	TagSignal       = 0x4d5333 // statement bytes to field element (bytes, chunked)
	TagMemberSecret = 0x4d5334 // member secret: H(TagMemberSecret, s, community) (2)
	TagCommunity    = 0x4d5335 // community id bytes to field element (bytes, chunked)
)

// MemberSecret is a person's secret in one community, derived from the
// core secret: the same person always has the same member leaf there (a
// restored wallet rejoins as itself), and nothing links it to the core
// secret or to another community.
func MemberSecret(s fr.Element, community string) fr.Element {
	return Hash(TagMemberSecret, s, HashBytes(TagCommunity, []byte(community)))
}

// MemberLeaf is the membership tree leaf of a member secret.
func MemberLeaf(memberSecret fr.Element) fr.Element { return Hash(TagMember, memberSecret) }

// Nullifier is a member's one-time tag for a topic: a second statement on
// the same topic repeats it.
func Nullifier(memberSecret, topic fr.Element) fr.Element {
	return Hash(TagNullifier, memberSecret, topic)
}
