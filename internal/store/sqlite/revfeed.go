package sqlite

import (
	"context"
	"fmt"
)

// RevocationsAfter lists the revocation entries with a sequence number
// above after, in insertion order, at most limit of them, with their
// sequence numbers: how a provider catches up with revocations other
// processes wrote (coreid.RevocationFeed).
func (s *Store) RevocationsAfter(ctx context.Context, after int64, limit int) ([]int64, [][]byte, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT seq, entry FROM revocations WHERE seq > ? ORDER BY seq LIMIT ?`, after, limit)
	if err != nil {
		return nil, nil, fmt.Errorf("store: revocations after: %w", err)
	}
	defer rows.Close()
	var seqs []int64
	var entries [][]byte
	for rows.Next() {
		var n int64
		var b []byte
		if err := rows.Scan(&n, &b); err != nil {
			return nil, nil, err
		}
		seqs, entries = append(seqs, n), append(entries, b)
	}
	return seqs, entries, rows.Err()
}
