package tlog

import (
	"context"
	"database/sql"
	"testing"
)

// dump is every row of the log's tables, in order.
func dump(t *testing.T, db *sql.DB) []string {
	t.Helper()
	var out []string
	for _, q := range []string{
		`SELECT 'head', size, '' FROM tlog_head`,
		`SELECT 'leaf', idx, hex(data) FROM tlog_leaves ORDER BY idx`,
		`SELECT 'node', level || '/' || idx, hex(hash) FROM tlog_nodes ORDER BY level, idx`,
	} {
		rows, err := db.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var a, b, c string
			if err := rows.Scan(&a, &b, &c); err != nil {
				t.Fatal(err)
			}
			out = append(out, a+" "+b+" "+c)
		}
		rows.Close()
	}
	return out
}

// TestAppenderWritesWhatAppendWrites: entries appended in bulk, in two
// transactions after a few single appends, leave the very rows that one
// Append per entry leaves, and the log's proofs still verify.
func TestAppenderWritesWhatAppendWrites(t *testing.T) {
	ctx := context.Background()
	one, bulk := openDB(t), openDB(t)
	appendN(t, one, 0, 77)
	appendN(t, bulk, 0, 5)
	for _, span := range [][2]int{{5, 40}, {40, 77}} {
		tx, err := bulk.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		a, err := NewAppender(ctx, tx)
		if err != nil {
			t.Fatal(err)
		}
		for i := span[0]; i < span[1]; i++ {
			idx, err := a.Append(ctx, entry(i))
			if err != nil || idx != uint64(i) {
				t.Fatalf("append %d: %d %v", i, idx, err)
			}
		}
		if err := a.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	want, got := dump(t, one), dump(t, bulk)
	if len(want) != len(got) {
		t.Fatalf("%d rows after Append, %d after Appender", len(want), len(got))
	}
	for i := range want {
		if want[i] != got[i] {
			t.Fatalf("row %d: %s, want %s", i, got[i], want[i])
		}
	}
	appendN(t, bulk, 77, 3) // Append carries on from a bulk load
	l, _ := newLog(t, bulk)
	if _, err := l.ConsistencyProof(ctx, 5, 80); err != nil {
		t.Fatal(err)
	}
}
