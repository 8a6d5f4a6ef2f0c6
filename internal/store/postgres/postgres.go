// Package postgres is Mustard's store on PostgreSQL (pgx v5, a connection
// pool), for several servers sharing one database. It keeps the same
// contract as the embedded SQLite store (store.Store; the suite in
// internal/store/storetest runs against both): nonces are consumed once
// across every server, one person's tags yield one identity however many
// servers enroll them at once, compare-and-swap updates lose with
// ErrConflict or ErrUsed, and every record witnessed by the transparency
// log commits in one transaction with its entry. It holds hashes,
// commitments and counters, never a name, a birthdate or a source
// identifier.
package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/mustard-id/mustard/internal/store"
	"github.com/mustard-id/mustard/internal/tlog"
)

// Store is a PostgreSQL database: a pgx pool, and a database/sql handle
// over the same pool for the transparency log and Logged transactions.
type Store struct {
	pool  *pgxpool.Pool
	db    *sql.DB
	swept atomic.Int64 // unix seconds oauth sessions were last swept
}

var _ store.Store = (*Store)(nil)

// Open connects to the database named by dsn (a postgres:// URL or a
// key=value string; pool_max_conns and search_path are honoured) and
// brings its schema up to date.
func Open(ctx context.Context, dsn string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx's message may quote the DSN, password included.
		return nil, errors.New("store: postgres: the database URL does not parse")
	}
	if !strings.Contains(dsn, "pool_max_conns") {
		// pgx's default (4 on two cores) queues requests that each hold a
		// connection for a few hundred microseconds of network wait.
		cfg.MaxConns = int32(max(16, 4*runtime.NumCPU()))
	}
	return OpenConfig(ctx, cfg)
}

// OpenConfig is Open with a parsed pool configuration.
func OpenConfig(ctx context.Context, cfg *pgxpool.Config) (*Store, error) {
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: postgres: %w", err)
	}
	db := sql.OpenDB(rebindConnector{stdlib.GetPoolConnector(pool)})
	db.SetMaxIdleConns(0) // idle connections belong to the pool
	s := &Store{pool: pool, db: db}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("store: postgres migrate: %w", err)
	}
	return s, nil
}

// Close closes the pool.
func (s *Store) Close() error {
	err := s.db.Close()
	s.pool.Close()
	return err
}

// DB is a database/sql handle over the pool that takes ? placeholders.
func (s *Store) DB() *sql.DB { return s.db }

// Pool is the pgx pool, for operators' tools and tests.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// pgCode is the SQLSTATE of a PostgreSQL error, "" for any other error.
func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

const (
	uniqueViolation      = "23505"
	serializationFailure = "40001"
	deadlockDetected     = "40P01"
	maxAttempts          = 5
)

// wrap names the operation, and turns a unique violation into ErrDuplicate.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if pgCode(err) == uniqueViolation {
		return fmt.Errorf("store: %s: %w", op, store.ErrDuplicate)
	}
	if errors.Is(err, store.ErrDuplicate) || errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrUsed) {
		return err
	}
	return fmt.Errorf("store: %s: %w", op, err)
}

// retry runs f again, a bounded number of times with jittered backoff,
// while it fails with a serialization failure or a deadlock, the errors
// PostgreSQL asks clients to retry.
func retry(ctx context.Context, f func() error) error {
	for attempt := 1; ; attempt++ {
		err := f()
		if c := pgCode(err); attempt == maxAttempts || (c != serializationFailure && c != deadlockDetected) {
			return err
		}
		d := time.Duration(1<<attempt)*time.Millisecond + rand.N(2*time.Millisecond)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(d):
		}
	}
}

// Logged runs write and appends e to the transparency log in one
// transaction. The transaction first locks the log's head row (SELECT …
// FOR UPDATE), so logged writes from every server take turns: the log
// grows by one entry at a time, and records with sequence numbers
// (revocations) commit in the order of those numbers, so a reader paging
// by sequence number never skips one committed late.
func (s *Store) Logged(ctx context.Context, write func(tx *sql.Tx) error, e tlog.Entry) error {
	return s.logged(ctx, write, e)
}

func (s *Store) logged(ctx context.Context, write func(tx *sql.Tx) error, es ...tlog.Entry) error {
	return retry(ctx, func() error {
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("store: begin: %w", err)
		}
		defer tx.Rollback()
		if _, err := tx.ExecContext(ctx, `SELECT size FROM tlog_head WHERE id = 1 FOR UPDATE`); err != nil {
			return fmt.Errorf("store: lock log head: %w", err)
		}
		if write != nil {
			if err := write(tx); err != nil {
				return err
			}
		}
		for _, e := range es {
			if _, err := tlog.Append(ctx, tx, e); err != nil {
				return err
			}
		}
		if err := tx.Commit(); err != nil {
			return wrap("commit", err)
		}
		return nil
	})
}

