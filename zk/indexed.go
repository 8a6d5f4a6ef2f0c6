package zk

import (
	"runtime"
	"slices"
	"sync"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/google/btree"
)

// sortedDegree is the B-tree's degree: nodes of up to 2*64-1 values, a
// few cache lines each, about four levels for a million values.
const sortedDegree = 64

// sortItem is a value in the B-tree with its canonical limbs, most
// significant first: comparing them is a few integer comparisons, where
// fr.Element.Cmp leaves Montgomery form for both operands every time
// (building the B-tree of a million values took most of a second).
type sortItem struct {
	key [4]uint64
	val fr.Element
}

func itemOf(v fr.Element) sortItem {
	b := v.Bits()
	return sortItem{key: [4]uint64{b[3], b[2], b[1], b[0]}, val: v}
}

func lessItem(a, b sortItem) bool {
	for i := range a.key {
		if a.key[i] != b.key[i] {
			return a.key[i] < b.key[i]
		}
	}
	return false
}

func newSorted() *btree.BTreeG[sortItem] {
	return btree.NewG(sortedDegree, lessItem)
}

// IndexedTree is an indexed (sorted, linked) Merkle tree: each leaf holds a
// value and the next larger value in the set (zero meaning none), so the
// absence of x is proven by one "low" leaf with value < x < next. Leaf 0 is
// the sentinel (0, smallest value). This is the framework's revocation tree:
// the wallet downloads the whole snapshot and builds its own witness, so
// fetching a proof reveals nothing about which entry it is about.
//
// Insert costs O(log n) to find the low leaf in a B-tree of the values and
// O(depth) hashes to update two leaves' paths, whatever the tree's size.
type IndexedTree struct {
	tree   *Tree
	sorted *btree.BTreeG[sortItem] // values in increasing order, sentinel 0 included
	index  map[fr.Element]int      // value -> leaf index
	next   []fr.Element            // leaf index -> next value
	values []fr.Element            // leaf index -> value (insertion order)
}

// RevLeaf is the hash of an indexed-tree leaf.
func RevLeaf(value, next fr.Element) fr.Element {
	return Hash(TagRevLeaf, value, next)
}

// NewIndexedTree returns an indexed tree holding only the sentinel.
func NewIndexedTree(depth int) *IndexedTree {
	t := &IndexedTree{tree: NewTree(depth), index: map[fr.Element]int{}, sorted: newSorted()}
	var zero fr.Element
	t.sorted.ReplaceOrInsert(itemOf(zero))
	t.index[zero] = 0
	t.next = []fr.Element{zero}
	t.values = []fr.Element{zero}
	if _, err := t.tree.Append(RevLeaf(zero, zero)); err != nil {
		panic(err)
	}
	return t
}

// Root is the tree's root.
func (t *IndexedTree) Root() fr.Element { return t.tree.Root() }

// Len is the number of values in the set (the sentinel not counted).
func (t *IndexedTree) Len() int { return len(t.values) - 1 }

// Depth is the tree's depth.
func (t *IndexedTree) Depth() int { return t.tree.Depth() }

// Contains reports whether x is in the set.
func (t *IndexedTree) Contains(x fr.Element) bool {
	_, ok := t.index[x]
	return ok && !x.IsZero()
}

// Insert adds x (non-zero) to the set.
func (t *IndexedTree) Insert(x fr.Element) error {
	if x.IsZero() {
		return ErrRange
	}
	if _, ok := t.index[x]; ok {
		return ErrDuplicate
	}
	lowVal := t.lowValue(x)
	low := t.index[lowVal]
	next := t.next[low]
	i, err := t.tree.Append(RevLeaf(x, next))
	if err != nil {
		return err
	}
	t.next[low] = x
	if err := t.tree.Set(uint64(low), RevLeaf(lowVal, x)); err != nil {
		return err
	}
	t.sorted.ReplaceOrInsert(itemOf(x))
	t.index[x] = int(i)
	t.next = append(t.next, next)
	t.values = append(t.values, x)
	return nil
}

