// Package gadget holds the in-circuit building blocks Mustard's circuits
// share: the tagged Poseidon2 hash, range checks, one-hot selection and
// fixed-depth Merkle roots, each the in-circuit twin of its zk function.
package gadget

import (
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/hash"
	"github.com/consensys/gnark/std/math/bits"
	"github.com/consensys/gnark/std/permutation/poseidon2"
)

// Hash returns H(tag, xs...) in-circuit: Merkle–Damgård over p2 with a
// zero IV, as zk.Hash.
func Hash(api frontend.API, p2 *poseidon2.Permutation, tag uint64, xs ...frontend.Variable) frontend.Variable {
	md := hash.NewMerkleDamgardHasher(api, p2, 0)
	md.Write(tag)
	md.Write(xs...)
	return md.Sum()
}

// RangeCheck asserts 0 <= v < 2^n.
func RangeCheck(api frontend.API, v frontend.Variable, n int) {
	bits.ToBinary(api, v, bits.WithNbDigits(n))
}

// OneHot returns the indicator bits of v in [0, n) and asserts v is in range.
func OneHot(api frontend.API, v frontend.Variable, n int) []frontend.Variable {
	sel := make([]frontend.Variable, n)
	sum := frontend.Variable(0)
	for j := range sel {
		sel[j] = api.IsZero(api.Sub(v, j))
		sum = api.Add(sum, sel[j])
	}
	api.AssertIsEqual(sum, 1)
	return sel
}

// Select returns table[index], asserting index is in range.
func Select(api frontend.API, table []frontend.Variable, index frontend.Variable) frontend.Variable {
	sel := OneHot(api, index, len(table))
	v := frontend.Variable(0)
	for j, s := range sel {
		v = api.Add(v, api.Mul(s, table[j]))
	}
	return v
}

// MerkleRoot recomputes a fixed-depth root from leaf, the leaf's index and
// its siblings (zk.Path's convention: bit i of index set means the node at
// level i is a right child); the index must fit the depth.
func MerkleRoot(api frontend.API, p2 *poseidon2.Permutation, leaf, index frontend.Variable, path []frontend.Variable) frontend.Variable {
	dirs := bits.ToBinary(api, index, bits.WithNbDigits(len(path)))
	node := leaf
	for i, s := range path {
		left := api.Select(dirs[i], s, node)
		right := api.Select(dirs[i], node, s)
		node = p2.Compress(left, right)
	}
	return node
}
