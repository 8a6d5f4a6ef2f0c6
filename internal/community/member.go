package community

import (
	"encoding/base64"
	"fmt"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	circuit "github.com/mustard-id/mustard/circuits/community"
	"github.com/mustard-id/mustard/zk"
)

// Tree rebuilds a community's membership tree from its public leaves.
func (info *Info) Tree() (*zk.Tree, error) {
	t := zk.NewTree(circuit.Depth)
	for i, h := range info.Leaves {
		l, err := zk.ParseHex(h)
		if err != nil {
			return nil, fmt.Errorf("community: leaf %d: %w", i, err)
		}
		if _, err := t.Append(l); err != nil {
			return nil, err
		}
	}
	if zk.Hex(t.Root()) != info.Root {
		return nil, fmt.Errorf("community: the leaves do not give the announced root")
	}
	return t, nil
}

// Prove makes a member's statement on topic: it finds the member's leaf
// in the community's tree and proves membership and the nullifier.
func Prove(keys *zk.Keys, info *Info, memberSecret fr.Element, topic, message string) (*Statement, error) {
	t, err := info.Tree()
	if err != nil {
		return nil, err
	}
	want := zk.MemberLeaf(memberSecret)
	for i := range t.Len() {
		l, _ := t.Leaf(i)
		if l != want {
			continue
		}
		c, pub, err := circuit.Assign(memberSecret, t, i, topic, message)
		if err != nil {
			return nil, err
		}
		proof, err := keys.Prove(c)
		if err != nil {
			return nil, err
		}
		return &Statement{Topic: topic, Message: message, Root: zk.Hex(pub.Root), Nullifier: zk.Hex(pub.Nullifier), Proof: base64.RawURLEncoding.EncodeToString(proof)}, nil
	}
	return nil, fmt.Errorf("community: not a member of %s (or left)", info.ID)
}

// Verify checks a statement as anyone can: its proof against the root it
// names (which the reader compares with the community's roots).
func Verify(keys *zk.Keys, st *Statement) error {
	pub, proof, err := st.public()
	if err != nil {
		return err
	}
	return keys.Verify(proof, circuit.PublicAssignment(pub))
}
