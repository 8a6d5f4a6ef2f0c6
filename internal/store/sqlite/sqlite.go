// Package sqlite is Mustard's embedded store: one SQLite database (WAL
// mode, one writer) in the data directory. It implements the storage
// interfaces the parties declare (coreid.Storage, issuer.Storage,
// verifier.Storage). It holds hashes, commitments and counters, never a
// name, a birthdate or a source identifier.
package sqlite

import (
	"github.com/mustard-id/mustard/internal/store"
	"github.com/mustard-id/mustard/internal/tlog"

	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Errors the store reports (the store package's, under their old names);
// the parties wrap them in their own.
var (
	ErrDuplicate = store.ErrDuplicate
	ErrNotFound  = store.ErrNotFound
	ErrUsed      = store.ErrUsed
	ErrConflict  = store.ErrConflict
)

var _ store.Store = (*Store)(nil)

// Store is a SQLite database.
type Store struct {
	db    *sql.DB
	oauth oauthState
}

const schema = `
CREATE TABLE IF NOT EXISTS identities (
	tag        BLOB PRIMARY KEY,   -- keyed hash of the source subject: no personal data
	rev_nonce  BLOB NOT NULL,
	created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS revocations (
	seq        INTEGER PRIMARY KEY AUTOINCREMENT,
	entry      BLOB NOT NULL UNIQUE, -- H(T_REV, pk.x, revNonce)
	reason     TEXT NOT NULL,
	created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS nonces (
	purpose    TEXT NOT NULL,
	nonce      TEXT NOT NULL,
	expires_at INTEGER NOT NULL,
	used       INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (purpose, nonce)
);
CREATE INDEX IF NOT EXISTS nonces_expiry ON nonces(expires_at);
CREATE TABLE IF NOT EXISTS issuances (
	status_idx INTEGER PRIMARY KEY AUTOINCREMENT,
	pseudonym  BLOB NOT NULL,      -- the persona's pseudonym for its scope
	vk_id      TEXT NOT NULL,
	issued_at  INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	status     INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS secrets (
	name  TEXT PRIMARY KEY,
	value BLOB NOT NULL            -- sealed (encrypted) key material only
);
`

// Open opens (creating if needed) the database at path.
func Open(path string) (*Store, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(ON)&_pragma=cache_size(-65536)")
	if err != nil {
		return nil, fmt.Errorf("store: open: %w", err)
	}
	db.SetMaxOpenConns(1) // SQLite has one writer; serialize here rather than retry
	for _, sch := range []string{schema, coreidSchema, oauthSchema, tlog.Schema, statusSchema, gradeSchema, presentationSchema, vciSchema, pendingSchema} {
		if _, err := db.Exec(sch); err != nil {
			db.Close()
			return nil, fmt.Errorf("store: migrate: %w", err)
		}
	}
	st := &Store{db: db}
	if err := st.oauth.prepare(db); err != nil {
		db.Close()
		return nil, err
	}
	return st, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// DB exposes the database for tests and operators' tools.
func (s *Store) DB() *sql.DB { return s.db }

// CreateIdentity records a new core identity under its uniqueness tag; a
// second identity under the same tag is ErrDuplicate, atomically.
func (s *Store) CreateIdentity(ctx context.Context, tag, revNonce []byte, now time.Time) error {
	res, err := s.db.ExecContext(ctx, `INSERT INTO identities(tag, rev_nonce, created_at) VALUES(?, ?, ?) ON CONFLICT(tag) DO NOTHING`, tag, revNonce, now.Unix())
	if err != nil {
		return fmt.Errorf("store: create identity: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrDuplicate
	}
	return nil
}

// AddRevocation appends a revocation entry with its reason class, and
// logs it in the same transaction.
func (s *Store) AddRevocation(ctx context.Context, entry []byte, reason string, now time.Time) error {
	return s.Logged(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO revocations(entry, reason, created_at) VALUES(?, ?, ?)`, entry, reason, now.Unix())
		if err != nil {
			return fmt.Errorf("store: add revocation: %w", err)
		}
		return nil
	}, revokedEntry(entry, reason, now))
}

// Revocations lists every revocation entry in insertion order.
func (s *Store) Revocations(ctx context.Context) ([][]byte, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT entry FROM revocations ORDER BY seq`)
	if err != nil {
		return nil, fmt.Errorf("store: revocations: %w", err)
	}
	defer rows.Close()
	var out [][]byte
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// CreateNonce records a fresh single-use nonce for purpose, and drops
// nonces that expired a minute ago or more, so the table stays bounded by
// the request rate times the nonce lifetime.
func (s *Store) CreateNonce(ctx context.Context, purpose, nonce string, expires time.Time) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM nonces WHERE expires_at < ?`, time.Now().Add(-time.Minute).Unix()); err != nil {
		return fmt.Errorf("store: expire nonces: %w", err)
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO nonces(purpose, nonce, expires_at) VALUES(?, ?, ?)`, purpose, nonce, expires.Unix())
	if err != nil {
		return fmt.Errorf("store: create nonce: %w", err)
	}
	return nil
}

// ConsumeNonce marks nonce used; it fails with ErrUsed when the nonce is
// unknown, expired or already used. The check and the mark are one
// statement, so two concurrent requests cannot both consume it.
func (s *Store) ConsumeNonce(ctx context.Context, purpose, nonce string, now time.Time) error {
	res, err := s.db.ExecContext(ctx, `UPDATE nonces SET used = 1 WHERE purpose = ? AND nonce = ? AND used = 0 AND expires_at > ?`, purpose, nonce, now.Unix())
	if err != nil {
		return fmt.Errorf("store: consume nonce: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrUsed
	}
	return nil
}

// NonceValid reports whether nonce exists unused and unexpired, without
// consuming it.
func (s *Store) NonceValid(ctx context.Context, purpose, nonce string, now time.Time) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM nonces WHERE purpose = ? AND nonce = ? AND used = 0 AND expires_at > ?`, purpose, nonce, now.Unix()).Scan(&n)
	return n == 1, err
}

// RecordIssuance stores a persona credential's issuance and returns its
// index in the status list.
func (s *Store) RecordIssuance(ctx context.Context, pseudonym []byte, vkID string, issued, expires time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, `INSERT INTO issuances(pseudonym, vk_id, issued_at, expires_at) VALUES(?, ?, ?, ?)`, pseudonym, vkID, issued.Unix(), expires.Unix())
	if err != nil {
		return 0, fmt.Errorf("store: record issuance: %w", err)
	}
	return res.LastInsertId()
}

// PutSecret stores sealed key material under name (overwriting).
func (s *Store) PutSecret(ctx context.Context, name string, sealed []byte) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO secrets(name, value) VALUES(?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value`, name, sealed)
	if err != nil {
		return fmt.Errorf("store: put secret: %w", err)
	}
	return nil
}

// Secret returns the sealed key material stored under name.
func (s *Store) Secret(ctx context.Context, name string) ([]byte, error) {
	var b []byte
	err := s.db.QueryRowContext(ctx, `SELECT value FROM secrets WHERE name = ?`, name).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return b, err
}

// Counts returns the number of rows per table, for operators and for tests
// that show bad input changed nothing.
func (s *Store) Counts(ctx context.Context) (map[string]int, error) {
	out := map[string]int{}
	// COUNT(*) walks a whole table: a second at a million rows, during
	// which the store's one connection serves nobody else. Identities and
	// revocations are never deleted, so their largest rowid is their count
	// (a rolled-back insert leaves no gap: SQLite gives max+1).
	for _, q := range [][2]string{{"identities", "SELECT COALESCE(MAX(rowid), 0) FROM identities"}, {"revocations", "SELECT COALESCE(MAX(seq), 0) FROM revocations"}} {
		var n int
		if err := s.db.QueryRowContext(ctx, q[1]).Scan(&n); err != nil {
			return nil, err
		}
		out[q[0]] = n
	}
	for _, t := range []string{"nonces", "issuances", "secrets"} {
		var n int
		if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+t).Scan(&n); err != nil {
			return nil, err
		}
		out[t] = n
	}
	var used int
	if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM nonces WHERE used = 1").Scan(&used); err != nil {
		return nil, err
	}
	out["nonces_used"] = used
	return out, nil
}
