package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/coreid"
	"github.com/mustard-id/mustard/internal/store/sqlite"
	"github.com/mustard-id/mustard/internal/trust"
	"github.com/mustard-id/mustard/zk"
)

// TestThresholdUnionNeedsEveryURL: a k-of-n server refuses a framework
// listing another provider without a url (the union would silently leave
// its revocations out: fail open); its own entry needs none.
func TestThresholdUnionNeedsEveryURL(t *testing.T) {
	key := func() string {
		k, err := zk.GenerateKey(rand.Reader)
		require.NoError(t, err)
		return hex.EncodeToString(k.Public().Bytes())
	}
	until := time.Now().AddDate(1, 0, 0).Unix()
	own, other := key(), key()
	fw := &trust.Document{ID: "fw", Providers: []trust.Provider{
		{ID: "own", Key: own, MaxGrade: "high", ValidUntil: until},
		{ID: "other", Key: other, MaxGrade: "high", ValidUntil: until},
	}}
	s := &Server{Framework: fw}
	_, _, err := s.thresholdRoots(Options{Now: time.Now}, own)
	require.ErrorContains(t, err, "provider other without a url")

	fw.Providers[1].URL = "https://other.example"
	_, _, err = s.thresholdRoots(Options{Now: time.Now}, own)
	require.NoError(t, err)
}

// TestRevocationUnionSlowProvider: while one refresh waits on a slow
// provider (one that answers at its fetch timeout, say), other k-of-n
// verifications go on with the last union instead of queueing behind it,
// so one provider cannot stall every other server's verifications.
func TestRevocationUnionSlowProvider(t *testing.T) {
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
	var slow atomic.Bool
	release := make(chan struct{})
	h := other.Handler()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if slow.Load() {
			<-release
		}
		h.ServeHTTP(w, r)
	}))
	defer hs.Close()
	fw.Providers[0].URL = hs.URL
	clock := time.Now()
	var mu sync.Mutex
	u := &revocationUnion{others: fw, hc: hs.Client(), interval: time.Minute, progress: func(string) {},
		now: func() time.Time { mu.Lock(); defer mu.Unlock(); return clock },
		own: func() coreid.Snapshot { return coreid.Snapshot{} }}
	// The first refresh: a caller arriving meanwhile has no union to use
	// and waits for it rather than getting the zero element.
	slow.Store(true)
	start := make(chan fr.Element, 2)
	go func() { start <- u.Root() }()
	time.Sleep(100 * time.Millisecond)
	go func() { start <- u.Root() }()
	time.Sleep(100 * time.Millisecond)
	slow.Store(false)
	close(release)
	good, also := <-start, <-start
	require.NotEqual(t, fr.Element{}, good)
	require.Equal(t, good, also)
	release = make(chan struct{})

	mu.Lock()
	clock = clock.Add(time.Minute)
	mu.Unlock()
	slow.Store(true)
	first := make(chan fr.Element, 1)
	go func() { first <- u.Root() }()
	time.Sleep(100 * time.Millisecond) // the first caller is now fetching
	second := make(chan fr.Element, 1)
	go func() { second <- u.Root() }()
	select {
	case r := <-second:
		require.Equal(t, good, r, "the last union, still fresh enough")
	case <-time.After(2 * time.Second):
		close(release)
		t.Fatal("a verification queued behind a slow provider's fetch")
	}
	close(release)
	require.Equal(t, good, <-first)
}
