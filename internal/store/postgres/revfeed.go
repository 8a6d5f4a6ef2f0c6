package postgres

import (
	"context"
)

// RevocationsAfter lists the revocation entries with a sequence number
// above after, in insertion order, at most limit of them, with their
// sequence numbers (coreid.RevocationFeed). Writers take the log head's
// row lock before inserting a revocation (Logged), so sequence numbers
// are assigned in commit order: a reader never sees one before a smaller
// one that will still commit.
func (s *Store) RevocationsAfter(ctx context.Context, after int64, limit int) ([]int64, [][]byte, error) {
	rows, err := s.pool.Query(ctx, `SELECT seq, entry FROM revocations WHERE seq > $1 ORDER BY seq LIMIT $2`, after, limit)
	if err != nil {
		return nil, nil, wrap("revocations after", err)
	}
	defer rows.Close()
	var seqs []int64
	var entries [][]byte
	for rows.Next() {
		var n int64
		var b []byte
		if err := rows.Scan(&n, &b); err != nil {
			return nil, nil, wrap("revocations after", err)
		}
		seqs, entries = append(seqs, n), append(entries, b)
	}
	return seqs, entries, wrap("revocations after", rows.Err())
}
