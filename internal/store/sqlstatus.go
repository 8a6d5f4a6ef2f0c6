package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// SQL implements the status lists and the presentation request documents
// over database/sql with ? placeholders: the SQLite store uses it as is,
// the PostgreSQL store through its rebinding connector. Both backends
// create the same tables (issuances, status_lists, issuance_grades,
// status_alloc, presentation_requests).
type SQL struct{ DB *sql.DB }

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
func (q SQL) SetStatus(ctx context.Context, idx, list int64, status uint8, now time.Time) error {
	if status > statusSuspended {
		return fmt.Errorf("store: set status: unknown status %d", status)
	}
	tx, err := q.DB.BeginTx(ctx, nil)
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
		ON CONFLICT(list) DO UPDATE SET version = status_lists.version + 1, updated_at = excluded.updated_at`, list, now.Unix()); err != nil {
		return fmt.Errorf("store: set status: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: set status: %w", err)
	}
	return nil
}

// StatusVersion returns the version of status list list: 0 until a
// status in it first changes.
func (q SQL) StatusVersion(ctx context.Context, list int64) (int64, error) {
	var v int64
	err := q.DB.QueryRowContext(ctx, `SELECT version FROM status_lists WHERE list = ?`, list).Scan(&v)
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
func (q SQL) Statuses(ctx context.Context, from, to int64) (map[int64]uint8, error) {
	rows, err := q.DB.QueryContext(ctx, `SELECT status_idx, status FROM issuances WHERE status_idx >= ? AND status_idx < ? AND status != 0`, from, to)
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
func (q SQL) LastStatusIndex(ctx context.Context) (int64, error) {
	var n sql.NullInt64
	if err := q.DB.QueryRowContext(ctx, `SELECT MAX(status_idx) FROM issuances`).Scan(&n); err != nil {
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
func (q SQL) StatusOf(ctx context.Context, idx int64) (IssuanceStatus, error) {
	out := IssuanceStatus{Index: idx}
	var iss, exp int64
	err := q.DB.QueryRowContext(ctx, `SELECT status, issued_at, expires_at FROM issuances WHERE status_idx = ?`, idx).Scan(&out.Status, &iss, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return out, ErrNotFound
	}
	if err != nil {
		return out, fmt.Errorf("store: status: %w", err)
	}
	out.Issued, out.Expires = time.Unix(iss, 0), time.Unix(exp, 0)
	return out, nil
}

// RecordPersona stores a persona credential's issuance with its grade, in
// one transaction, and returns its status index: a random free entry of
// the current status list of listSize entries (draft-ietf-oauth-status-list
// recommends random indexes, so that an index says nothing of when a
// credential was issued or of its neighbours). The current list is the
// first whose half is not yet used, so a random entry is free with
// probability at least one half.
func (q SQL) RecordPersona(ctx context.Context, pseudonym []byte, vkID string, grade uint64, listSize int64, issued, expires time.Time) (int64, error) {
	if listSize < 2 {
		return 0, fmt.Errorf("store: record persona: list size %d", listSize)
	}
	tx, err := q.DB.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("store: record persona: %w", err)
	}
	defer tx.Rollback()
	var list, used int64
	err = tx.QueryRowContext(ctx, `SELECT list, used FROM status_alloc ORDER BY list DESC LIMIT 1`).Scan(&list, &used)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("store: record persona: %w", err)
	}
	if used >= listSize/2 {
		list++
	}
	var idx int64
	for try := 0; ; try++ {
		if try == 64 {
			return 0, errors.New("store: record persona: no free status entry found")
		}
		idx = list*listSize + rand.Int64N(listSize)
		res, err := tx.ExecContext(ctx, `INSERT INTO issuances(status_idx, pseudonym, vk_id, issued_at, expires_at) VALUES(?, ?, ?, ?, ?) ON CONFLICT(status_idx) DO NOTHING`, idx, pseudonym, vkID, issued.Unix(), expires.Unix())
		if err != nil {
			return 0, fmt.Errorf("store: record persona: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			break
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO issuance_grades(status_idx, grade) VALUES(?, ?)`, idx, grade); err != nil {
		return 0, fmt.Errorf("store: record persona: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO status_alloc(list, used) VALUES(?, 1) ON CONFLICT(list) DO UPDATE SET used = status_alloc.used + 1`, list); err != nil {
		return 0, fmt.Errorf("store: record persona: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("store: record persona: %w", err)
	}
	return idx, nil
}

// ValidationByIndex returns the status, grade and expiry of the persona
// credential at status index idx, or ErrNotFound.
func (q SQL) ValidationByIndex(ctx context.Context, idx int64) (status uint8, grade uint64, expires time.Time, err error) {
	var exp int64
	var g sql.NullInt64
	err = q.DB.QueryRowContext(ctx, `SELECT i.status, g.grade, i.expires_at FROM issuances i LEFT JOIN issuance_grades g ON g.status_idx = i.status_idx WHERE i.status_idx = ?`, idx).Scan(&status, &g, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, 0, time.Time{}, ErrNotFound
	}
	if err != nil {
		return 0, 0, time.Time{}, fmt.Errorf("store: validation: %w", err)
	}
	return status, uint64(g.Int64), time.Unix(exp, 0), nil
}

// LatestByPseudonym returns the status index of the latest credential
// issued for pseudonym, or ErrNotFound.
func (q SQL) LatestByPseudonym(ctx context.Context, pseudonym []byte) (int64, error) {
	var idx int64
	err := q.DB.QueryRowContext(ctx, `SELECT status_idx FROM issuances WHERE pseudonym = ? ORDER BY issued_at DESC, expires_at DESC LIMIT 1`, pseudonym).Scan(&idx)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, ErrNotFound
	}
	if err != nil {
		return 0, fmt.Errorf("store: latest by pseudonym: %w", err)
	}
	return idx, nil
}

// PutRequest stores a presentation request document under id, and drops
// the expired ones.
func (q SQL) PutRequest(ctx context.Context, id string, doc []byte, expires time.Time) error {
	if _, err := q.DB.ExecContext(ctx, `DELETE FROM presentation_requests WHERE expires_at < ?`, time.Now().Unix()); err != nil {
		return fmt.Errorf("store: expire requests: %w", err)
	}
	if _, err := q.DB.ExecContext(ctx, `INSERT INTO presentation_requests(id, doc, expires_at) VALUES(?, ?, ?)`, id, doc, expires.Unix()); err != nil {
		return fmt.Errorf("store: put request: %w", err)
	}
	return nil
}

// Request returns the unexpired document stored under id, or ErrNotFound.
func (q SQL) Request(ctx context.Context, id string, now time.Time) ([]byte, error) {
	var doc []byte
	err := q.DB.QueryRowContext(ctx, `SELECT doc FROM presentation_requests WHERE id = ? AND expires_at > ?`, id, now.Unix()).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: request: %w", err)
	}
	return doc, nil
}
