package persona

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/zk"
)

func batchItems(t testing.TB, n int) []zk.BatchItem {
	f := newFixture(t)
	k := keys(t)
	w, err := Assign(&f.pub, &f.priv)
	require.NoError(t, err)
	proof, err := k.Prove(w)
	require.NoError(t, err)
	items := make([]zk.BatchItem, n)
	for i := range items {
		items[i] = zk.BatchItem{Proof: proof, Public: PublicAssignment(&f.pub)}
	}
	return items
}

func TestBatchVerify(t *testing.T) {
	k := keys(t)
	items := batchItems(t, 5)
	other := batchItems(t, 1)[0] // a second, independent proof and statement
	items[2] = other
	require.NoError(t, k.BatchVerify(items))

	// One statement altered, one proof tampered: the batch fails and names both.
	pub := newFixture(t).pub
	items[1].Public = PublicAssignment(&pub)
	bad := append([]byte(nil), items[3].Proof...)
	bad[10] ^= 1
	items[3].Proof = bad
	err := k.BatchVerify(items)
	var be *zk.BatchError
	require.ErrorAs(t, err, &be)
	require.Equal(t, []int{1, 3}, be.Bad)
	require.ErrorIs(t, err, zk.ErrProof)
}

// BenchmarkBatchVerify reports per-proof cost for batches of n; compare
// with BenchmarkVerify from the same run.
func BenchmarkBatchVerify(b *testing.B) {
	k := keys(b)
	for _, n := range []int{8, 64} {
		items := batchItems(b, n)
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			for b.Loop() {
				if err := k.BatchVerify(items); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/proof")
		})
	}
}
