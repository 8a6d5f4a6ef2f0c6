package sqlite

import (
	"context"
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

// PutRequest: see store.SQL.PutRequest.
func (s *Store) PutRequest(ctx context.Context, id string, doc []byte, expires time.Time) error {
	return s.sql().PutRequest(ctx, id, doc, expires)
}

// Request: see store.SQL.Request.
func (s *Store) Request(ctx context.Context, id string, now time.Time) ([]byte, error) {
	return s.sql().Request(ctx, id, now)
}