// AppendLog appends an entry that witnesses no stored record.
func (s *Store) AppendLog(ctx context.Context, e tlog.Entry) error {
	return s.logged(ctx, nil, e)
}

// CreateIdentity records a new core identity under its uniqueness tag; a
// second identity under the same tag is ErrDuplicate (a concurrent insert
// of the same tag waits for the first to commit, then does nothing).
func (s *Store) CreateIdentity(ctx context.Context, tag, revNonce []byte, now time.Time) error {
	ct, err := s.pool.Exec(ctx, `INSERT INTO identities(tag, rev_nonce, created_at) VALUES($1, $2, $3) ON CONFLICT(tag) DO NOTHING`, tag, revNonce, now.Unix())
	if err != nil {
		return wrap("create identity", err)
	}
	if ct.RowsAffected() == 0 {
		return store.ErrDuplicate
	}
	return nil
}

// EnrollIdentity records one new core identity under all its tags,
// atomically: if any tag is held, nothing is written and the error is
// ErrDuplicate.
func (s *Store) EnrollIdentity(ctx context.Context, tags [][]byte, revNonce []byte, now time.Time) error {
	if len(tags) == 0 {
		return fmt.Errorf("store: enroll identity: no tag")
	}
	return s.logged(ctx, func(tx *sql.Tx) error {
		for _, tag := range tags {
			res, err := tx.ExecContext(ctx, `INSERT INTO identities(tag, rev_nonce, created_at) VALUES(?, ?, ?) ON CONFLICT(tag) DO NOTHING`, tag, revNonce, now.Unix())
			if err != nil {
				return wrap("enroll identity", err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return store.ErrDuplicate
			}
		}
		return nil
	}, store.IssuedEntry(revNonce, now))
}

// Identity returns the revocation nonce held under tag and since when.
func (s *Store) Identity(ctx context.Context, tag []byte) (revNonce []byte, since time.Time, err error) {
	var at int64
	err = s.pool.QueryRow(ctx, `SELECT rev_nonce, created_at FROM identities WHERE tag = $1`, tag).Scan(&revNonce, &at)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, time.Time{}, store.ErrNotFound
	}
	if err != nil {
		return nil, time.Time{}, wrap("identity", err)
	}
	return revNonce, time.Unix(at, 0), nil
}

// ReplaceIdentity moves the identity whose credential is oldRevNonce to
// newRevNonce, adds the presented tags, and records revEntry as revoked,
// in one transaction; ErrConflict (nothing written) if the old credential
// changed meanwhile or a presented tag belongs to another identity.
func (s *Store) ReplaceIdentity(ctx context.Context, tags [][]byte, oldRevNonce, newRevNonce, revEntry []byte, reason string, now time.Time) error {
	return s.logged(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE identities SET rev_nonce = ?, created_at = ? WHERE rev_nonce = ?`, newRevNonce, now.Unix(), oldRevNonce)
		if err != nil {
			return wrap("replace identity", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.ErrConflict
		}
		for _, tag := range tags {
			var held []byte
			err := tx.QueryRowContext(ctx, `INSERT INTO identities(tag, rev_nonce, created_at) VALUES(?, ?, ?) ON CONFLICT(tag) DO UPDATE SET tag = excluded.tag RETURNING rev_nonce`, tag, newRevNonce, now.Unix()).Scan(&held)
			if err != nil {
				return wrap("replace identity", err)
			}
			if string(held) != string(newRevNonce) {
				return store.ErrConflict
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO revocations(entry, reason, created_at) VALUES(?, ?, ?) ON CONFLICT(entry) DO NOTHING`, revEntry, reason, now.Unix()); err != nil {
			return wrap("replace identity", err)
		}
		return nil
	}, store.RevokedEntry(revEntry, reason, now), store.IssuedEntry(newRevNonce, now))
}

