package zk

import (
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
)

// Path is a Merkle authentication path: Siblings[0] is the leaf's sibling,
// and bit i of Index says whether the node at level i is a right child.
type Path struct {
	Index    uint64
	Siblings []fr.Element
}

// Root recomputes the root from leaf along p.
func (p Path) Root(leaf fr.Element) fr.Element {
	node := leaf
	for i, s := range p.Siblings {
		if (p.Index>>uint(i))&1 == 1 {
			node = Compress(s, node)
		} else {
			node = Compress(node, s)
		}
	}
	return node
}

// Tree is a fixed-depth Merkle tree over Compress whose leaves are filled
// from the left; empty leaves are zero and empty subtrees are precomputed,
// so a depth-32 tree costs memory only for the leaves it holds.
type Tree struct {
	depth  int
	levels [][]fr.Element // levels[0] = leaves; levels[k][i] = node i at height k
	zeros  []fr.Element   // zeros[k] = root of an empty subtree of height k
}

// NewTree returns an empty tree of the given depth (1 to 62).
func NewTree(depth int) *Tree {
	if depth < 1 || depth > 62 {
		panic("zk: tree depth out of range")
	}
	t := &Tree{depth: depth, levels: make([][]fr.Element, depth+1), zeros: zeroHashes(depth)}
	return t
}

func zeroHashes(depth int) []fr.Element {
	z := make([]fr.Element, depth+1)
	for k := 1; k <= depth; k++ {
		z[k] = Compress(z[k-1], z[k-1])
	}
	return z
}

// Depth is the tree's fixed depth.
func (t *Tree) Depth() int { return t.depth }

// Len is the number of leaves set so far.
func (t *Tree) Len() uint64 { return uint64(len(t.levels[0])) }

// Append adds a leaf at the next free index and returns that index.
func (t *Tree) Append(leaf fr.Element) (uint64, error) {
	i := uint64(len(t.levels[0]))
	if t.depth < 64 && i >= 1<<uint(t.depth) {
		return 0, ErrTreeFull
	}
	t.levels[0] = append(t.levels[0], leaf)
	t.update(i)
	return i, nil
}

// Set replaces the leaf at index i, which must already exist.
func (t *Tree) Set(i uint64, leaf fr.Element) error {
	if i >= uint64(len(t.levels[0])) {
		return ErrNotFound
	}
	t.levels[0][i] = leaf
	t.update(i)
	return nil
}

// Leaf returns the leaf at index i.
func (t *Tree) Leaf(i uint64) (fr.Element, error) {
	if i >= uint64(len(t.levels[0])) {
		return fr.Element{}, ErrNotFound
	}
	return t.levels[0][i], nil
}

func (t *Tree) node(k int, i uint64) fr.Element {
	if i < uint64(len(t.levels[k])) {
		return t.levels[k][i]
	}
	return t.zeros[k]
}

func (t *Tree) update(i uint64) {
	for k := 1; k <= t.depth; k++ {
		i >>= 1
		n := Compress(t.node(k-1, 2*i), t.node(k-1, 2*i+1))
		if i < uint64(len(t.levels[k])) {
			t.levels[k][i] = n
		} else {
			t.levels[k] = append(t.levels[k], n)
		}
	}
}

// Root is the tree's root.
func (t *Tree) Root() fr.Element { return t.node(t.depth, 0) }

// Path returns the authentication path of leaf i (which may be empty).
func (t *Tree) Path(i uint64) Path {
	p := Path{Index: i, Siblings: make([]fr.Element, t.depth)}
	for k := 0; k < t.depth; k++ {
		p.Siblings[k] = t.node(k, (i>>uint(k))^1)
	}
	return p
}

// SetTree builds the in-set tree of the given depth over values, for
// in-set predicates; its root is the predicate's public value. Leaves are
// the values themselves, and the set is padded to 2^depth leaves by
// repeating its last value, so no empty (zero) leaf can stand in for an
// attribute that is not in the set.
func SetTree(depth int, values []fr.Element) (*Tree, error) {
	if len(values) == 0 || len(values) > 1<<uint(depth) {
		return nil, ErrRange
	}
	t := NewTree(depth)
	for i := 0; i < 1<<uint(depth); i++ {
		if _, err := t.Append(values[min(i, len(values)-1)]); err != nil {
			return nil, err
		}
	}
	return t, nil
}
