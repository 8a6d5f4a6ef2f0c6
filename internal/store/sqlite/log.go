package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/mustard-id/mustard/internal/store"
	"github.com/mustard-id/mustard/internal/tlog"
)

// Logged runs write and appends e to the transparency log in one
// transaction: the record and its log entry are both there or neither.
func (s *Store) Logged(ctx context.Context, write func(tx *sql.Tx) error, e tlog.Entry) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	defer tx.Rollback()
	if write != nil {
		if err := write(tx); err != nil {
			return err
		}
	}
	if _, err := tlog.Append(ctx, tx, e); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

// AppendLog appends an entry that witnesses no stored record (a trust
// framework change, say).
func (s *Store) AppendLog(ctx context.Context, e tlog.Entry) error {
	return s.Logged(ctx, nil, e)
}

// digest is the hex SHA-256 of b, how log entries commit to records.
var digest = store.Digest
