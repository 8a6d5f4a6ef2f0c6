package zk

import (
	"slices"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
)

// ValuesRange returns the values inserted at positions [from, to) (from
// 0, in insertion order), clipped to the set: one page of an update,
// copying only the page.
func (t *IndexedTree) ValuesRange(from, to int) []fr.Element {
	n := len(t.values) - 1
	from, to = max(0, from), min(to, n)
	if from >= to {
		return nil
	}
	return slices.Clone(t.values[1+from : 1+to])
}
