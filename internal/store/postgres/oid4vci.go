package postgres

import (
	"context"
	"time"
)

// PutGrant: see store.SQL.PutGrant.
func (s *Store) PutGrant(ctx context.Context, kind, key string, doc []byte, expires time.Time) error {
	return retry(ctx, func() error { return s.sql().PutGrant(ctx, kind, key, doc, expires) })
}

// Grant: see store.SQL.Grant.
func (s *Store) Grant(ctx context.Context, kind, key string, now time.Time) ([]byte, error) {
	return s.sql().Grant(ctx, kind, key, now)
}

// ConsumeGrant: see store.SQL.ConsumeGrant.
func (s *Store) ConsumeGrant(ctx context.Context, kind, key string, now time.Time) (doc []byte, err error) {
	err = retry(ctx, func() error {
		doc, err = s.sql().ConsumeGrant(ctx, kind, key, now)
		return err
	})
	return doc, err
}
