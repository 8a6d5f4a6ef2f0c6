// Package storetest is the behaviour every store backend must show, as one
// test suite: internal/store/sqlite and internal/store/postgres run it
// against a fresh database each (Run), and PostgreSQL also with two
// handles on one database, as two servers have (RunShared).
package storetest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/internal/store"
	"github.com/mustard-id/mustard/internal/tlog"
)

// Open returns a store over a fresh, empty database of its own, closed
// when the test ends.
type Open func(t *testing.T) store.Store

// Run runs the suite, each test on a store of its own.
func Run(t *testing.T, open Open) {
	for _, c := range []struct {
		name string
		f    func(*testing.T, store.Store)
	}{
		{"ConsumeNonceOnce", testConsumeNonceOnce},
		{"CreateIdentityOnce", testCreateIdentityOnce},
		{"NoncesStayBounded", testNoncesStayBounded},
		{"SecretsAndRevocations", testSecretsAndRevocations},
		{"EnrollAndReplaceIdentity", testEnrollAndReplaceIdentity},
		{"EnrollOnceConcurrently", testEnrollOnceConcurrently},
		{"ReplaceOnceConcurrently", testReplaceOnceConcurrently},
		{"Issuances", testIssuances},
		{"OAuth", testOAuth},
		{"Clients", testClients},
		{"LogConcurrentAppends", testLogConcurrentAppends},
		{"LoggedRollsBack", testLoggedRollsBack},
		{"SetStatus", testSetStatus},
		{"ValidationLookups", testValidationLookups},
		{"RecordPersonaRandomIndex", testRecordPersonaRandomIndex},
		{"Requests", testRequests},
		{"GrantsOnce", testGrantsOnce},
		{"PendingAndFeed", testPendingAndFeed},
	} {
		t.Run(c.name, func(t *testing.T) { c.f(t, open(t)) })
	}
}

