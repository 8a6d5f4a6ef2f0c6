package community

import (
	"errors"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/frontend"

	"github.com/mustard-id/mustard/zk"
)

// Public is a statement's public inputs.
type Public struct {
	Root, Topic, Nullifier, Signal fr.Element
}

// Topic and Signal map a topic and a statement to field elements.
func Topic(topic string) fr.Element    { return zk.HashBytes(zk.TagTopic, []byte(topic)) }
func Signal(message string) fr.Element { return zk.HashBytes(zk.TagSignal, []byte(message)) }

// ErrNotMember is a member secret whose leaf is not at index of the tree.
var ErrNotMember = errors.New("community: the member's leaf is not in the tree at that index")

// Assign builds a statement's full assignment for memberSecret at index
// of tree, on topic, for message.
func Assign(memberSecret fr.Element, tree *zk.Tree, index uint64, topic, message string) (*Circuit, *Public, error) {
	leaf, err := tree.Leaf(index)
	if err != nil || leaf != zk.MemberLeaf(memberSecret) {
		return nil, nil, ErrNotMember
	}
	pub := &Public{Root: tree.Root(), Topic: Topic(topic), Signal: Signal(message)}
	pub.Nullifier = zk.Nullifier(memberSecret, pub.Topic)
	c := PublicAssignment(pub)
	c.Secret, c.Index = memberSecret, index
	path := tree.Path(index)
	for i := range Depth {
		c.Path[i] = path.Siblings[i]
	}
	return c, pub, nil
}

// PublicAssignment is the assignment of the public inputs alone, for
// verification.
func PublicAssignment(p *Public) *Circuit {
	return &Circuit{Root: p.Root, Topic: p.Topic, Nullifier: p.Nullifier, Signal: p.Signal}
}

var _ frontend.Circuit = (*Circuit)(nil)
