package sqlite

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestEnrollAndReplaceIdentity(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	now := time.Unix(1_700_000_000, 0)
	require.NoError(t, s.EnrollIdentity(ctx, [][]byte{[]byte("a"), []byte("b")}, []byte{1}, now))
	// One held tag among new ones: nothing is written.
	require.ErrorIs(t, s.EnrollIdentity(ctx, [][]byte{[]byte("c"), []byte("b")}, []byte{2}, now), ErrDuplicate)
	_, _, err := s.Identity(ctx, []byte("c"))
	require.ErrorIs(t, err, ErrNotFound)
	require.Error(t, s.EnrollIdentity(ctx, nil, []byte{2}, now))

	rn, since, err := s.Identity(ctx, []byte("a"))
	require.NoError(t, err)
	require.Equal(t, []byte{1}, rn)
	require.Equal(t, now, since)

	later := now.Add(time.Hour)
	require.NoError(t, s.ReplaceIdentity(ctx, [][]byte{[]byte("a"), []byte("d")}, []byte{1}, []byte{3}, []byte("entry-1"), "reenrollment", later))
	for _, tag := range []string{"a", "b", "d"} {
		rn, _, err := s.Identity(ctx, []byte(tag))
		require.NoError(t, err)
		require.Equal(t, []byte{3}, rn, "every tag of the identity moves, presented or not")
	}
	// A stale compare-and-swap writes nothing, the revocation included.
	require.ErrorIs(t, s.ReplaceIdentity(ctx, [][]byte{[]byte("a")}, []byte{1}, []byte{4}, []byte("entry-2"), "reenrollment", later), ErrConflict)
	// A presented tag held by another identity: nothing is written.
	require.NoError(t, s.EnrollIdentity(ctx, [][]byte{[]byte("z")}, []byte{9}, now))
	require.ErrorIs(t, s.ReplaceIdentity(ctx, [][]byte{[]byte("a"), []byte("z")}, []byte{3}, []byte{5}, []byte("entry-3"), "reenrollment", later), ErrConflict)
	rn, _, err = s.Identity(ctx, []byte("a"))
	require.NoError(t, err)
	require.Equal(t, []byte{3}, rn)
	entries, err := s.Revocations(ctx)
	require.NoError(t, err)
	require.Equal(t, [][]byte{[]byte("entry-1")}, entries)
	logs, err := s.RevocationLogs(ctx, 0, 10)
	require.NoError(t, err)
	require.Len(t, logs, 1)
	require.Equal(t, "reenrollment", logs[0].Reason)
	require.Equal(t, later, logs[0].At)
}
