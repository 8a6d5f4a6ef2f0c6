package server

import (
	"context"
	"encoding/hex"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/coreid"
	"github.com/mustard-id/mustard/internal/store/sqlite"
	"github.com/mustard-id/mustard/internal/trust"
	"github.com/mustard-id/mustard/zk"
)

// The union root follows another provider's revocation once the refresh
// interval has passed (not before), this server's own revocations at
// once, keeps the last good union while fetches fail, and becomes
// unavailable (the zero element) four intervals after the last good one.
func TestRevocationUnionBound(t *testing.T) {
	ctx := context.Background()
	key, err := zk.GenerateKey(nil)
	require.NoError(t, err)
	fw := &trust.Document{ID: "union-test", Providers: []trust.Provider{{ID: "https://other.example", Key: hex.EncodeToString(key.Public().Bytes()), MaxGrade: "high", ValidUntil: time.Now().AddDate(1, 0, 0).Unix()}}}
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "m.db"))
	require.NoError(t, err)
	defer st.Close()
	other, err := coreid.New(ctx, coreid.Config{Framework: fw, Key: key, TagKey: make([]byte, 32),
		IsDuplicate: func(err error) bool { return errors.Is(err, sqlite.ErrDuplicate) },
		IsNotFound:  func(err error) bool { return errors.Is(err, sqlite.ErrNotFound) }}, st)
	require.NoError(t, err)
	hs := httptest.NewServer(other.Handler())
	defer hs.Close()
	fw.Providers[0].URL = hs.URL

	clock := time.Now()
	var own []fr.Element
	u := &revocationUnion{others: fw, hc: hs.Client(), now: func() time.Time { return clock }, interval: time.Minute, progress: func(string) {},
		own: func() coreid.Snapshot {
			tr, err := zk.IndexedTreeFrom(coreid.RevocationDepth, own)
			require.NoError(t, err)
			return coreid.Snapshot{Root: tr.Root(), Entries: own}
		}}
	rootOf := func(entries ...fr.Element) fr.Element {
		tr, err := zk.IndexedTreeFrom(coreid.RevocationDepth, entries)
		require.NoError(t, err)
		return tr.Root()
	}
	require.Equal(t, rootOf(), u.Root())

	// Another provider revokes: seen after the interval, not before.
	require.NoError(t, other.Revoke(ctx, fr.NewElement(7), coreid.ReasonProvider))
	theirs := other.RevocationEntry(fr.NewElement(7))
	clock = clock.Add(59 * time.Second)
	require.Equal(t, rootOf(), u.Root(), "refetched within the interval")
	clock = clock.Add(time.Second)
	require.Equal(t, rootOf(theirs), u.Root())
	lastGood := clock

	// This server's own revocation counts at once.
	own = []fr.Element{fr.NewElement(99)}
	require.Equal(t, rootOf(theirs, own[0]), u.Root())

	// The other provider goes away: the last union is kept for four
	// intervals, then the root is unavailable.
	hs.Close()
	clock = lastGood.Add(4*time.Minute - time.Second)
	require.Equal(t, rootOf(theirs, own[0]), u.Root())
	clock = lastGood.Add(4 * time.Minute)
	require.Equal(t, fr.Element{}, u.Root(), "a union older than four intervals was used")
	require.NotEqual(t, fr.Element{}, rootOf(), "the empty union's root is not the zero element")
}
