package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/mustard-id/mustard/internal/store"
	"github.com/mustard-id/mustard/internal/tlog"
)

// EnrollIdentity records one new core identity under all its uniqueness
// tags (one per source, or one shared framework-wide tag), atomically: if
// any tag is already held, nothing is written and the error is
// ErrDuplicate. The store's single connection serializes transactions, so
// concurrent enrollments of one person yield exactly one identity.
func (s *Store) EnrollIdentity(ctx context.Context, tags [][]byte, revNonce []byte, now time.Time) error {
	if len(tags) == 0 {
		return fmt.Errorf("store: enroll identity: no tag")
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: enroll identity: %w", err)
	}
	defer tx.Rollback()
	for _, tag := range tags {
		res, err := tx.ExecContext(ctx, `INSERT INTO identities(tag, rev_nonce, created_at) VALUES(?, ?, ?) ON CONFLICT(tag) DO NOTHING`, tag, revNonce, now.Unix())
		if err != nil {
			return fmt.Errorf("store: enroll identity: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrDuplicate
		}
	}
	if _, err := tlog.Append(ctx, tx, issuedEntry(revNonce, now)); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: enroll identity: %w", err)
	}
	return nil
}

var (
	issuedEntry  = store.IssuedEntry
	revokedEntry = store.RevokedEntry
)

// Identity returns the revocation nonce of the core credential currently
// held under tag, and when it was issued.
func (s *Store) Identity(ctx context.Context, tag []byte) (revNonce []byte, since time.Time, err error) {
	var at int64
	err = s.db.QueryRowContext(ctx, `SELECT rev_nonce, created_at FROM identities WHERE tag = ?`, tag).Scan(&revNonce, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, time.Time{}, ErrNotFound
	}
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("store: identity: %w", err)
	}
	return revNonce, time.Unix(at, 0), nil
}

// coreidSchema indexes identities by credential, so that a re-enrollment
// moves every tag of the identity (from all its sources) at once.
const coreidSchema = `
CREATE INDEX IF NOT EXISTS identities_rev_nonce ON identities(rev_nonce);
`

// ReplaceIdentity moves the identity whose core credential is oldRevNonce
// (every tag it holds, presented or not) to newRevNonce, adds the
// presented tags it did not hold yet, and appends revEntry (the old
// credential's revocation entry) with reason, in one transaction: a
// re-enrollment never leaves the old credential unrevoked, nor a tag
// pointing at it. If the old credential changed meanwhile, or a presented
// tag belongs to another identity, nothing is written and the error is
// ErrConflict.
func (s *Store) ReplaceIdentity(ctx context.Context, tags [][]byte, oldRevNonce, newRevNonce, revEntry []byte, reason string, now time.Time) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: replace identity: %w", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE identities SET rev_nonce = ?, created_at = ? WHERE rev_nonce = ?`, newRevNonce, now.Unix(), oldRevNonce)
	if err != nil {
		return fmt.Errorf("store: replace identity: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrConflict
	}
	for _, tag := range tags {
		if _, err := tx.ExecContext(ctx, `INSERT INTO identities(tag, rev_nonce, created_at) VALUES(?, ?, ?) ON CONFLICT(tag) DO NOTHING`, tag, newRevNonce, now.Unix()); err != nil {
			return fmt.Errorf("store: replace identity: %w", err)
		}
		var held []byte
		if err := tx.QueryRowContext(ctx, `SELECT rev_nonce FROM identities WHERE tag = ?`, tag).Scan(&held); err != nil {
			return fmt.Errorf("store: replace identity: %w", err)
		}
		if !bytes.Equal(held, newRevNonce) {
			return ErrConflict
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO revocations(entry, reason, created_at) VALUES(?, ?, ?) ON CONFLICT(entry) DO NOTHING`, revEntry, reason, now.Unix()); err != nil {
		return fmt.Errorf("store: replace identity: %w", err)
	}
	if _, err := tlog.Append(ctx, tx, revokedEntry(revEntry, reason, now)); err != nil {
		return err
	}
	if _, err := tlog.Append(ctx, tx, issuedEntry(newRevNonce, now)); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: replace identity: %w", err)
	}
	return nil
}

// RevocationLog is one recorded revocation (the store package's type).
type RevocationLog = store.RevocationLog

// RevocationLogs lists the revocation records after seq, oldest first, at
// most limit of them.
func (s *Store) RevocationLogs(ctx context.Context, after int64, limit int) ([]RevocationLog, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT seq, reason, created_at FROM revocations WHERE seq > ? ORDER BY seq LIMIT ?`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("store: revocation logs: %w", err)
	}
	defer rows.Close()
	var out []RevocationLog
	for rows.Next() {
		var l RevocationLog
		var at int64
		if err := rows.Scan(&l.Seq, &l.Reason, &at); err != nil {
			return nil, err
		}
		l.At = time.Unix(at, 0)
		out = append(out, l)
	}
	return out, rows.Err()
}
