package threshold

import (
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/hash"
	"github.com/consensys/gnark/std/math/bits"
	"github.com/consensys/gnark/std/permutation/poseidon2"
)

// The gadgets below are the persona circuit's own (circuits/persona,
// circuit.go), duplicated rather than factored out so that this profile
// leaves circuits/persona's source untouched; they are constraint for
// constraint the same (TestPartsMatchPersona checks the costs).

// tagged returns H(tag, xs...) in-circuit: Merkle–Damgård over p2 with a
// zero IV, as zk.Hash.
func tagged(api frontend.API, p2 *poseidon2.Permutation, tag uint64, xs ...frontend.Variable) frontend.Variable {
	md := hash.NewMerkleDamgardHasher(api, p2, 0)
	md.Write(tag)
	md.Write(xs...)
	return md.Sum()
}

// rangeCheck asserts 0 <= v < 2^n.
func rangeCheck(api frontend.API, v frontend.Variable, n int) {
	bits.ToBinary(api, v, bits.WithNbDigits(n))
}

// oneHot returns the indicator bits of v in [0, n) and asserts v is in range.
func oneHot(api frontend.API, v frontend.Variable, n int) []frontend.Variable {
	sel := make([]frontend.Variable, n)
	sum := frontend.Variable(0)
	for j := range sel {
		sel[j] = api.IsZero(api.Sub(v, j))
		sum = api.Add(sum, sel[j])
	}
	api.AssertIsEqual(sum, 1)
	return sel
}

// selectAttr returns table[index], asserting index is in range.
func selectAttr(api frontend.API, table []frontend.Variable, index frontend.Variable) frontend.Variable {
	sel := oneHot(api, index, len(table))
	v := frontend.Variable(0)
	for j, s := range sel {
		v = api.Add(v, api.Mul(s, table[j]))
	}
	return v
}

// merkleRoot recomputes a fixed-depth root from leaf, the leaf's index and
// its siblings; the index must fit the depth.
func merkleRoot(api frontend.API, p2 *poseidon2.Permutation, leaf, index frontend.Variable, path []frontend.Variable) frontend.Variable {
	dirs := bits.ToBinary(api, index, bits.WithNbDigits(len(path)))
	node := leaf
	for i, s := range path {
		left := api.Select(dirs[i], s, node)
		right := api.Select(dirs[i], node, s)
		node = p2.Compress(left, right)
	}
	return node
}
