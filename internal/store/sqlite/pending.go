package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// pendingSchema holds the short-lived state of flows that span requests
// (coreid.PendingStorage): attestation challenges, federation logins.
const pendingSchema = `
CREATE TABLE IF NOT EXISTS pending (
	kind       TEXT NOT NULL,
	id         TEXT NOT NULL,
	data       BLOB NOT NULL,
	expires_at INTEGER NOT NULL,
	PRIMARY KEY (kind, id)
);
CREATE INDEX IF NOT EXISTS pending_expiry ON pending(expires_at);
`

// PutPending stores data under (kind, id) until expires, replacing what
// was there, after dropping what expired before now; false when kind
// already holds max live items.
func (s *Store) PutPending(ctx context.Context, kind, id string, data []byte, now, expires time.Time, max int) (bool, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("store: put pending: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM pending WHERE expires_at < ?`, now.Unix()); err != nil {
		return false, fmt.Errorf("store: put pending: %w", err)
	}
	var live int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM pending WHERE kind = ? AND id <> ?`, kind, id).Scan(&live); err != nil {
		return false, fmt.Errorf("store: put pending: %w", err)
	}
	if live >= max {
		return false, nil
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO pending(kind, id, data, expires_at) VALUES(?, ?, ?, ?)
		ON CONFLICT(kind, id) DO UPDATE SET data = excluded.data, expires_at = excluded.expires_at`, kind, id, data, expires.Unix()); err != nil {
		return false, fmt.Errorf("store: put pending: %w", err)
	}
	return true, tx.Commit()
}

// Pending reads (kind, id); nil when absent or expired.
func (s *Store) Pending(ctx context.Context, kind, id string, now time.Time) ([]byte, error) {
	var b []byte
	err := s.db.QueryRowContext(ctx, `SELECT data FROM pending WHERE kind = ? AND id = ? AND expires_at >= ?`, kind, id, now.Unix()).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: pending: %w", err)
	}
	return b, nil
}

// TakePending reads and deletes (kind, id) in one statement: one caller
// gets it. Nil when absent or expired.
func (s *Store) TakePending(ctx context.Context, kind, id string, now time.Time) ([]byte, error) {
	var b []byte
	var exp int64
	err := s.db.QueryRowContext(ctx, `DELETE FROM pending WHERE kind = ? AND id = ? RETURNING data, expires_at`, kind, id).Scan(&b, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: take pending: %w", err)
	}
	if exp < now.Unix() {
		return nil, nil
	}
	return b, nil
}