// lowValue is the largest value in the set below x (x non-zero and
// absent): at least the sentinel 0.
func (t *IndexedTree) lowValue(x fr.Element) fr.Element {
	var low fr.Element
	t.sorted.DescendLessOrEqual(itemOf(x), func(v sortItem) bool {
		low = v.val
		return false
	})
	return low
}

// NonMembership is a witness that a value is absent: the low leaf's value
// and next value, and its path.
type NonMembership struct {
	LowValue, LowNext fr.Element
	Path              Path
}

// ProveAbsent returns a non-membership witness for x, or ErrDuplicate if x
// is in the set.
func (t *IndexedTree) ProveAbsent(x fr.Element) (NonMembership, error) {
	if t.Contains(x) || x.IsZero() {
		return NonMembership{}, ErrDuplicate
	}
	lowVal := t.lowValue(x)
	low := t.index[lowVal]
	return NonMembership{LowValue: lowVal, LowNext: t.next[low], Path: t.tree.Path(uint64(low))}, nil
}

// Verify checks w against root for x, natively (the circuit's twin).
func (w NonMembership) Verify(root, x fr.Element) bool {
	if w.Path.Root(RevLeaf(w.LowValue, w.LowNext)) != root {
		return false
	}
	if w.LowValue.Cmp(&x) >= 0 {
		return false
	}
	return w.LowNext.IsZero() || x.Cmp(&w.LowNext) < 0
}

// IndexedTreeFrom builds, in one pass, the tree that inserting values in
// order into NewIndexedTree(depth) would build: sorting once instead of
// shifting a sorted slice per insert, and hashing each level in parallel.
// A wallet rebuilds the revocation tree from a snapshot this way.
func IndexedTreeFrom(depth int, values []fr.Element) (*IndexedTree, error) {
	n := len(values)
	if depth < 62 && uint64(n) >= 1<<uint(depth) {
		return nil, ErrTreeFull
	}
	t := &IndexedTree{tree: NewTree(depth), index: make(map[fr.Element]int, n+1)}
	t.values = append([]fr.Element{{}}, values...)
	for i, v := range t.values {
		if _, dup := t.index[v]; dup {
			if v.IsZero() {
				return nil, ErrRange
			}
			return nil, ErrDuplicate
		}
		t.index[v] = i
	}
	sorted := make([]sortItem, n+1)
	for i, v := range t.values {
		sorted[i] = itemOf(v)
	}
	slices.SortFunc(sorted, func(a, b sortItem) int {
		if lessItem(a, b) {
			return -1
		}
		if lessItem(b, a) {
			return 1
		}
		return 0
	})
	t.next = make([]fr.Element, n+1)
	for k := 0; k+1 < len(sorted); k++ {
		t.next[t.index[sorted[k].val]] = sorted[k+1].val
	}
	// In increasing order, each insert goes to the rightmost leaf node.
	t.sorted = newSorted()
	for _, v := range sorted {
		t.sorted.ReplaceOrInsert(v)
	}
	tr := t.tree
	tr.levels[0] = make([]fr.Element, n+1)
	parallel(n+1, func(i int) { tr.levels[0][i] = RevLeaf(t.values[i], t.next[i]) })
	for k := 1; k <= depth; k++ {
		tr.levels[k] = make([]fr.Element, (len(tr.levels[k-1])+1)/2)
		parallel(len(tr.levels[k]), func(i int) {
			tr.levels[k][i] = Compress(tr.node(k-1, uint64(2*i)), tr.node(k-1, uint64(2*i+1)))
		})
	}
	return t, nil
}

// parallel runs f(0..n) across the available cores.
func parallel(n int, f func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), max(1, n/256))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				f(i)
			}
		})
	}
	wg.Wait()
}

// Values returns the set's values in insertion order: the snapshot from
// which a wallet rebuilds the identical tree by inserting them in turn.
func (t *IndexedTree) Values() []fr.Element { return slices.Clone(t.values[1:]) }

// ValuesFrom returns the values inserted after the first n, in insertion
// order: an incremental update to a snapshot of n values.
func (t *IndexedTree) ValuesFrom(n int) []fr.Element {
	if n < 0 || n >= len(t.values)-1 {
		return nil
	}
	return slices.Clone(t.values[1+n:])
}