// RunShared runs the concurrency tests with their requests spread over
// two handles on one database (a and b, fresh), as two servers sharing it.
func RunShared(t *testing.T, a, b store.Store) {
	ctx := context.Background()
	now := time.Now()
	both := []store.Store{a, b}

	// One nonce, 32 consumers on two servers: one wins.
	require.NoError(t, a.CreateNonce(ctx, "p", "shared", now.Add(time.Minute)))
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := range 32 {
		wg.Go(func() {
			err := both[i%2].ConsumeNonce(ctx, "p", "shared", now)
			if err == nil {
				wins.Add(1)
			} else if !errors.Is(err, store.ErrUsed) {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	require.EqualValues(t, 1, wins.Load(), "a nonce is consumed once across servers")

	// One person enrolling through both, many times at once: one identity.
	wins.Store(0)
	for i := range 16 {
		wg.Go(func() {
			err := both[i%2].EnrollIdentity(ctx, [][]byte{[]byte("s1"), []byte("s2")}, []byte{byte(i)}, now)
			if err == nil {
				wins.Add(1)
			} else if !errors.Is(err, store.ErrDuplicate) {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	require.EqualValues(t, 1, wins.Load(), "one identity across servers")
	ra, _, err := a.Identity(ctx, []byte("s1"))
	require.NoError(t, err)
	rb, _, err := b.Identity(ctx, []byte("s2"))
	require.NoError(t, err)
	require.Equal(t, ra, rb, "both tags are the one identity's")

	// Log appends from both servers make one consistent log.
	for i := range 20 {
		wg.Go(func() {
			if err := both[i%2].AppendLog(ctx, tlog.NewEntry(tlog.KindFramework, now, map[string]string{"document": fmt.Sprint(i)})); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	checkLog(t, a.DB(), 21) // the enrollment's entry and 20
}

func testConsumeNonceOnce(t *testing.T, s store.Store) {
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
			} else if !errors.Is(err, store.ErrUsed) {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	require.EqualValues(t, 1, wins.Load())

	// Another purpose does not share it; an expired one is refused.
	require.NoError(t, s.CreateNonce(ctx, "p", "n2", now.Add(time.Minute)))
	require.ErrorIs(t, s.ConsumeNonce(ctx, "q", "n2", now), store.ErrUsed)
	require.ErrorIs(t, s.ConsumeNonce(ctx, "p", "n2", now.Add(2*time.Minute)), store.ErrUsed)
	require.ErrorIs(t, s.ConsumeNonce(ctx, "p", "unknown", now), store.ErrUsed)
	ok, err := s.NonceValid(ctx, "p", "n2", now)
	require.NoError(t, err)
	require.True(t, ok)
	ok, err = s.NonceValid(ctx, "p", "n1", now)
	require.NoError(t, err)
	require.False(t, ok, "a used nonce is not valid")
	// A nonce made twice is refused the second time.
	require.Error(t, s.CreateNonce(ctx, "p", "n2", now.Add(time.Minute)))
	c, err := s.Counts(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, c["nonces"])
	require.Equal(t, 1, c["nonces_used"])
}

// Two enrollments of one person at once yield exactly one identity.
func testCreateIdentityOnce(t *testing.T, s store.Store) {
	ctx := context.Background()
	var wins, dups atomic.Int32
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			err := s.CreateIdentity(ctx, []byte("tag"), []byte{byte(i)}, time.Now())
			switch {
			case err == nil:
				wins.Add(1)
			case errors.Is(err, store.ErrDuplicate):
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
func testNoncesStayBounded(t *testing.T, s store.Store) {
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

func testSecretsAndRevocations(t *testing.T, s store.Store) {
	ctx := context.Background()
	_, err := s.Secret(ctx, "keys")
	require.ErrorIs(t, err, store.ErrNotFound)
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
	checkLog(t, s.DB(), 2) // the refused duplicate logged nothing
}

func testEnrollAndReplaceIdentity(t *testing.T, s store.Store) {
	ctx := context.Background()
	now := time.Unix(1_700_000_000, 0)
	require.NoError(t, s.EnrollIdentity(ctx, [][]byte{[]byte("a"), []byte("b")}, []byte{1}, now))
	// One held tag among new ones: nothing is written.
	require.ErrorIs(t, s.EnrollIdentity(ctx, [][]byte{[]byte("c"), []byte("b")}, []byte{2}, now), store.ErrDuplicate)
	_, _, err := s.Identity(ctx, []byte("c"))
	require.ErrorIs(t, err, store.ErrNotFound)
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
	require.ErrorIs(t, s.ReplaceIdentity(ctx, [][]byte{[]byte("a")}, []byte{1}, []byte{4}, []byte("entry-2"), "reenrollment", later), store.ErrConflict)
	// A presented tag held by another identity: nothing is written.
	require.NoError(t, s.EnrollIdentity(ctx, [][]byte{[]byte("z")}, []byte{9}, now))
	require.ErrorIs(t, s.ReplaceIdentity(ctx, [][]byte{[]byte("a"), []byte("z")}, []byte{3}, []byte{5}, []byte("entry-3"), "reenrollment", later), store.ErrConflict)
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
	logs, err = s.RevocationLogs(ctx, logs[0].Seq, 10)
	require.NoError(t, err)
	require.Empty(t, logs)
	// Two enrollments and one replacement (a revocation and an issuance).
	checkLog(t, s.DB(), 4)
}

// One person's multi-source enrollments racing, with their tags in
// different orders: one identity holds every tag.
func testEnrollOnceConcurrently(t *testing.T, s store.Store) {
	ctx := context.Background()
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			tags := [][]byte{[]byte("x"), []byte("y"), []byte("w")}
			if i%2 == 1 {
				tags[0], tags[2] = tags[2], tags[0]
			}
			err := s.EnrollIdentity(ctx, tags, []byte{byte(i)}, time.Now())
			if err == nil {
				wins.Add(1)
			} else if !errors.Is(err, store.ErrDuplicate) {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	require.EqualValues(t, 1, wins.Load())
	c, err := s.Counts(ctx)
	require.NoError(t, err)
	require.Equal(t, 3, c["identities"])
	checkLog(t, s.DB(), 1)
}

// Re-enrollments of one identity racing: one moves it, the others find it
// moved (ErrConflict), and exactly one revocation is recorded.
func testReplaceOnceConcurrently(t *testing.T, s store.Store) {
	ctx := context.Background()
	require.NoError(t, s.EnrollIdentity(ctx, [][]byte{[]byte("a")}, []byte("old"), time.Now()))
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			err := s.ReplaceIdentity(ctx, [][]byte{[]byte("a")}, []byte("old"), []byte{byte(i)}, []byte("rev-old"), "lost-device", time.Now())
			if err == nil {
				wins.Add(1)
			} else if !errors.Is(err, store.ErrConflict) {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	require.EqualValues(t, 1, wins.Load())
	rs, err := s.Revocations(ctx)
	require.NoError(t, err)
	require.Len(t, rs, 1)
	checkLog(t, s.DB(), 3)
}

func testIssuances(t *testing.T, s store.Store) {
	ctx := context.Background()
	now := time.Now()
	seen := map[int64]bool{}
	for range 3 {
		idx, err := s.RecordIssuance(ctx, []byte("pseudonym"), "vk1", now, now.Add(time.Hour))
		require.NoError(t, err)
		require.False(t, seen[idx], "status indexes are distinct")
		seen[idx] = true
	}
	c, err := s.Counts(ctx)
	require.NoError(t, err)
	require.Equal(t, 3, c["issuances"])
}

func testOAuth(t *testing.T, s store.Store) {
	ctx := context.Background()
	exp := time.Now().Add(time.Hour)
	require.NoError(t, s.PutOAuth(ctx, "code", "k1", "r1", []byte("d1"), exp))
	require.ErrorIs(t, s.PutOAuth(ctx, "code", "k1", "r1", []byte("other"), exp), store.ErrDuplicate)
	require.NoError(t, s.PutOAuth(ctx, "access", "k2", "r1", []byte("d2"), exp))
	d, active, err := s.OAuth(ctx, "code", "k1")
	require.NoError(t, err)
	require.True(t, active)
	require.Equal(t, []byte("d1"), d)
	_, _, err = s.OAuth(ctx, "code", "nope")
	require.ErrorIs(t, err, store.ErrNotFound)

	// Compare-and-swap: a stale old value loses.
	require.NoError(t, s.UpdateOAuth(ctx, "code", "k1", []byte("d1"), []byte("d1b")))
	require.ErrorIs(t, s.UpdateOAuth(ctx, "code", "k1", []byte("d1"), []byte("d1c")), store.ErrUsed)

	// A code is redeemed once, however many try at once.
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			err := s.DeactivateOAuth(ctx, "code", "k1")
			if err == nil {
				wins.Add(1)
			} else if !errors.Is(err, store.ErrUsed) {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	require.EqualValues(t, 1, wins.Load())
	require.ErrorIs(t, s.DeactivateOAuth(ctx, "code", "nope"), store.ErrNotFound)
	require.ErrorIs(t, s.UpdateOAuth(ctx, "code", "k1", []byte("d1b"), []byte("x")), store.ErrUsed, "inactive records do not change")

	require.NoError(t, s.DeactivateOAuthRequest(ctx, "access", "r1"))
	_, active, err = s.OAuth(ctx, "access", "k2")
	require.NoError(t, err)
	require.False(t, active)
	require.NoError(t, s.DeleteOAuthRequest(ctx, "access", "r1"))
	_, _, err = s.OAuth(ctx, "access", "k2")
	require.ErrorIs(t, err, store.ErrNotFound)
	require.NoError(t, s.DeleteOAuth(ctx, "code", "k1"))
	require.NoError(t, s.DeleteOAuth(ctx, "code", "k1"), "deleting nothing is no error")
	_, _, err = s.OAuth(ctx, "code", "k1")
	require.ErrorIs(t, err, store.ErrNotFound)
	require.NoError(t, s.RecordConsent(ctx, "client", "subject", "manifest", "age_over_18", time.Now()))
}

func testClients(t *testing.T, s store.Store) {
	ctx := context.Background()
	_, err := s.Client(ctx, "c1")
	require.ErrorIs(t, err, store.ErrNotFound)
	require.NoError(t, s.PutClient(ctx, "c1", []byte(`{"a":1}`), time.Now()))
	require.ErrorIs(t, s.PutClient(ctx, "c1", []byte(`{"a":2}`), time.Now()), store.ErrDuplicate)
	b, err := s.Client(ctx, "c1")
	require.NoError(t, err)
	require.Equal(t, []byte(`{"a":1}`), b)
	checkLog(t, s.DB(), 1)
}

// Concurrent appenders make one log: no index twice, no gap, and the
// stored tree is the tree of the stored entries.
func testLogConcurrentAppends(t *testing.T, s store.Store) {
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 24 {
		wg.Go(func() {
			e := tlog.NewEntry(tlog.KindFramework, time.Now(), map[string]string{"document": fmt.Sprint(i)})
			if err := s.AppendLog(ctx, e); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	checkLog(t, s.DB(), 24)
}

// A Logged write that fails leaves neither the record nor the entry.
func testLoggedRollsBack(t *testing.T, s store.Store) {
	ctx := context.Background()
	e := tlog.NewEntry(tlog.KindFramework, time.Now(), map[string]string{"document": "x"})
	boom := errors.New("boom")
	err := s.Logged(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO secrets(name, value) VALUES(?, ?)`, "n", []byte{1}); err != nil {
			return err
		}
		return boom
	}, e)
	require.ErrorIs(t, err, boom)
	_, err = s.Secret(ctx, "n")
	require.ErrorIs(t, err, store.ErrNotFound)
	require.NoError(t, s.Logged(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO secrets(name, value) VALUES(?, ?)`, "n", []byte{1})
		return err
	}, e))
	_, err = s.Secret(ctx, "n")
	require.NoError(t, err)
	checkLog(t, s.DB(), 1)
}

// checkLog checks the log in db has size entries, and that the tree the
// store keeps is the tree of its entries.
func checkLog(t *testing.T, db *sql.DB, size uint64) {
	t.Helper()
	ctx := context.Background()
	skey, _, err := tlog.NewKey("storetest/log")
	require.NoError(t, err)
	l, err := tlog.New(db, "storetest/log", skey)
	require.NoError(t, err)
	n, err := l.Size(ctx)
	require.NoError(t, err)
	require.Equal(t, size, n)
	entries, err := l.Entries(ctx, 0, n)
	require.NoError(t, err)
	require.Len(t, entries, int(n))
	want, err := tlog.RootOf(entries)
	require.NoError(t, err)
	got, err := l.Root(ctx, n)
	require.NoError(t, err)
	require.Equal(t, want, got)
}
