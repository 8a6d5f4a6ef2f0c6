package zk

import (
	"cmp"
	"encoding/binary"
	"errors"
	"slices"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
)

// ErrEncoding is an encoded indexed tree that cannot be decoded.
var ErrEncoding = errors.New("zk: malformed encoded indexed tree")

// levelLens are the lengths of a tree's levels holding leaves leaves (at
// least one): level k holds ((leaves-1)>>k)+1 nodes.
func levelLens(depth, leaves int) []int {
	out := make([]int, depth+1)
	for k := range out {
		out[k] = ((leaves - 1) >> uint(k)) + 1
	}
	return out
}

// EncodedLen is the length of the encoding of an indexed tree of depth
// holding n values: the n values, then every node of every level, 32
// bytes each.
func EncodedLen(depth, n int) int {
	total := n
	for _, l := range levelLens(depth, n+1) {
		total += l
	}
	return total * fr.Bytes
}

// AppendEncoded appends the tree's encoding to b: its values in insertion
// order (the sentinel left out), then its node hashes level by level from
// the leaves, each a canonical 32-byte big-endian field element.
// DecodeIndexedTree reads it back without hashing anything.
func (t *IndexedTree) AppendEncoded(b []byte) []byte {
	b = slices.Grow(b, EncodedLen(t.Depth(), t.Len()))
	var buf [fr.Bytes]byte
	for _, v := range t.values[1:] {
		fr.BigEndian.PutElement(&buf, v)
		b = append(b, buf[:]...)
	}
	for k := 0; k <= t.tree.depth; k++ {
		for _, v := range t.tree.levels[k] {
			fr.BigEndian.PutElement(&buf, v)
			b = append(b, buf[:]...)
		}
	}
	return b
}

// DecodeIndexedTree rebuilds an indexed tree of depth holding n values
// from AppendEncoded's output (exactly EncodedLen(depth, n) bytes). It
// checks that every element is canonical and every value non-zero and
// distinct, and rebuilds the sorted order and next pointers from the
// values; it does not rehash the nodes (that is what makes it fast, about
// a second at a million values instead of ten of Poseidon2), so the
// caller must know the bytes are authentic: the wallet's revocation cache
// authenticates its file with a MAC under the wallet's storage key and
// checks the root against the provider's signed root.
func DecodeIndexedTree(depth, n int, data []byte) (*IndexedTree, error) {
	if depth < 1 || depth > 62 || n < 0 || (depth < 62 && uint64(n) >= 1<<uint(depth)) {
		return nil, ErrEncoding
	}
	if len(data)/fr.Bytes < n || len(data) != EncodedLen(depth, n) {
		return nil, ErrEncoding
	}
	t := &IndexedTree{tree: NewTree(depth), index: make(map[fr.Element]int, n+1)}
	t.values = make([]fr.Element, n+1)
	t.index[fr.Element{}] = 0
	for i := 1; i <= n; i++ {
		v, err := fr.BigEndian.Element((*[fr.Bytes]byte)(data[(i-1)*fr.Bytes:]))
		if err != nil || v.IsZero() {
			return nil, ErrEncoding
		}
		if _, dup := t.index[v]; dup {
			return nil, ErrEncoding
		}
		t.values[i] = v
		t.index[v] = i
	}
	// Sort the leaf indexes by value, comparing canonical limbs (most
	// significant first, read from the big-endian bytes): much cheaper
	// than fr.Element.Cmp, and the most significant limb sits next to
	// the index, so the sort mostly stays in cache.
	keys := make([][4]uint64, n+1)
	for i := 1; i <= n; i++ {
		k := data[(i-1)*fr.Bytes:]
		keys[i] = [4]uint64{binary.BigEndian.Uint64(k), binary.BigEndian.Uint64(k[8:]), binary.BigEndian.Uint64(k[16:]), binary.BigEndian.Uint64(k[24:])}
	}
	type ord struct {
		hi uint64
		i  int32
	}
	order := make([]ord, n+1)
	for i := range order {
		order[i] = ord{keys[i][0], int32(i)}
	}
	slices.SortFunc(order[1:], func(a, b ord) int {
		if a.hi != b.hi {
			return cmp.Compare(a.hi, b.hi)
		}
		return slices.Compare(keys[a.i][:], keys[b.i][:])
	})
	t.next = make([]fr.Element, n+1)
	t.sorted = newSorted()
	for k, o := range order {
		if k+1 < len(order) {
			t.next[o.i] = t.values[order[k+1].i]
		}
		t.sorted.ReplaceOrInsert(sortItem{key: keys[o.i], val: t.values[o.i]})
	}
	off := n * fr.Bytes
	for k, l := range levelLens(depth, n+1) {
		lv := make([]fr.Element, l)
		for i := range lv {
			v, err := fr.BigEndian.Element((*[fr.Bytes]byte)(data[off:]))
			if err != nil {
				return nil, ErrEncoding
			}
			lv[i] = v
			off += fr.Bytes
		}
		t.tree.levels[k] = lv
	}
	return t, nil
}
