package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/mustard-id/mustard/internal/tlog"
)

// oauthSchema holds the OpenID Provider's state: authorization codes,
// tokens (by their signatures, never the tokens themselves), PKCE and OIDC
// sessions, pending logins, and registered clients.
const oauthSchema = `
CREATE TABLE IF NOT EXISTS oauth_sessions (
	kind       TEXT NOT NULL,      -- code, access, refresh, pkce, oidc, login, jti
	key        TEXT NOT NULL,      -- token signature, login id, jti
	request_id TEXT NOT NULL,      -- the grant all tokens of one login share
	data       BLOB NOT NULL,
	active     INTEGER NOT NULL DEFAULT 1,
	expires_at INTEGER NOT NULL,
	PRIMARY KEY (kind, key)
);
CREATE INDEX IF NOT EXISTS oauth_sessions_request ON oauth_sessions(kind, request_id);
CREATE INDEX IF NOT EXISTS oauth_sessions_expiry ON oauth_sessions(expires_at);
CREATE TABLE IF NOT EXISTS oauth_clients (
	id         TEXT PRIMARY KEY,
	data       BLOB NOT NULL,      -- client metadata; secrets only as hashes
	created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS consents (
	seq        INTEGER PRIMARY KEY AUTOINCREMENT,
	client_id  TEXT NOT NULL,
	subject    TEXT NOT NULL,      -- the pairwise pseudonym: meaningless outside the client's sector
	manifest   TEXT NOT NULL,      -- hash of the trust manifest consented to
	claims     TEXT NOT NULL,      -- claim names released, never values
	created_at INTEGER NOT NULL
);
`

// oauthState holds the token endpoint's hot statements, prepared once,
// and when expired records were last swept.
type oauthState struct {
	put, get, deactivate, del, deactivateReq, deleteReq, update *sql.Stmt
	swept                                                       atomic.Int64 // unix seconds
}

func (o *oauthState) prepare(db *sql.DB) error {
	for _, p := range []struct {
		st  **sql.Stmt
		sql string
	}{
		{&o.put, `INSERT INTO oauth_sessions(kind, key, request_id, data, expires_at) VALUES(?, ?, ?, ?, ?) ON CONFLICT(kind, key) DO NOTHING`},
		{&o.get, `SELECT data, active FROM oauth_sessions WHERE kind = ? AND key = ?`},
		{&o.deactivate, `UPDATE oauth_sessions SET active = 0 WHERE kind = ? AND key = ? AND active = 1`},
		{&o.del, `DELETE FROM oauth_sessions WHERE kind = ? AND key = ?`},
		{&o.deactivateReq, `UPDATE oauth_sessions SET active = 0 WHERE kind = ? AND request_id = ?`},
		{&o.deleteReq, `DELETE FROM oauth_sessions WHERE kind = ? AND request_id = ?`},
		{&o.update, `UPDATE oauth_sessions SET data = ? WHERE kind = ? AND key = ? AND active = 1 AND data = ?`},
	} {
		st, err := db.Prepare(p.sql)
		if err != nil {
			return fmt.Errorf("store: prepare: %w", err)
		}
		*p.st = st
	}
	return nil
}

// PutOAuth stores an OAuth session record; an existing (kind, key) is
// ErrDuplicate. Records that expired an hour ago or more are swept, at
// most every ten seconds.
func (s *Store) PutOAuth(ctx context.Context, kind, key, requestID string, data []byte, expires time.Time) error {
	now := time.Now()
	if last := s.oauth.swept.Load(); now.Unix()-last >= 10 && s.oauth.swept.CompareAndSwap(last, now.Unix()) {
		if _, err := s.db.ExecContext(ctx, `DELETE FROM oauth_sessions WHERE expires_at < ?`, now.Add(-time.Hour).Unix()); err != nil {
			return fmt.Errorf("store: expire oauth sessions: %w", err)
		}
	}
	res, err := s.oauth.put.ExecContext(ctx, kind, key, requestID, data, expires.Unix())
	if err != nil {
		return fmt.Errorf("store: put oauth session: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrDuplicate
	}
	return nil
}

// OAuth returns a session record and whether it is still active;
// ErrNotFound when there is none.
func (s *Store) OAuth(ctx context.Context, kind, key string) (data []byte, active bool, err error) {
	var a int
	err = s.oauth.get.QueryRowContext(ctx, kind, key).Scan(&data, &a)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, ErrNotFound
	}
	if err != nil {
		return nil, false, fmt.Errorf("store: oauth session: %w", err)
	}
	return data, a == 1, nil
}

