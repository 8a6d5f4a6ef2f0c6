package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/internal/store"
	"github.com/mustard-id/mustard/internal/store/postgres/pgtest"
	"github.com/mustard-id/mustard/internal/store/storetest"
	"github.com/mustard-id/mustard/internal/tlog"
)

func openDSN(t *testing.T, dsn string) *Store {
	s, err := Open(context.Background(), dsn)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

// The store suite every backend passes, each test in a schema of its own.
func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openDSN(t, pgtest.DSN(t)) })
}

// Two handles on one database, as two servers: nonces, identities and
// the log stay single across them.
func TestShared(t *testing.T) {
	dsn := pgtest.DSN(t)
	storetest.RunShared(t, openDSN(t, dsn), openDSN(t, dsn))
}

// Migrations run once: reopening (or a second server starting) finds the
// schema current and changes nothing.
func TestMigrateIdempotent(t *testing.T) {
	dsn := pgtest.DSN(t)
	a := openDSN(t, dsn)
	require.NoError(t, a.PutSecret(context.Background(), "k", []byte{1}))
	b := openDSN(t, dsn)
	var n, v int
	require.NoError(t, b.Pool().QueryRow(context.Background(), `SELECT COUNT(*), MAX(version) FROM schema_version`).Scan(&n, &v))
	require.Equal(t, len(migrations), n)
	require.Equal(t, len(migrations), v)
	got, err := b.Secret(context.Background(), "k")
	require.NoError(t, err)
	require.Equal(t, []byte{1}, got)
}

func TestRebind(t *testing.T) {
	for in, want := range map[string]string{
		`SELECT 1`:                                  `SELECT 1`,
		`SELECT a FROM t WHERE b = ? AND c = ?`:     `SELECT a FROM t WHERE b = $1 AND c = $2`,
		`SELECT '?' , "q?" FROM t WHERE x = ?`:      `SELECT '?' , "q?" FROM t WHERE x = $1`,
		"SELECT 1 -- why?\nFROM t WHERE y = ?":      "SELECT 1 -- why?\nFROM t WHERE y = $1",
		`SELECT 'unterminated ?`:                    `SELECT 'unterminated ?`,
		`INSERT INTO t VALUES(?, ?, ?) -- done ? ?`: `INSERT INTO t VALUES($1, $2, $3) -- done ? ?`,
		`SELECT 5 - ?`:                              `SELECT 5 - $1`,
	} {
		require.Equal(t, want, rebind(in), in)
	}
}

// tlog.Append alone (not through Logged) is safe with concurrent
// appenders: it locks the head row itself.
func TestTlogAppendConcurrent(t *testing.T) {
	s := openDSN(t, pgtest.DSN(t))
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			tx, err := s.DB().BeginTx(ctx, nil)
			if err != nil {
				t.Error(err)
				return
			}
			defer tx.Rollback()
			if _, err := tlog.Append(ctx, tx, tlog.NewEntry(tlog.KindFramework, time.Now(), map[string]string{"document": fmt.Sprint(i)})); err != nil {
				t.Error(err)
				return
			}
			if err := tx.Commit(); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	skey, _, err := tlog.NewKey("t/log")
	require.NoError(t, err)
	l, err := tlog.New(s.DB(), "t/log", skey)
	require.NoError(t, err)
	n, err := l.Size(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 16, n)
	entries, err := l.Entries(ctx, 0, n)
	require.NoError(t, err)
	want, err := tlog.RootOf(entries)
	require.NoError(t, err)
	got, err := l.Root(ctx, n)
	require.NoError(t, err)
	require.Equal(t, want, got)
}

// rebind numbers every ? outside quotes and comments, and changes nothing
// else: numbering the placeholders back to ? gives the input again.
func FuzzRebind(f *testing.F) {
	for _, s := range []string{`SELECT ? FROM t WHERE a = '?' AND b = ?`, "x -- ?\n?", `"?"?'`, `?`, ``} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		if strings.Contains(q, "$") {
			return
		}
		out := rebind(q)
		parts := strings.Split(out, "$")
		back := parts[0]
		for k, p := range parts[1:] {
			n := strconv.Itoa(k + 1)
			if !strings.HasPrefix(p, n) {
				t.Fatalf("rebind(%q) = %q: placeholder %d is not $%s", q, out, k+1, n)
			}
			back += "?" + p[len(n):]
		}
		if back != q {
			t.Fatalf("rebind(%q) = %q", q, out)
		}
	})
}

// A DSN that does not parse is refused without being repeated.
func TestOpenBadDSN(t *testing.T) {
	_, err := Open(context.Background(), "postgres://u:hunter2@[::1")
	require.Error(t, err)
	require.NotContains(t, err.Error(), "hunter2")
}
