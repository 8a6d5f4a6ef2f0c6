package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
)

// PutPending stores data under (kind, id) until expires, replacing what
// was there, after dropping what expired before now; false when kind
// already holds max live items (coreid.PendingStorage).
func (s *Store) PutPending(ctx context.Context, kind, id string, data []byte, now, expires time.Time, max int) (bool, error) {
	ok := false
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM pending WHERE expires_at < $1`, now.Unix()); err != nil {
			return err
		}
		var live int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM pending WHERE kind = $1 AND id <> $2`, kind, id).Scan(&live); err != nil {
			return err
		}
		if live >= max {
			return nil
		}
		_, err := tx.Exec(ctx, `INSERT INTO pending(kind, id, data, expires_at) VALUES($1, $2, $3, $4)
			ON CONFLICT(kind, id) DO UPDATE SET data = excluded.data, expires_at = excluded.expires_at`, kind, id, data, expires.Unix())
		ok = err == nil
		return err
	})
	return ok, wrap("put pending", err)
}

// Pending reads (kind, id); nil when absent or expired.
func (s *Store) Pending(ctx context.Context, kind, id string, now time.Time) ([]byte, error) {
	var b []byte
	err := s.pool.QueryRow(ctx, `SELECT data FROM pending WHERE kind = $1 AND id = $2 AND expires_at >= $3`, kind, id, now.Unix()).Scan(&b)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	return b, wrap("pending", err)
}

// TakePending reads and deletes (kind, id) in one statement: one caller,
// on any server, gets it. Nil when absent or expired.
func (s *Store) TakePending(ctx context.Context, kind, id string, now time.Time) ([]byte, error) {
	var b []byte
	var exp int64
	err := s.pool.QueryRow(ctx, `DELETE FROM pending WHERE kind = $1 AND id = $2 RETURNING data, expires_at`, kind, id).Scan(&b, &exp)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, wrap("take pending", err)
	}
	if exp < now.Unix() {
		return nil, nil
	}
	return b, nil
}
