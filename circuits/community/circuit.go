// Package community is the circuit of community statements: a member of a
// community proves, without saying which member, that their leaf is in the
// community's membership tree, and binds a statement (a vote, a post) to
// a per-topic nullifier that a second statement by the same member on the
// same topic would repeat (Semaphore's construction, over Mustard's
// Poseidon2 and Merkle trees). Joining — at most once per person, with a
// persona — is internal/community's.
package community

import (
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/permutation/poseidon2"

	"github.com/mustard-id/mustard/circuits/internal/gadget"
	"github.com/mustard-id/mustard/zk"
)

// Depth is the membership tree's depth: about a million members.
const Depth = 20

// Circuit proves: Leaf = H(TagMember, Secret) is at Index of the tree
// with root Root; Nullifier = H(TagNullifier, Secret, Topic); and binds
// Signal (the statement's hash) to the proof.
type Circuit struct {
	Root      frontend.Variable `gnark:",public"`
	Topic     frontend.Variable `gnark:",public"`
	Nullifier frontend.Variable `gnark:",public"`
	Signal    frontend.Variable `gnark:",public"`

	Secret frontend.Variable
	Index  frontend.Variable
	Path   [Depth]frontend.Variable
}

// Define declares the constraints.
func (c *Circuit) Define(api frontend.API) error {
	p2, err := poseidon2.NewPoseidon2(api)
	if err != nil {
		return err
	}
	leaf := gadget.Hash(api, p2, zk.TagMember, c.Secret)
	// The index has Depth bits: its binary digits choose each level's side.
	api.AssertIsEqual(gadget.MerkleRoot(api, p2, leaf, c.Index, c.Path[:]), c.Root)
	api.AssertIsEqual(gadget.Hash(api, p2, zk.TagNullifier, c.Secret, c.Topic), c.Nullifier)
	// The signal is a public input the proof must be for: squaring it
	// puts it in a constraint (a public input in none would have a zero
	// verifying-key point, and a proof would hold for any signal).
	api.Mul(c.Signal, c.Signal)
	return nil
}