// AddRevocation appends a revocation entry with its reason class, and
// logs it in the same transaction; an entry already there is ErrDuplicate.
func (s *Store) AddRevocation(ctx context.Context, entry []byte, reason string, now time.Time) error {
	return s.logged(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO revocations(entry, reason, created_at) VALUES(?, ?, ?)`, entry, reason, now.Unix())
		return wrap("add revocation", err)
	}, store.RevokedEntry(entry, reason, now))
}

// Revocations lists every revocation entry in insertion order.
func (s *Store) Revocations(ctx context.Context) ([][]byte, error) {
	rows, err := s.pool.Query(ctx, `SELECT entry FROM revocations ORDER BY seq`)
	if err != nil {
		return nil, wrap("revocations", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	return out, wrap("revocations", err)
}

// RevocationLogs lists the revocation records after seq, oldest first, at
// most limit of them.
func (s *Store) RevocationLogs(ctx context.Context, after int64, limit int) ([]store.RevocationLog, error) {
	rows, err := s.pool.Query(ctx, `SELECT seq, reason, created_at FROM revocations WHERE seq > $1 ORDER BY seq LIMIT $2`, after, limit)
	if err != nil {
		return nil, wrap("revocation logs", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.RevocationLog, error) {
		var l store.RevocationLog
		var at int64
		err := r.Scan(&l.Seq, &l.Reason, &at)
		l.At = time.Unix(at, 0)
		return l, err
	})
	return out, wrap("revocation logs", err)
}

// CreateNonce records a fresh single-use nonce for purpose and, in the
// same statement, drops nonces that expired a minute ago or more.
func (s *Store) CreateNonce(ctx context.Context, purpose, nonce string, expires time.Time) error {
	_, err := s.pool.Exec(ctx, `WITH expired AS (DELETE FROM nonces WHERE expires_at < $4)
		INSERT INTO nonces(purpose, nonce, expires_at) VALUES($1, $2, $3)`,
		purpose, nonce, expires.Unix(), time.Now().Add(-time.Minute).Unix())
	return wrap("create nonce", err)
}

// ConsumeNonce marks nonce used; ErrUsed when it is unknown, expired or
// already used. The check and the mark are one statement: of concurrent
// consumers on any server, one updates the row and the others, waiting on
// its row lock, find it used.
func (s *Store) ConsumeNonce(ctx context.Context, purpose, nonce string, now time.Time) error {
	ct, err := s.pool.Exec(ctx, `UPDATE nonces SET used = 1 WHERE purpose = $1 AND nonce = $2 AND used = 0 AND expires_at > $3`, purpose, nonce, now.Unix())
	if err != nil {
		return wrap("consume nonce", err)
	}
	if ct.RowsAffected() == 0 {
		return store.ErrUsed
	}
	return nil
}

// NonceValid reports whether nonce exists unused and unexpired.
func (s *Store) NonceValid(ctx context.Context, purpose, nonce string, now time.Time) (bool, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT COUNT(*) FROM nonces WHERE purpose = $1 AND nonce = $2 AND used = 0 AND expires_at > $3`, purpose, nonce, now.Unix()).Scan(&n)
	return n == 1, wrap("nonce valid", err)
}

// RecordIssuance stores a persona credential's issuance and returns its
// index in the status list.
func (s *Store) RecordIssuance(ctx context.Context, pseudonym []byte, vkID string, issued, expires time.Time) (int64, error) {
	var idx int64
	err := s.pool.QueryRow(ctx, `INSERT INTO issuances(pseudonym, vk_id, issued_at, expires_at) VALUES($1, $2, $3, $4) RETURNING status_idx`, pseudonym, vkID, issued.Unix(), expires.Unix()).Scan(&idx)
	return idx, wrap("record issuance", err)
}

// PutSecret stores sealed key material under name (overwriting).
func (s *Store) PutSecret(ctx context.Context, name string, sealed []byte) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO secrets(name, value) VALUES($1, $2) ON CONFLICT(name) DO UPDATE SET value = excluded.value`, name, sealed)
	return wrap("put secret", err)
}

// Secret returns the sealed key material stored under name.
func (s *Store) Secret(ctx context.Context, name string) ([]byte, error) {
	var b []byte
	err := s.pool.QueryRow(ctx, `SELECT value FROM secrets WHERE name = $1`, name).Scan(&b)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	return b, wrap("secret", err)
}

// Counts returns the number of rows per table.
func (s *Store) Counts(ctx context.Context) (map[string]int, error) {
	var c [6]int
	err := s.pool.QueryRow(ctx, `SELECT
		(SELECT COUNT(*) FROM identities), (SELECT COUNT(*) FROM revocations),
		(SELECT COUNT(*) FROM nonces), (SELECT COUNT(*) FROM issuances),
		(SELECT COUNT(*) FROM secrets), (SELECT COUNT(*) FROM nonces WHERE used = 1)`).Scan(&c[0], &c[1], &c[2], &c[3], &c[4], &c[5])
	if err != nil {
		return nil, wrap("counts", err)
	}
	return map[string]int{"identities": c[0], "revocations": c[1], "nonces": c[2], "issuances": c[3], "secrets": c[4], "nonces_used": c[5]}, nil
}
