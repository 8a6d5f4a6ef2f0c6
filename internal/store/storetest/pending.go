package storetest

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/coreid"
	"github.com/mustard-id/mustard/internal/store"
)

// testPendingAndFeed: pending flow state is read, replaced and taken once
// (also by racing takers), bounded per kind and gone when expired; the
// revocation feed lists entries after a sequence number in order.
func testPendingAndFeed(t *testing.T, s store.Store) {
	ctx := context.Background()
	ps, ok := s.(coreid.PendingStorage)
	require.True(t, ok, "the store keeps pending state")
	now := time.Now()
	ok, err := ps.PutPending(ctx, "k", "a", []byte("one"), now, now.Add(time.Minute), 2)
	require.NoError(t, err)
	require.True(t, ok)
	ok, err = ps.PutPending(ctx, "k", "a", []byte("two"), now, now.Add(time.Minute), 2)
	require.NoError(t, err)
	require.True(t, ok, "replacing is not another item")
	b, err := ps.Pending(ctx, "k", "a", now)
	require.NoError(t, err)
	require.Equal(t, "two", string(b))
	b, err = ps.Pending(ctx, "other", "a", now)
	require.NoError(t, err)
	require.Nil(t, b, "kinds are apart")
	ok, err = ps.PutPending(ctx, "k", "b", []byte("x"), now, now.Add(time.Minute), 2)
	require.NoError(t, err)
	require.True(t, ok)
	ok, err = ps.PutPending(ctx, "k", "c", []byte("x"), now, now.Add(time.Minute), 2)
	require.NoError(t, err)
	require.False(t, ok, "at most max live items of a kind")
	b, err = ps.Pending(ctx, "k", "b", now.Add(2*time.Minute))
	require.NoError(t, err)
	require.Nil(t, b, "expired")

	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			b, err := ps.TakePending(ctx, "k", "a", now)
			if err != nil {
				t.Error(err)
			}
			if b != nil {
				wins.Add(1)
			}
		})
	}
	wg.Wait()
	require.EqualValues(t, 1, wins.Load(), "taken once")
	b, err = ps.TakePending(ctx, "k", "b", now.Add(2*time.Minute))
	require.NoError(t, err)
	require.Nil(t, b, "an expired item is not taken")

	feed, ok := s.(coreid.RevocationFeed)
	require.True(t, ok, "the store is a revocation feed")
	seqs, _, err := feed.RevocationsAfter(ctx, 0, 1000)
	require.NoError(t, err)
	var last int64
	if len(seqs) > 0 {
		last = seqs[len(seqs)-1]
	}
	for i := range 3 {
		require.NoError(t, s.AddRevocation(ctx, []byte{0xfe, byte(i), 1}, "provider", now))
	}
	seqs, entries, err := feed.RevocationsAfter(ctx, last, 2)
	require.NoError(t, err)
	require.Len(t, entries, 2)
	require.Equal(t, []byte{0xfe, 0, 1}, entries[0])
	require.Less(t, seqs[0], seqs[1])
	_, entries, err = feed.RevocationsAfter(ctx, seqs[1], 10)
	require.NoError(t, err)
	require.Equal(t, [][]byte{{0xfe, 2, 1}}, entries)
}
