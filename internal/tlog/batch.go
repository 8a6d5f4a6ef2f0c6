package tlog

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/transparency-dev/merkle/compact"
)

// Appender appends many entries inside one transaction, keeping the
// compact range in memory between them instead of reading it back for
// each: it writes exactly the rows a sequence of Append calls writes (the
// leaves, the same tree nodes, the head), with prepared statements. For
// bulk loads (`mustard bench --population`); the server appends one entry
// at a time with Append.
type Appender struct {
	tx         *sql.Tx
	rng        *compact.Range
	start      uint64
	leaf, node *sql.Stmt
	err        error
}

// NewAppender locks the log's head in tx and loads its compact range.
// The caller appends, then calls Close before committing tx.
func NewAppender(ctx context.Context, tx *sql.Tx) (*Appender, error) {
	if _, err := tx.ExecContext(ctx, `UPDATE tlog_head SET size = size WHERE id = 1`); err != nil {
		return nil, fmt.Errorf("tlog: lock head: %w", err)
	}
	var size uint64
	if err := tx.QueryRowContext(ctx, `SELECT size FROM tlog_head WHERE id = 1`).Scan(&size); err != nil {
		return nil, fmt.Errorf("tlog: head: %w", err)
	}
	rng, err := rangeOf(ctx, tx, size)
	if err != nil {
		return nil, err
	}
	a := &Appender{tx: tx, rng: rng, start: size}
	if a.leaf, err = tx.PrepareContext(ctx, `INSERT INTO tlog_leaves(idx, data) VALUES(?, ?)`); err != nil {
		return nil, err
	}
	if a.node, err = tx.PrepareContext(ctx, `INSERT INTO tlog_nodes(level, idx, hash) VALUES(?, ?, ?)`); err != nil {
		return nil, err
	}
	return a, nil
}

// Append adds e and returns its index.
func (a *Appender) Append(ctx context.Context, e Entry) (uint64, error) {
	if a.err != nil {
		return 0, a.err
	}
	data, err := json.Marshal(e)
	if err != nil {
		return 0, err
	}
	if len(data) > MaxEntry {
		return 0, errors.New("tlog: entry too large")
	}
	idx := a.rng.End()
	var werr error
	err = a.rng.Append(hasher.HashLeaf(data), func(id compact.NodeID, hash []byte) {
		if werr == nil {
			_, werr = a.node.ExecContext(ctx, id.Level, id.Index, hash)
		}
	})
	if err == nil {
		err = werr
	}
	if err == nil {
		_, err = a.leaf.ExecContext(ctx, idx, data)
	}
	if err != nil {
		a.err = fmt.Errorf("tlog: append: %w", err)
		return 0, a.err
	}
	return idx, nil
}

// Close advances the head past the appended entries.
func (a *Appender) Close(ctx context.Context) error {
	a.leaf.Close()
	a.node.Close()
	if a.err != nil {
		return a.err
	}
	res, err := a.tx.ExecContext(ctx, `UPDATE tlog_head SET size = ? WHERE id = 1 AND size = ?`, a.rng.End(), a.start)
	if err != nil {
		return fmt.Errorf("tlog: advance head: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return errors.New("tlog: concurrent append")
	}
	return nil
}
