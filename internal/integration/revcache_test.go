package integration

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/coreid"
	wallet "github.com/mustard-id/mustard/persona"
	"github.com/mustard-id/mustard/zk"
)

// The wallet's revocation cache downloads the tree in pages, then only
// what was revoked since, and derives a persona the issuer accepts
// against the provider's current root.
func TestRevocationCacheIncremental(t *testing.T) {
	ctx := context.Background()
	w, pin, fw := enrolled(t)
	p := env.srv.Provider
	revoke := func(n int) {
		for range n {
			x, err := zk.RandomElement()
			require.NoError(t, err)
			require.NoError(t, p.Revoke(ctx, x, coreid.ReasonProvider))
		}
	}
	revoke(5)
	cl := &wallet.Client{BaseURL: env.base, HTTP: &http.Client{Timeout: time.Minute}, RevocationPage: 3}
	rc := &wallet.RevocationCache{}
	require.NoError(t, rc.Sync(ctx, cl))
	require.Equal(t, p.RevocationRoot(), rc.Root())
	require.Equal(t, len(p.Revocations().Entries), rc.Len())

	before := rc.Len()
	revoke(7) // more than two pages
	require.NoError(t, rc.Sync(ctx, cl))
	require.Equal(t, before+7, rc.Len())
	require.Equal(t, p.RevocationRoot(), rc.Root())

	// The whole snapshot through the paged client is the same tree.
	snap, err := cl.Revocations(ctx)
	require.NoError(t, err)
	require.Equal(t, p.RevocationRoot(), snap.Root)
	require.Len(t, snap.Entries, rc.Len())

	nonce, err := cl.Nonce(ctx, "cache.example")
	require.NoError(t, err)
	key, err := wallet.NewPersonaKey()
	require.NoError(t, err)
	proof, err := w.DeriveCached(ctx, env.srv.Keys, pin, fw, rc, key, wallet.Query{Scope: "cache.example", Nonce: nonce, MinGrade: zk.GradeSubstantial, Predicates: []string{"age>=18"}, Now: time.Now()})
	require.NoError(t, err)
	_, err = cl.Issue(ctx, env.srv.Issuer.ID(), proof, key)
	require.NoError(t, err)

	// A page that does not fit its request is refused.
	_, err = cl.RevocationsSince(ctx, rc.Len()+1, 0)
	var pe *wallet.ProblemError
	require.ErrorAs(t, err, &pe)
	require.Equal(t, coreid.ErrSince.Type(), pe.Type)
	_, err = cl.RevocationsSince(ctx, 0, -1)
	require.NoError(t, err)
	require.NoError(t, cl.Get(ctx, "/v1/revocations?since=0&limit=2", &struct{}{}))
	err = cl.Get(ctx, "/v1/revocations?limit=0", &struct{}{})
	require.ErrorAs(t, err, &pe)
	require.Equal(t, coreid.ErrLimit.Type(), pe.Type)
}
