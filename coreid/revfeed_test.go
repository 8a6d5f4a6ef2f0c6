package coreid

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/internal/store/sqlite"
	"github.com/mustard-id/mustard/zk"
)

// slowFeed holds the first feed read until released: a start on a large
// tree, caused on a small one.
type slowFeed struct {
	*sqlite.Store
	release chan struct{}
	fail    bool
}

func (s *slowFeed) RevocationsAfter(ctx context.Context, after int64, limit int) ([]int64, [][]byte, error) {
	<-s.release
	if s.fail {
		return nil, nil, errors.New("disk on fire")
	}
	return s.Store.RevocationsAfter(ctx, after, limit)
}

// The tree loads in the background: New returns at once, Loaded says
// false until the tree is built, and what needs the tree waits for it
// (and gets the tree with every stored entry). A tree that fails to load
// refuses every revocation and gives no root a proof could match.
func TestRevocationTreeLoadsInBackground(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for range 3 {
		x, err := zk.RandomElement()
		require.NoError(t, err)
		require.NoError(t, e.p.Revoke(ctx, x, ReasonProvider))
	}
	want := e.p.RevocationRoot()

	feed := &slowFeed{Store: e.store, release: make(chan struct{})}
	p, err := New(ctx, e.p.cfg, feed)
	require.NoError(t, err)
	require.False(t, p.Loaded())
	got := make(chan [32]byte, 1)
	go func() { r := p.RevocationRoot(); got <- r.Bytes() }()
	select {
	case <-got:
		t.Fatal("the root was read before the tree was built")
	case <-time.After(50 * time.Millisecond):
	}
	close(feed.release)
	require.Equal(t, want.Bytes(), <-got)
	require.True(t, p.Loaded())
	require.NoError(t, p.Ready())

	bad := &slowFeed{Store: e.store, release: make(chan struct{}), fail: true}
	close(bad.release)
	q, err := New(ctx, e.p.cfg, bad)
	require.NoError(t, err)
	require.Error(t, q.Ready())
	require.False(t, q.Loaded())
	root := q.RevocationRoot()
	require.True(t, root.IsZero())
	x, err := zk.RandomElement()
	require.NoError(t, err)
	require.Error(t, q.Revoke(ctx, x, ReasonProvider))
	_, err = q.SignedRoot()
	require.Error(t, err)
}
