package postgres

import (
	"context"
	"time"

	"github.com/mustard-id/mustard/internal/store"
)

// The status lists and presentation request documents are store.SQL over
// the rebinding database/sql handle, with serialization failures retried.

func (s *Store) sql() store.SQL { return store.SQL{DB: s.db} }

// SetStatus: see store.SQL.SetStatus.
func (s *Store) SetStatus(ctx context.Context, idx, list int64, status uint8, now time.Time) error {
	return retry(ctx, func() error { return s.sql().SetStatus(ctx, idx, list, status, now) })
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

// RecordPersona: see store.SQL.RecordPersona.
func (s *Store) RecordPersona(ctx context.Context, pseudonym []byte, vkID string, grade uint64, listSize int64, issued, expires time.Time) (idx int64, err error) {
	err = retry(ctx, func() error {
		idx, err = s.sql().RecordPersona(ctx, pseudonym, vkID, grade, listSize, issued, expires)
		return err
	})
	return idx, err
}

// ValidationByIndex: see store.SQL.ValidationByIndex.
func (s *Store) ValidationByIndex(ctx context.Context, idx int64) (status uint8, grade uint64, expires time.Time, err error) {
	return s.sql().ValidationByIndex(ctx, idx)
}

// LatestByPseudonym: see store.SQL.LatestByPseudonym.
func (s *Store) LatestByPseudonym(ctx context.Context, pseudonym []byte) (int64, error) {
	return s.sql().LatestByPseudonym(ctx, pseudonym)
}

// PutRequest: see store.SQL.PutRequest.
func (s *Store) PutRequest(ctx context.Context, id string, doc []byte, expires time.Time) error {
	return s.sql().PutRequest(ctx, id, doc, expires)
}

// Request: see store.SQL.Request.
func (s *Store) Request(ctx context.Context, id string, now time.Time) ([]byte, error) {
	return s.sql().Request(ctx, id, now)
}
