package zk

import (
	"slices"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/stretchr/testify/require"
)

// The B-tree behind Insert and ProveAbsent finds the same low leaf as a
// sorted slice would, and the roots agree with the one-pass build after
// every kind of insert: a new minimum, a new maximum, and in between.
func TestIndexedTreeInsertAgainstSortedSlice(t *testing.T) {
	tr := NewIndexedTree(16)
	sorted := []fr.Element{{}}
	var inserted []fr.Element
	add := func(x fr.Element) {
		require.NoError(t, tr.Insert(x))
		inserted = append(inserted, x)
		pos, _ := slices.BinarySearchFunc(sorted, x, func(a, b fr.Element) int { return a.Cmp(&b) })
		sorted = slices.Insert(sorted, pos, x)
	}
	for i := range 300 {
		switch i {
		case 10:
			add(fr.NewElement(1)) // below every random value
		case 20:
			var top fr.Element
			top.SetOne()
			top.Neg(&top) // p-1, above every other value
			add(top)
		default:
			add(randElem(t))
		}
		if i%50 == 0 {
			bulk, err := IndexedTreeFrom(16, inserted)
			require.NoError(t, err)
			require.Equal(t, bulk.Root(), tr.Root())
		}
	}
	require.Equal(t, len(inserted), tr.Len())
	require.ErrorIs(t, tr.Insert(inserted[7]), ErrDuplicate)
	require.ErrorIs(t, tr.Insert(fr.Element{}), ErrRange)
	for range 200 {
		x := randElem(t)
		pos, _ := slices.BinarySearchFunc(sorted, x, func(a, b fr.Element) int { return a.Cmp(&b) })
		w, err := tr.ProveAbsent(x)
		require.NoError(t, err)
		require.Equal(t, sorted[pos-1], w.LowValue)
		require.True(t, w.Verify(tr.Root(), x))
	}
	_, err := tr.ProveAbsent(inserted[3])
	require.ErrorIs(t, err, ErrDuplicate)
	require.Equal(t, inserted[290:], tr.ValuesFrom(290))
	require.Nil(t, tr.ValuesFrom(len(inserted)))
}
