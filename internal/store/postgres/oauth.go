package postgres

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mustard-id/mustard/internal/store"
)

// PutOAuth stores an OAuth session record; an existing (kind, key) is
// ErrDuplicate. Records that expired an hour ago or more are swept, by
// each server at most every ten seconds.
func (s *Store) PutOAuth(ctx context.Context, kind, key, requestID string, data []byte, expires time.Time) error {
	now := time.Now()
	if last := s.swept.Load(); now.Unix()-last >= 10 && s.swept.CompareAndSwap(last, now.Unix()) {
		if _, err := s.pool.Exec(ctx, `DELETE FROM oauth_sessions WHERE expires_at < $1`, now.Add(-time.Hour).Unix()); err != nil {
			return wrap("expire oauth sessions", err)
		}
	}
	ct, err := s.pool.Exec(ctx, `INSERT INTO oauth_sessions(kind, key, request_id, data, expires_at) VALUES($1, $2, $3, $4, $5) ON CONFLICT(kind, key) DO NOTHING`, kind, key, requestID, data, expires.Unix())
	if err != nil {
		return wrap("put oauth session", err)
	}
	if ct.RowsAffected() == 0 {
		return store.ErrDuplicate
	}
	return nil
}

// OAuth returns a session record and whether it is still active.
func (s *Store) OAuth(ctx context.Context, kind, key string) (data []byte, active bool, err error) {
	var a int
	err = s.pool.QueryRow(ctx, `SELECT data, active FROM oauth_sessions WHERE kind = $1 AND key = $2`, kind, key).Scan(&data, &a)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, store.ErrNotFound
	}
	if err != nil {
		return nil, false, wrap("oauth session", err)
	}
	return data, a == 1, nil
}

// UpdateOAuth replaces an active record's data only if it is still old
// (compare-and-swap): ErrUsed otherwise.
func (s *Store) UpdateOAuth(ctx context.Context, kind, key string, old, data []byte) error {
	ct, err := s.pool.Exec(ctx, `UPDATE oauth_sessions SET data = $1 WHERE kind = $2 AND key = $3 AND active = 1 AND data = $4`, data, kind, key, old)
	if err != nil {
		return wrap("update oauth session", err)
	}
	if ct.RowsAffected() == 0 {
		return store.ErrUsed
	}
	return nil
}

// DeactivateOAuth marks one record inactive: ErrNotFound if there is no
// such record, ErrUsed if it was inactive already; one statement, so a
// code is redeemed once across every server.
func (s *Store) DeactivateOAuth(ctx context.Context, kind, key string) error {
	ct, err := s.pool.Exec(ctx, `UPDATE oauth_sessions SET active = 0 WHERE kind = $1 AND key = $2 AND active = 1`, kind, key)
	if err != nil {
		return wrap("deactivate oauth session", err)
	}
	if ct.RowsAffected() == 0 {
		if _, _, err := s.OAuth(ctx, kind, key); err != nil {
			return err
		}
		return store.ErrUsed
	}
	return nil
}

// DeactivateOAuthRequest marks every record of kind in one grant inactive.
func (s *Store) DeactivateOAuthRequest(ctx context.Context, kind, requestID string) error {
	_, err := s.pool.Exec(ctx, `UPDATE oauth_sessions SET active = 0 WHERE kind = $1 AND request_id = $2`, kind, requestID)
	return wrap("deactivate oauth grant", err)
}

// DeleteOAuth deletes one record (no error if absent).
func (s *Store) DeleteOAuth(ctx context.Context, kind, key string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM oauth_sessions WHERE kind = $1 AND key = $2`, kind, key)
	return wrap("delete oauth session", err)
}

// DeleteOAuthRequest deletes every record of kind in one grant.
func (s *Store) DeleteOAuthRequest(ctx context.Context, kind, requestID string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM oauth_sessions WHERE kind = $1 AND request_id = $2`, kind, requestID)
	return wrap("delete oauth grant", err)
}

// PutClient registers a client and logs the registration in the same
// transaction; an existing id is ErrDuplicate.
func (s *Store) PutClient(ctx context.Context, id string, data []byte, now time.Time) error {
	return s.logged(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO oauth_clients(id, data, created_at) VALUES(?, ?, ?) ON CONFLICT(id) DO NOTHING`, id, data, now.Unix())
		if err != nil {
			return wrap("put client", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.ErrDuplicate
		}
		return nil
	}, store.ClientEntry(id, data, now))
}

// Client returns a registered client's metadata, ErrNotFound if none.
func (s *Store) Client(ctx context.Context, id string) ([]byte, error) {
	var b []byte
	err := s.pool.QueryRow(ctx, `SELECT data FROM oauth_clients WHERE id = $1`, id).Scan(&b)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	return b, wrap("client", err)
}

// RecordConsent records an opt-in: client, pairwise subject, manifest hash
// and claim names.
func (s *Store) RecordConsent(ctx context.Context, clientID, subject, manifest, claims string, now time.Time) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO consents(client_id, subject, manifest, claims, created_at) VALUES($1, $2, $3, $4, $5)`, clientID, subject, manifest, claims, now.Unix())
	return wrap("record consent", err)
}