// UpdateOAuth replaces an active record's data, only if it is still
// active and its data is still old (compare-and-swap): ErrUsed otherwise.
func (s *Store) UpdateOAuth(ctx context.Context, kind, key string, old, data []byte) error {
	res, err := s.oauth.update.ExecContext(ctx, data, kind, key, old)
	if err != nil {
		return fmt.Errorf("store: update oauth session: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrUsed
	}
	return nil
}

// DeactivateOAuth marks one record inactive: ErrNotFound if there is no
// such record, ErrUsed if it was inactive already. The check and the mark
// are one statement, so a code can be redeemed only once.
func (s *Store) DeactivateOAuth(ctx context.Context, kind, key string) error {
	res, err := s.oauth.deactivate.ExecContext(ctx, kind, key)
	if err != nil {
		return fmt.Errorf("store: deactivate oauth session: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, _, err := s.OAuth(ctx, kind, key); err != nil {
			return err
		}
		return ErrUsed
	}
	return nil
}

// DeactivateOAuthRequest marks every record of kind in one grant inactive.
func (s *Store) DeactivateOAuthRequest(ctx context.Context, kind, requestID string) error {
	_, err := s.oauth.deactivateReq.ExecContext(ctx, kind, requestID)
	if err != nil {
		return fmt.Errorf("store: deactivate oauth grant: %w", err)
	}
	return nil
}

// DeleteOAuth deletes one record (no error if absent).
func (s *Store) DeleteOAuth(ctx context.Context, kind, key string) error {
	_, err := s.oauth.del.ExecContext(ctx, kind, key)
	if err != nil {
		return fmt.Errorf("store: delete oauth session: %w", err)
	}
	return nil
}

// DeleteOAuthRequest deletes every record of kind in one grant.
func (s *Store) DeleteOAuthRequest(ctx context.Context, kind, requestID string) error {
	_, err := s.oauth.deleteReq.ExecContext(ctx, kind, requestID)
	if err != nil {
		return fmt.Errorf("store: delete oauth grant: %w", err)
	}
	return nil
}

// PutClient registers a client, and logs the registration (the client id
// and a digest of its metadata) in the same transaction; an existing id is
// ErrDuplicate.
func (s *Store) PutClient(ctx context.Context, id string, data []byte, now time.Time) error {
	return s.Logged(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO oauth_clients(id, data, created_at) VALUES(?, ?, ?) ON CONFLICT(id) DO NOTHING`, id, data, now.Unix())
		if err != nil {
			return fmt.Errorf("store: put client: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrDuplicate
		}
		return nil
	}, tlog.NewEntry(tlog.KindClientRegistred, now, map[string]string{"client": digest([]byte(id)), "metadata": digest(data)}))
}

// Client returns a registered client's metadata, ErrNotFound if none.
func (s *Store) Client(ctx context.Context, id string) ([]byte, error) {
	var b []byte
	err := s.db.QueryRowContext(ctx, `SELECT data FROM oauth_clients WHERE id = ?`, id).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: client: %w", err)
	}
	return b, nil
}

// RecordConsent records an opt-in: which client, which pairwise subject,
// which manifest (by hash) and which claim names.
func (s *Store) RecordConsent(ctx context.Context, clientID, subject, manifest, claims string, now time.Time) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO consents(client_id, subject, manifest, claims, created_at) VALUES(?, ?, ?, ?, ?)`,
		clientID, subject, manifest, claims, now.Unix())
	if err != nil {
		return fmt.Errorf("store: record consent: %w", err)
	}
	return nil
}
