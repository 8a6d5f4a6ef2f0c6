package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// presentationSchema holds the verification API's presentation request
// documents, served by reference (request_uri) until they expire.
const presentationSchema = `
CREATE TABLE IF NOT EXISTS presentation_requests (
	id         TEXT PRIMARY KEY,
	doc        BLOB NOT NULL,
	expires_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS presentation_requests_expiry ON presentation_requests(expires_at);
`

// PutRequest stores a presentation request document under id, and drops
// the expired ones.
func (s *Store) PutRequest(ctx context.Context, id string, doc []byte, expires time.Time) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM presentation_requests WHERE expires_at < ?`, time.Now().Unix()); err != nil {
		return fmt.Errorf("store: expire requests: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, `INSERT INTO presentation_requests(id, doc, expires_at) VALUES(?, ?, ?)`, id, doc, expires.Unix()); err != nil {
		return fmt.Errorf("store: put request: %w", err)
	}
	return nil
}

// Request returns the unexpired document stored under id, or ErrNotFound.
func (s *Store) Request(ctx context.Context, id string, now time.Time) ([]byte, error) {
	var doc []byte
	err := s.db.QueryRowContext(ctx, `SELECT doc FROM presentation_requests WHERE id = ? AND expires_at > ?`, id, now.Unix()).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: request: %w", err)
	}
	return doc, nil
}
