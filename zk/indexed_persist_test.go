package zk

import (
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/stretchr/testify/require"
)

// An encoded tree decodes to the same tree: same root, same witnesses,
// and inserting into it gives the roots inserting into the original does.
func TestIndexedTreeEncodeRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 7, 64, 300} {
		tr := NewIndexedTree(16)
		for range n {
			x, err := RandomElement()
			require.NoError(t, err)
			require.NoError(t, tr.Insert(x))
		}
		enc := tr.AppendEncoded(nil)
		require.Len(t, enc, EncodedLen(16, n))
		got, err := DecodeIndexedTree(16, n, enc)
		require.NoError(t, err)
		require.Equal(t, tr.Root(), got.Root())
		require.Equal(t, tr.Values(), got.Values())
		x, err := RandomElement()
		require.NoError(t, err)
		w1, err := tr.ProveAbsent(x)
		require.NoError(t, err)
		w2, err := got.ProveAbsent(x)
		require.NoError(t, err)
		require.Equal(t, w1, w2)
		require.True(t, w2.Verify(got.Root(), x))
		require.NoError(t, tr.Insert(x))
		require.NoError(t, got.Insert(x))
		require.Equal(t, tr.Root(), got.Root())
		if n > 0 {
			require.ErrorIs(t, got.Insert(tr.Values()[0]), ErrDuplicate)
		}
	}
}

// Bad encodings are refused: wrong length, a zero or duplicate value, a
// non-canonical element.
func TestDecodeIndexedTreeRefuses(t *testing.T) {
	tr := NewIndexedTree(8)
	a, b := fr.NewElement(5), fr.NewElement(9)
	require.NoError(t, tr.Insert(a))
	require.NoError(t, tr.Insert(b))
	enc := tr.AppendEncoded(nil)
	_, err := DecodeIndexedTree(8, 2, enc[:len(enc)-1])
	require.ErrorIs(t, err, ErrEncoding)
	_, err = DecodeIndexedTree(8, 3, enc)
	require.ErrorIs(t, err, ErrEncoding)
	_, err = DecodeIndexedTree(0, 2, enc)
	require.ErrorIs(t, err, ErrEncoding)
	dup := append([]byte{}, enc...)
	copy(dup[32:64], dup[0:32])
	_, err = DecodeIndexedTree(8, 2, dup)
	require.ErrorIs(t, err, ErrEncoding)
	zero := append([]byte{}, enc...)
	clear(zero[0:32])
	_, err = DecodeIndexedTree(8, 2, zero)
	require.ErrorIs(t, err, ErrEncoding)
	big := append([]byte{}, enc...)
	for i := 64; i < 96; i++ {
		big[i] = 0xff
	}
	_, err = DecodeIndexedTree(8, 2, big)
	require.ErrorIs(t, err, ErrEncoding)
}

// FuzzDecodeIndexedTree: any bytes decode or are refused, never a panic.
func FuzzDecodeIndexedTree(f *testing.F) {
	tr := NewIndexedTree(4)
	_ = tr.Insert(fr.NewElement(3))
	f.Add(4, 1, tr.AppendEncoded(nil))
	f.Add(4, 0, NewIndexedTree(4).AppendEncoded(nil))
	f.Add(2, 5, []byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, depth, n int, data []byte) {
		if n > 1<<10 {
			return
		}
		got, err := DecodeIndexedTree(depth, n, data)
		if err == nil && got.Len() != n {
			t.Fatalf("decoded %d values, want %d", got.Len(), n)
		}
	})
}

// BenchmarkDecodeIndexedTreeMillion: decoding a tree of a million values
// (the revocation tree at a million revocations, 96 MB).
func BenchmarkDecodeIndexedTreeMillion(b *testing.B) {
	const n = 1_000_000
	vals := make([]fr.Element, n)
	for i := range vals {
		vals[i].SetRandom()
	}
	tr, err := IndexedTreeFrom(32, vals)
	require.NoError(b, err)
	enc := tr.AppendEncoded(nil)
	b.SetBytes(int64(len(enc)))
	b.ResetTimer()
	for b.Loop() {
		got, err := DecodeIndexedTree(32, n, enc)
		if err != nil || got.Root() != tr.Root() {
			b.Fatal("decode", err)
		}
	}
}
