// Package store is the contract every Mustard store backend keeps: the
// errors callers match with errors.Is, and the Store interface the server
// composes its parties over. Two backends implement it: internal/store/sqlite
// (embedded, one writer; the default) and internal/store/postgres (a
// connection pool, for several servers against one database). The
// behaviour both must show is one test suite, internal/store/storetest.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/mustard-id/mustard/internal/tlog"
)

// Errors the store reports; the parties wrap them in their own.
var (
	ErrDuplicate = errors.New("store: already exists")
	ErrNotFound  = errors.New("store: not found")
	ErrUsed      = errors.New("store: nonce unknown, expired or already used")
	// ErrConflict reports a compare-and-swap that lost to a concurrent
	// change; it is a kind of ErrDuplicate (errors.Is holds for both).
	ErrConflict = fmt.Errorf("store: changed concurrently: %w", ErrDuplicate)
	// ErrFinal reports a status change of a revoked credential:
	// revocation is final.
	ErrFinal = errors.New("store: the credential is revoked; revocation is final")
)

// RevocationLog is one recorded revocation: its sequence number, time and
// reason class; nothing else is kept about it.
type RevocationLog struct {
	Seq    int64
	Reason string
	At     time.Time
}

// Store is what the server and the parties need of a backend. Every
// method is safe for concurrent use, also from several processes sharing
// one database (PostgreSQL): nonces are consumed once, a person's tags
// yield one identity, compare-and-swap updates fail with ErrConflict or
// ErrUsed rather than overwrite.
type Store interface {
	// Core identities (coreid.Storage).
	CreateIdentity(ctx context.Context, tag, revNonce []byte, now time.Time) error
	EnrollIdentity(ctx context.Context, tags [][]byte, revNonce []byte, now time.Time) error
	Identity(ctx context.Context, tag []byte) (revNonce []byte, since time.Time, err error)
	ReplaceIdentity(ctx context.Context, tags [][]byte, oldRevNonce, newRevNonce, revEntry []byte, reason string, now time.Time) error
	AddRevocation(ctx context.Context, entry []byte, reason string, now time.Time) error
	Revocations(ctx context.Context) ([][]byte, error)
	RevocationLogs(ctx context.Context, after int64, limit int) ([]RevocationLog, error)

	// Single-use nonces (coreid, issuer and verifier Storage).
	CreateNonce(ctx context.Context, purpose, nonce string, expires time.Time) error
	ConsumeNonce(ctx context.Context, purpose, nonce string, now time.Time) error
	NonceValid(ctx context.Context, purpose, nonce string, now time.Time) (bool, error)

	// Persona issuance and status lists (issuer.Storage).
	RecordIssuance(ctx context.Context, pseudonym []byte, vkID string, issued, expires time.Time) (int64, error)
	RecordPersona(ctx context.Context, pseudonym []byte, vkID string, grade uint64, listSize int64, issued, expires time.Time) (int64, error)
	SetStatus(ctx context.Context, idx, list int64, status uint8, now time.Time) error
	StatusVersion(ctx context.Context, list int64) (int64, error)
	Statuses(ctx context.Context, from, to int64) (map[int64]uint8, error)
	LastStatusIndex(ctx context.Context) (int64, error)
	ValidationByIndex(ctx context.Context, idx int64) (status uint8, grade uint64, expires time.Time, err error)
	LatestByPseudonym(ctx context.Context, pseudonym []byte) (int64, error)

	// Presentation request documents (verifier.RequestStorage).
	PutRequest(ctx context.Context, id string, doc []byte, expires time.Time) error
	Request(ctx context.Context, id string, now time.Time) ([]byte, error)

	// OpenID for Verifiable Credential Issuance state (oid4vci.Storage).
	PutGrant(ctx context.Context, kind, key string, doc []byte, expires time.Time) error
	Grant(ctx context.Context, kind, key string, now time.Time) ([]byte, error)
	ConsumeGrant(ctx context.Context, kind, key string, now time.Time) ([]byte, error)

	// OpenID Provider state (oidc.Backend).
	PutOAuth(ctx context.Context, kind, key, requestID string, data []byte, expires time.Time) error
	OAuth(ctx context.Context, kind, key string) (data []byte, active bool, err error)
	UpdateOAuth(ctx context.Context, kind, key string, old, data []byte) error
	DeactivateOAuth(ctx context.Context, kind, key string) error
	DeactivateOAuthRequest(ctx context.Context, kind, requestID string) error
	DeleteOAuth(ctx context.Context, kind, key string) error
	DeleteOAuthRequest(ctx context.Context, kind, requestID string) error
	PutClient(ctx context.Context, id string, data []byte, now time.Time) error
	Client(ctx context.Context, id string) ([]byte, error)
	RecordConsent(ctx context.Context, clientID, subject, manifest, claims string, now time.Time) error

	// Sealed key material, counters and the transparency log.
	PutSecret(ctx context.Context, name string, sealed []byte) error
	Secret(ctx context.Context, name string) ([]byte, error)
	Counts(ctx context.Context) (map[string]int, error)
	// Logged runs write and appends e to the transparency log in one
	// transaction. The transaction takes SQL with ? placeholders on
	// both backends (PostgreSQL's rebinds them to $n).
	Logged(ctx context.Context, write func(tx *sql.Tx) error, e tlog.Entry) error
	AppendLog(ctx context.Context, e tlog.Entry) error

	// DB is a database/sql handle for the log reader, readiness checks and
	// operators' tools; it takes ? placeholders on both backends.
	DB() *sql.DB
	Close() error
}
