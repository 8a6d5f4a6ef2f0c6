package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ErrFinal reports a status change of a revoked credential: revocation is
// final.
var ErrFinal = errors.New("store: the credential is revoked; revocation is final")

// statusSchema is the issuer's status lists: a credential's status lives
// in issuances.status (0 valid, 1 revoked, 2 suspended, the Token Status
// List values); each list has a version that every change bumps, so a
// server knows when its cached, signed list is stale.
const statusSchema = `
CREATE TABLE IF NOT EXISTS status_lists (
	list       INTEGER PRIMARY KEY,
	version    INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);
`

// Status values stored in issuances.status.
const (
	statusValid     = 0
	statusRevoked   = 1
	statusSuspended = 2
)

// SetStatus changes the status of the credential at status index idx,
// which lies in status list list, and bumps the list's version, in one
// transaction. It fails with ErrNotFound for an unknown index and with
// ErrFinal for a revoked credential (a status may go from valid or
// suspended to anything, never back from revoked). Setting the status a
// credential already has changes nothing.
func (s *Store) SetStatus(ctx context.Context, idx, list int64, status uint8, now time.Time) error {
	if status > statusSuspended {
		return fmt.Errorf("store: set status: unknown status %d", status)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: set status: %w", err)
	}
	defer tx.Rollback()
	var cur uint8
	err = tx.QueryRowContext(ctx, `SELECT status FROM issuances WHERE status_idx = ?`, idx).Scan(&cur)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("store: set status: %w", err)
	}
	switch {
	case cur == status:
		return nil
	case cur == statusRevoked:
		return ErrFinal
	}
	if _, err := tx.ExecContext(ctx, `UPDATE issuances SET status = ? WHERE status_idx = ?`, status, idx); err != nil {
		return fmt.Errorf("store: set status: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO status_lists(list, version, updated_at) VALUES(?, 1, ?)
		ON CONFLICT(list) DO UPDATE SET version = version + 1, updated_at = excluded.updated_at`, list, now.Unix()); err != nil {
		return fmt.Errorf("store: set status: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: set status: %w", err)
	}
	return nil
}

// StatusVersion returns the version of status list list: 0 until a
// status in it first changes.
func (s *Store) StatusVersion(ctx context.Context, list int64) (int64, error) {
	var v int64
	err := s.db.QueryRowContext(ctx, `SELECT version FROM status_lists WHERE list = ?`, list).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("store: status version: %w", err)
	}
	return v, nil
}

// Statuses returns the status of every credential with an index in
// [from, to) whose status is not valid.
func (s *Store) Statuses(ctx context.Context, from, to int64) (map[int64]uint8, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT status_idx, status FROM issuances WHERE status_idx >= ? AND status_idx < ? AND status != 0`, from, to)
	if err != nil {
		return nil, fmt.Errorf("store: statuses: %w", err)
	}
	defer rows.Close()
	out := map[int64]uint8{}
	for rows.Next() {
		var idx int64
		var st uint8
		if err := rows.Scan(&idx, &st); err != nil {
			return nil, err
		}
		out[idx] = st
	}
	return out, rows.Err()
}

// LastStatusIndex returns the highest status index issued, 0 if none.
func (s *Store) LastStatusIndex(ctx context.Context) (int64, error) {
	var n sql.NullInt64
	if err := s.db.QueryRowContext(ctx, `SELECT MAX(status_idx) FROM issuances`).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: last status index: %w", err)
	}
	return n.Int64, nil
}

// IssuanceStatus is what the store knows of one issued credential.
type IssuanceStatus struct {
	Index   int64
	Status  uint8
	Issued  time.Time
	Expires time.Time
}

// StatusOf returns the status of the credential at idx, or ErrNotFound.
func (s *Store) StatusOf(ctx context.Context, idx int64) (IssuanceStatus, error) {
	out := IssuanceStatus{Index: idx}
	var iss, exp int64
	err := s.db.QueryRowContext(ctx, `SELECT status, issued_at, expires_at FROM issuances WHERE status_idx = ?`, idx).Scan(&out.Status, &iss, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return out, ErrNotFound
	}
	if err != nil {
		return out, fmt.Errorf("store: status: %w", err)
	}
	out.Issued, out.Expires = time.Unix(iss, 0), time.Unix(exp, 0)
	return out, nil
}
