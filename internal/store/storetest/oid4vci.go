package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/internal/store"
)

// testGrantsOnce: an OpenID4VCI grant reads back until it expires or is
// consumed; of concurrent consumers exactly one gets it; kinds do not mix.
func testGrantsOnce(t *testing.T, s store.Store) {
	ctx := context.Background()
	now := time.Now()
	require.NoError(t, s.PutGrant(ctx, "code", "k1", []byte(`{"a":1}`), now.Add(time.Minute)))
	doc, err := s.Grant(ctx, "code", "k1", now)
	require.NoError(t, err)
	require.JSONEq(t, `{"a":1}`, string(doc))
	_, err = s.Grant(ctx, "token", "k1", now)
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.Grant(ctx, "code", "k1", now.Add(2*time.Minute))
	require.ErrorIs(t, err, store.ErrNotFound, "expired")
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := 0
	for range 8 {
		wg.Go(func() {
			doc, err := s.ConsumeGrant(ctx, "code", "k1", now)
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				won++
				require.JSONEq(t, `{"a":1}`, string(doc))
			} else if !errors.Is(err, store.ErrUsed) {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	require.Equal(t, 1, won)
	_, err = s.Grant(ctx, "code", "k1", now)
	require.ErrorIs(t, err, store.ErrNotFound, "used")
	_, err = s.ConsumeGrant(ctx, "code", "k2", now)
	require.ErrorIs(t, err, store.ErrUsed, "unknown")
}
