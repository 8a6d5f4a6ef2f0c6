package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func open(t *testing.T) *Store {
	s, err := Open(filepath.Join(t.TempDir(), "m.db"))
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

// A nonce is consumed exactly once, however many requests race for it.
func TestConsumeNonceOnce(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	now := time.Now()
	require.NoError(t, s.CreateNonce(ctx, "p", "n1", now.Add(time.Minute)))
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			err := s.ConsumeNonce(ctx, "p", "n1", now)
			if err == nil {
				wins.Add(1)
			} else if !errors.Is(err, ErrUsed) {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	require.EqualValues(t, 1, wins.Load())

	// Another purpose does not share it; an expired one is refused.
	require.NoError(t, s.CreateNonce(ctx, "p", "n2", now.Add(time.Minute)))
	require.ErrorIs(t, s.ConsumeNonce(ctx, "q", "n2", now), ErrUsed)
	require.ErrorIs(t, s.ConsumeNonce(ctx, "p", "n2", now.Add(2*time.Minute)), ErrUsed)
	ok, err := s.NonceValid(ctx, "p", "n2", now)
	require.NoError(t, err)
	require.True(t, ok)
}

// Two enrollments of one person at once yield exactly one identity.
func TestCreateIdentityOnce(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	var wins, dups atomic.Int32
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			err := s.CreateIdentity(ctx, []byte("tag"), []byte{byte(i)}, time.Now())
			switch {
			case err == nil:
				wins.Add(1)
			case errors.Is(err, ErrDuplicate):
				dups.Add(1)
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	require.EqualValues(t, 1, wins.Load())
	require.EqualValues(t, 15, dups.Load())
	c, err := s.Counts(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, c["identities"])
}

// Expired nonces are dropped as new ones are made.
func TestNoncesStayBounded(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	past := time.Now().Add(-time.Hour)
	for _, n := range []string{"a", "b", "c"} {
		require.NoError(t, s.CreateNonce(ctx, "p", n, past))
	}
	require.NoError(t, s.CreateNonce(ctx, "p", "fresh", time.Now().Add(time.Minute)))
	c, err := s.Counts(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, c["nonces"])
}

func TestSecretsAndRevocations(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	_, err := s.Secret(ctx, "keys")
	require.ErrorIs(t, err, ErrNotFound)
	require.NoError(t, s.PutSecret(ctx, "keys", []byte{1}))
	require.NoError(t, s.PutSecret(ctx, "keys", []byte{2}))
	b, err := s.Secret(ctx, "keys")
	require.NoError(t, err)
	require.Equal(t, []byte{2}, b)

	require.NoError(t, s.AddRevocation(ctx, []byte{9}, "holder", time.Now()))
	require.NoError(t, s.AddRevocation(ctx, []byte{3}, "provider", time.Now()))
	require.Error(t, s.AddRevocation(ctx, []byte{9}, "holder", time.Now()))
	rs, err := s.Revocations(ctx)
	require.NoError(t, err)
	require.Equal(t, [][]byte{{9}, {3}}, rs, "insertion order")
}
