package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// PutGrant stores the OpenID for Verifiable Credential Issuance state doc
// of kind (an offer, a pre-authorized code, an access token) under key,
// and drops the state that expired a minute ago or more. Keys of secrets
// are their hashes, never the secrets.
func (q SQL) PutGrant(ctx context.Context, kind, key string, doc []byte, expires time.Time) error {
	if _, err := q.DB.ExecContext(ctx, `DELETE FROM vci_grants WHERE expires_at < ?`, time.Now().Add(-time.Minute).Unix()); err != nil {
		return fmt.Errorf("store: expire grants: %w", err)
	}
	if _, err := q.DB.ExecContext(ctx, `INSERT INTO vci_grants(kind, gkey, doc, expires_at) VALUES(?, ?, ?, ?)`, kind, key, doc, expires.Unix()); err != nil {
		return fmt.Errorf("store: put grant: %w", err)
	}
	return nil
}

// Grant returns the document of an unexpired, unused grant, or ErrNotFound.
func (q SQL) Grant(ctx context.Context, kind, key string, now time.Time) ([]byte, error) {
	var doc []byte
	err := q.DB.QueryRowContext(ctx, `SELECT doc FROM vci_grants WHERE kind = ? AND gkey = ? AND used = 0 AND expires_at > ?`, kind, key, now.Unix()).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: grant: %w", err)
	}
	return doc, nil
}

// ConsumeGrant marks an unexpired, unused grant used and returns its
// document, or ErrUsed: the check and the mark are one statement, so two
// concurrent requests cannot both consume it.
func (q SQL) ConsumeGrant(ctx context.Context, kind, key string, now time.Time) ([]byte, error) {
	var doc []byte
	err := q.DB.QueryRowContext(ctx, `UPDATE vci_grants SET used = 1 WHERE kind = ? AND gkey = ? AND used = 0 AND expires_at > ? RETURNING doc`, kind, key, now.Unix()).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrUsed
	}
	if err != nil {
		return nil, fmt.Errorf("store: consume grant: %w", err)
	}
	return doc, nil
}
