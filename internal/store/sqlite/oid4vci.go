package sqlite

import (
	"context"
	"time"
)

// vciSchema holds OpenID for Verifiable Credential Issuance state: credential
// offers by reference, pre-authorized codes and access tokens (by hash),
// each single-use or short-lived, shared by every server on the store.
const vciSchema = `
CREATE TABLE IF NOT EXISTS vci_grants (
	kind       TEXT NOT NULL,
	gkey       TEXT NOT NULL,
	doc        BLOB NOT NULL,
	expires_at INTEGER NOT NULL,
	used       INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (kind, gkey)
);
CREATE INDEX IF NOT EXISTS vci_grants_expiry ON vci_grants(expires_at);
`

// PutGrant: see store.SQL.PutGrant.
func (s *Store) PutGrant(ctx context.Context, kind, key string, doc []byte, expires time.Time) error {
	return s.sql().PutGrant(ctx, kind, key, doc, expires)
}

// Grant: see store.SQL.Grant.
func (s *Store) Grant(ctx context.Context, kind, key string, now time.Time) ([]byte, error) {
	return s.sql().Grant(ctx, kind, key, now)
}

// ConsumeGrant: see store.SQL.ConsumeGrant.
func (s *Store) ConsumeGrant(ctx context.Context, kind, key string, now time.Time) ([]byte, error) {
	return s.sql().ConsumeGrant(ctx, kind, key, now)
}
