package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/internal/store"
)

// Status transitions: suspension is reversible, revocation final; every
// change bumps the list's version and an unchanged status does not.
func testSetStatus(t *testing.T, s store.Store) {
	ctx := context.Background()
	now := time.Now()
	idx, err := s.RecordIssuance(ctx, []byte("p"), "vk", now, now.Add(time.Hour))
	require.NoError(t, err)
	other, err := s.RecordIssuance(ctx, []byte("q"), "vk", now, now.Add(time.Hour))
	require.NoError(t, err)
	last, err := s.LastStatusIndex(ctx)
	require.NoError(t, err)
	require.Equal(t, other, last)

	version := func() int64 {
		v, err := s.StatusVersion(ctx, 0)
		require.NoError(t, err)
		return v
	}
	require.Zero(t, version())
	require.NoError(t, s.SetStatus(ctx, idx, 0, statusSuspended, now))
	require.EqualValues(t, 1, version())
	require.NoError(t, s.SetStatus(ctx, idx, 0, statusSuspended, now))
	require.EqualValues(t, 1, version())
	st, err := s.Statuses(ctx, 0, 10)
	require.NoError(t, err)
	require.Equal(t, map[int64]uint8{idx: statusSuspended}, st)

	require.NoError(t, s.SetStatus(ctx, idx, 0, statusValid, now))
	require.NoError(t, s.SetStatus(ctx, idx, 0, statusRevoked, now))
	require.ErrorIs(t, s.SetStatus(ctx, idx, 0, statusValid, now), store.ErrFinal)
	require.ErrorIs(t, s.SetStatus(ctx, idx, 0, statusSuspended, now), store.ErrFinal)
	require.EqualValues(t, 3, version())
	got, _, exp, err := s.ValidationByIndex(ctx, idx)
	require.NoError(t, err)
	require.EqualValues(t, statusRevoked, got)
	require.Equal(t, now.Add(time.Hour).Unix(), exp.Unix())

	require.ErrorIs(t, s.SetStatus(ctx, 999, 0, statusRevoked, now), store.ErrNotFound)
	_, _, _, err = s.ValidationByIndex(ctx, 999)
	require.ErrorIs(t, err, store.ErrNotFound)
	require.Error(t, s.SetStatus(ctx, other, 0, 3, now))
	st, err = s.Statuses(ctx, other, other+1)
	require.NoError(t, err)
	require.Empty(t, st)
}

func testValidationLookups(t *testing.T, s store.Store) {
	ctx := context.Background()
	now := time.Now()
	a, err := s.RecordPersona(ctx, []byte("p"), "vk", 3, 1024, now, now.Add(time.Hour))
	require.NoError(t, err)
	b, err := s.RecordPersona(ctx, []byte("p"), "vk", 2, 1024, now.Add(time.Second), now.Add(2*time.Hour))
	require.NoError(t, err)
	require.NoError(t, s.SetStatus(ctx, a, 0, statusRevoked, now))
	st, grade, exp, err := s.ValidationByIndex(ctx, a)
	require.NoError(t, err)
	require.EqualValues(t, statusRevoked, st)
	require.EqualValues(t, 3, grade)
	require.Equal(t, now.Add(time.Hour).Unix(), exp.Unix())
	idx, err := s.LatestByPseudonym(ctx, []byte("p"))
	require.NoError(t, err)
	require.Equal(t, b, idx, "the latest credential of the pseudonym")
	_, err = s.LatestByPseudonym(ctx, []byte("q"))
	require.ErrorIs(t, err, store.ErrNotFound)
	_, _, _, err = s.ValidationByIndex(ctx, 99)
	require.ErrorIs(t, err, store.ErrNotFound)
}

// Status indexes are random within the current list, which is used up to
// its half before the next one starts.
func testRecordPersonaRandomIndex(t *testing.T, s store.Store) {
	ctx := context.Background()
	now := time.Now()
	const size = 64
	seen := map[int64]bool{}
	sequential := true
	var prev int64 = -1
	for i := range 3 * size / 2 {
		idx, err := s.RecordPersona(ctx, []byte{byte(i)}, "vk", 2, size, now, now.Add(time.Hour))
		require.NoError(t, err)
		require.False(t, seen[idx], "an index is given once")
		seen[idx] = true
		require.Equal(t, int64(i/(size/2)), idx/size, "issuance %d lands in list %d", i, i/(size/2))
		if idx != prev+1 {
			sequential = false
		}
		prev = idx
	}
	require.False(t, sequential)
}

// Presentation request documents are served until they expire.
func testRequests(t *testing.T, s store.Store) {
	ctx := context.Background()
	now := time.Now()
	require.NoError(t, s.PutRequest(ctx, "r1", []byte(`{"a":1}`), now.Add(time.Minute)))
	doc, err := s.Request(ctx, "r1", now)
	require.NoError(t, err)
	require.Equal(t, `{"a":1}`, string(doc))
	_, err = s.Request(ctx, "r1", now.Add(2*time.Minute))
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.Request(ctx, "r2", now)
	require.ErrorIs(t, err, store.ErrNotFound)
}

// The status values stored in issuances.status.
const (
	statusValid     = 0
	statusRevoked   = 1
	statusSuspended = 2
)
