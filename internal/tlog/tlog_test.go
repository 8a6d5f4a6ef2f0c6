package tlog

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"math/bits"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"
)

func openDB(t testing.TB) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "log.db")+"?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(Schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func entry(i int) Entry {
	h := sha256.Sum256([]byte(fmt.Sprint(i)))
	return NewEntry(KindCoreCredential, time.Unix(1.7e9, 0), map[string]string{"commitment": fmt.Sprintf("%x", h)})
}

func appendN(t testing.TB, db *sql.DB, from, n int) {
	t.Helper()
	ctx := context.Background()
	for i := from; i < from+n; i++ {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		idx, err := Append(ctx, tx, entry(i))
		if err != nil || idx != uint64(i) {
			t.Fatalf("append %d: %d %v", i, idx, err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
}

// mth is RFC 6962 §2.1's Merkle tree hash, written from the definition:
// an implementation independent of the one under test.
func mth(leaves [][]byte) []byte {
	switch len(leaves) {
	case 0:
		h := sha256.Sum256(nil)
		return h[:]
	case 1:
		h := sha256.Sum256(append([]byte{0}, leaves[0]...))
		return h[:]
	}
	k := 1 << (bits.Len(uint(len(leaves)-1)) - 1) // largest power of two < n
	h := sha256.Sum256(append(append([]byte{1}, mth(leaves[:k])...), mth(leaves[k:])...))
	return h[:]
}

func newLog(t testing.TB, db *sql.DB) (*Log, string) {
	t.Helper()
	skey, vkey, err := NewKey("mustard.test/log")
	if err != nil {
		t.Fatal(err)
	}
	l, err := New(db, "mustard.test/log", skey)
	if err != nil {
		t.Fatal(err)
	}
	return l, vkey
}

func TestRootsAndProofs(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	l, vkey := newLog(t, db)
	var cps []*Checkpoint
	for _, n := range []int{1, 1, 2, 5, 8, 16, 31, 37} {
		size, _ := l.Size(ctx)
		appendN(t, db, int(size), n)
		raw, err := l.Checkpoint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		cp, err := ParseCheckpoint(raw, vkey)
		if err != nil {
			t.Fatal(err)
		}
		entries, _ := l.Entries(ctx, 0, cp.Size)
		if got := mth(entries); string(got) != string(cp.Root) {
			t.Fatalf("size %d: root differs from RFC 6962's definition", cp.Size)
		}
		for i, e := range entries {
			p, err := l.InclusionProof(ctx, uint64(i), cp.Size)
			if err != nil {
				t.Fatal(err)
			}
			if err := VerifyInclusion(cp, uint64(i), e, p); err != nil {
				t.Fatalf("inclusion %d/%d: %v", i, cp.Size, err)
			}
			if err := VerifyInclusion(cp, uint64(i), append(e, ' '), p); err == nil {
				t.Fatal("inclusion proof verified for altered data")
			}
		}
		cps = append(cps, cp)
	}
	for i := range cps {
		for j := i; j < len(cps); j++ {
			p, err := l.ConsistencyProof(ctx, cps[i].Size, cps[j].Size)
			if err != nil {
				t.Fatal(err)
			}
			if err := VerifyConsistency(cps[i], cps[j], p); err != nil {
				t.Fatalf("consistency %d→%d: %v", cps[i].Size, cps[j].Size, err)
			}
			forked := &Checkpoint{Size: cps[i].Size, Root: mth([][]byte{[]byte("fork")})}
			if cps[i].Size > 0 && cps[i].Size != cps[j].Size && VerifyConsistency(forked, cps[j], p) == nil {
				t.Fatal("a forked earlier root verified")
			}
		}
	}
	if _, err := l.InclusionProof(ctx, 0, 1000); err == nil {
		t.Fatal("proof for a size beyond the log")
	}
}

// An append in a transaction that rolls back leaves no trace: the record
// and its log entry commit together or not at all.
func TestRollbackLeavesNoTrace(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	l, _ := newLog(t, db)
	appendN(t, db, 0, 3)
	before, _ := l.Root(ctx, 3)
	tx, _ := db.BeginTx(ctx, nil)
	if _, err := Append(ctx, tx, entry(99)); err != nil {
		t.Fatal(err)
	}
	_ = tx.Rollback()
	size, _ := l.Size(ctx)
	after, _ := l.Root(ctx, 3)
	if size != 3 || string(before) != string(after) {
		t.Fatalf("rollback changed the log: size %d", size)
	}
	appendN(t, db, 3, 1) // and the next append lands at index 3
}

func TestAudit(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	l, vkey := newLog(t, db)
	srv := httptest.NewServer(l.Handler(vkey))
	defer srv.Close()

	st := &AuditState{VerifierKey: vkey}
	if cp, err := Audit(ctx, http.DefaultClient, srv.URL, st); err != nil || cp.Size != 0 {
		t.Fatalf("empty log: %v %v", cp, err)
	}
	appendN(t, db, 0, 2500) // more than two pages
	if _, err := Audit(ctx, http.DefaultClient, srv.URL, st); err != nil {
		t.Fatal(err)
	}
	appendN(t, db, 2500, 7)
	saved := *st
	if cp, err := Audit(ctx, http.DefaultClient, srv.URL, st); err != nil || cp.Size != 2507 {
		t.Fatalf("incremental audit: %v %v", cp, err)
	}

	// A pinned key from another log refuses the checkpoint.
	_, other, _ := NewKey("mustard.test/log")
	if _, err := Audit(ctx, http.DefaultClient, srv.URL, &AuditState{VerifierKey: other}); err == nil {
		t.Fatal("accepted a checkpoint under another key")
	}
	// A log that shrank (or an auditor state from the future) is refused.
	future := *st
	future.Size += 10
	if _, err := Audit(ctx, http.DefaultClient, srv.URL, &future); err == nil || !strings.Contains(err.Error(), "shrank") {
		t.Fatalf("shrinking: %v", err)
	}
	// An entry rewritten in the database: the served entries no longer hash
	// to the signed root, and the earlier audit's consistency fails too.
	if _, err := db.Exec(`UPDATE tlog_leaves SET data = ? WHERE idx = 2501`, []byte(`{"kind":"core-credential.issued","time":1,"digest":{"commitment":"00"}}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := Audit(ctx, http.DefaultClient, srv.URL, &AuditState{VerifierKey: vkey}); err == nil {
		t.Fatal("a rewritten entry passed the audit")
	}
	// Personal data in an entry is refused by the auditor.
	if _, err := db.Exec(`UPDATE tlog_leaves SET data = ? WHERE idx = 2501`, []byte(`{"kind":"core-credential.issued","time":1,"digest":{"name":"Alice Example"}}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := Audit(ctx, http.DefaultClient, srv.URL, &saved); err == nil || !strings.Contains(err.Error(), "not a digest") {
		t.Fatalf("personal data: %v", err)
	}
	// Bad ranges are refused with problem+json.
	for _, q := range []string{"entries?start=5&end=2", "entries?start=0&end=99999", "proof/inclusion?index=0&size=99999", "proof/consistency?from=9&to=2", "entries?start=x&end=1"} {
		resp, err := http.Get(srv.URL + "/v1/log/" + q)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 400 || resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s: %d %s", q, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	}
}

func FuzzParseCheckpoint(f *testing.F) {
	_, vkey, _ := NewKey("mustard.test/log")
	f.Add([]byte("mustard.test/log\n3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n— mustard.test/log abcd\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, b []byte) {
		cp, err := ParseCheckpoint(b, vkey)
		if err == nil && len(cp.Root) != 32 {
			t.Fatal("accepted a checkpoint without a 32-byte root")
		}
	})
}

func FuzzCheckEntry(f *testing.F) {
	f.Add([]byte(`{"kind":"core-credential.issued","time":1,"digest":{"commitment":"0a1b"}}`))
	f.Add([]byte(`{"kind":"x"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if CheckEntry(b) == nil && (len(b) > MaxEntry || !strings.Contains(string(b), "kind")) {
			t.Fatal("accepted a malformed entry")
		}
	})
}

func BenchmarkAppend(b *testing.B) {
	db := openDB(b)
	b.ResetTimer()
	appendN(b, db, 0, b.N)
}
