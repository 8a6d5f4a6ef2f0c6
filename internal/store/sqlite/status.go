package sqlite

import (
	"context"
	"time"

	"github.com/mustard-id/mustard/internal/store"
)

// ErrFinal reports a status change of a revoked credential: revocation is
// final.
var ErrFinal = store.ErrFinal

// IssuanceStatus is what the store knows of one issued credential.
type IssuanceStatus = store.IssuanceStatus

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

// gradeSchema keeps each persona credential's grade beside its issuance,
// for the validation service.
const gradeSchema = `
CREATE TABLE IF NOT EXISTS issuance_grades (
	status_idx INTEGER PRIMARY KEY REFERENCES issuances(status_idx),
	grade      INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS issuances_pseudonym ON issuances(pseudonym);
CREATE TABLE IF NOT EXISTS status_alloc (
	list INTEGER PRIMARY KEY,
	used INTEGER NOT NULL           -- entries RecordPersona gave out in the list
);
`

func (s *Store) sql() store.SQL { return store.SQL{DB: s.db} }

// SetStatus: see store.SQL.SetStatus.
func (s *Store) SetStatus(ctx context.Context, idx, list int64, status uint8, now time.Time) error {
	return s.sql().SetStatus(ctx, idx, list, status, now)
}

// StatusVersion: see store.SQL.StatusVersion.
func (s *Store) StatusVersion(ctx context.Context, list int64) (int64, error) {
	return s.sql().StatusVersion(ctx, list)
}

// Statuses: see store.SQL.Statuses.
func (s *Store) Statuses(ctx context.Context, from, to int64) (map[int64]uint8, error) {
	return s.sql().Statuses(ctx, from, to)
}

// LastStatusIndex: see store.SQL.LastStatusIndex.
func (s *Store) LastStatusIndex(ctx context.Context) (int64, error) {
	return s.sql().LastStatusIndex(ctx)
}

// StatusOf: see store.SQL.StatusOf.
func (s *Store) StatusOf(ctx context.Context, idx int64) (IssuanceStatus, error) {
	return s.sql().StatusOf(ctx, idx)
}

// RecordPersona: see store.SQL.RecordPersona.
func (s *Store) RecordPersona(ctx context.Context, pseudonym []byte, vkID string, grade uint64, listSize int64, issued, expires time.Time) (int64, error) {
	return s.sql().RecordPersona(ctx, pseudonym, vkID, grade, listSize, issued, expires)
}

// ValidationByIndex: see store.SQL.ValidationByIndex.
func (s *Store) ValidationByIndex(ctx context.Context, idx int64) (status uint8, grade uint64, expires time.Time, err error) {
	return s.sql().ValidationByIndex(ctx, idx)
}

// LatestByPseudonym: see store.SQL.LatestByPseudonym.
func (s *Store) LatestByPseudonym(ctx context.Context, pseudonym []byte) (int64, error) {
	return s.sql().LatestByPseudonym(ctx, pseudonym)
}
