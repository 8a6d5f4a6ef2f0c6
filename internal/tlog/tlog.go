// Package tlog is Mustard's transparency log: an append-only Merkle log
// with RFC 6962 hashing (transparency-dev/merkle), stored in the same
// database as the records it witnesses so that a record and its log entry
// commit in one transaction, with signed checkpoints in the C2SP
// tlog-checkpoint format (a signed note, golang.org/x/mod/sumdb/note),
// inclusion and consistency proofs, and an auditor that checks a server's
// log from outside.
//
// Entries say what happened and commit to it by hashes only: a core
// credential was issued for commitment C, a revocation entry was added, a
// persona credential with status index i was issued, the trust framework
// changed to a document with this digest, a client registered. No entry
// holds personal data.
package tlog

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
)

// Schema is the log's tables; the store creates them with its own.
const Schema = `
CREATE TABLE IF NOT EXISTS tlog_head (
	id   INTEGER PRIMARY KEY CHECK (id = 1),
	size INTEGER NOT NULL
);
INSERT INTO tlog_head(id, size) VALUES (1, 0) ON CONFLICT(id) DO NOTHING;
CREATE TABLE IF NOT EXISTS tlog_leaves (
	idx  INTEGER PRIMARY KEY,
	data BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS tlog_nodes (
	level INTEGER NOT NULL,
	idx   INTEGER NOT NULL,
	hash  BLOB NOT NULL,
	PRIMARY KEY (level, idx)
);
`

// Entry kinds.
const (
	KindCoreCredential  = "core-credential.issued"
	KindRevocation      = "core-credential.revoked"
	KindPersona         = "persona-credential.issued"
	KindPersonaStatus   = "persona-credential.status"
	KindFramework       = "trust-framework.changed"
	KindClientRegistred = "oidc-client.registered"
	// KindIssuerKey is an issuer key rotation: the new key's and the
	// previous key's JWK thumbprints.
	KindIssuerKey = "issuer-key.rotated"
)

// Entry is one log entry. Digest fields hold hex hashes or commitments,
// never personal data.
type Entry struct {
	Kind   string            `json:"kind"`
	Time   int64             `json:"time"`
	Class  string            `json:"class,omitempty"` // a reason class, e.g. lost-device
	Digest map[string]string `json:"digest"`
}

// MaxEntry bounds an entry's encoding.
const MaxEntry = 4 << 10

var hasher = rfc6962.DefaultHasher

var factory = &compact.RangeFactory{Hash: hasher.HashChildren}

// Querier is a database handle or a transaction.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Append adds e to the log inside q (typically the transaction that writes
// the record e witnesses) and returns its index. It first locks the head
// row, with a write that changes nothing (portable where SELECT … FOR
// UPDATE is not: SQLite takes its one writer lock, PostgreSQL the row
// lock), so concurrent appenders, on one server or several, take turns:
// each reads the size the previous one committed. q takes ? placeholders
// (the PostgreSQL store's handle rebinds them).
func Append(ctx context.Context, q Querier, e Entry) (uint64, error) {
	data, err := json.Marshal(e)
	if err != nil {
		return 0, err
	}
	if len(data) > MaxEntry {
		return 0, errors.New("tlog: entry too large")
	}
	if _, err := q.ExecContext(ctx, `UPDATE tlog_head SET size = size WHERE id = 1`); err != nil {
		return 0, fmt.Errorf("tlog: lock head: %w", err)
	}
	var size uint64
	if err := q.QueryRowContext(ctx, `SELECT size FROM tlog_head WHERE id = 1`).Scan(&size); err != nil {
		return 0, fmt.Errorf("tlog: head: %w", err)
	}
	rng, err := rangeOf(ctx, q, size)
	if err != nil {
		return 0, err
	}
	var werr error
	err = rng.Append(hasher.HashLeaf(data), func(id compact.NodeID, hash []byte) {
		if werr == nil {
			_, werr = q.ExecContext(ctx, `INSERT INTO tlog_nodes(level, idx, hash) VALUES(?, ?, ?)`, id.Level, id.Index, hash)
		}
	})
	if err == nil {
		err = werr
	}
	if err != nil {
		return 0, fmt.Errorf("tlog: append: %w", err)
	}
	if _, err := q.ExecContext(ctx, `INSERT INTO tlog_leaves(idx, data) VALUES(?, ?)`, size, data); err != nil {
		return 0, fmt.Errorf("tlog: append leaf: %w", err)
	}
	res, err := q.ExecContext(ctx, `UPDATE tlog_head SET size = ? WHERE id = 1 AND size = ?`, size+1, size)
	if err != nil {
		return 0, fmt.Errorf("tlog: advance head: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return 0, errors.New("tlog: concurrent append")
	}
	return size, nil
}

// rangeOf loads the compact range [0, size): the roots of the perfect
// subtrees size decomposes into, at most 64 stored nodes.
func rangeOf(ctx context.Context, q Querier, size uint64) (*compact.Range, error) {
	ids := compact.RangeNodes(0, size, nil)
	hashes, err := nodes(ctx, q, ids)
	if err != nil {
		return nil, err
	}
	return factory.NewRange(0, size, hashes)
}

func nodes(ctx context.Context, q Querier, ids []compact.NodeID) ([][]byte, error) {
	out := make([][]byte, len(ids))
	for i, id := range ids {
		if err := q.QueryRowContext(ctx, `SELECT hash FROM tlog_nodes WHERE level = ? AND idx = ?`, id.Level, id.Index).Scan(&out[i]); err != nil {
			return nil, fmt.Errorf("tlog: node %d/%d: %w", id.Level, id.Index, err)
		}
	}
	return out, nil
}

// Log reads the log and signs its checkpoints.
type Log struct {
	db     *sql.DB
	origin string
	signer note.Signer

	mu   sync.Mutex
	last struct {
		size uint64
		note []byte
	}
}

// New returns the log in db, whose checkpoints name origin and are signed
// with skey (a note signer key, see NewKey).
func New(db *sql.DB, origin, skey string) (*Log, error) {
	s, err := note.NewSigner(skey)
	if err != nil {
		return nil, fmt.Errorf("tlog: signer: %w", err)
	}
	if origin == "" || strings.ContainsAny(origin, "\n") {
		return nil, errors.New("tlog: origin must be one non-empty line")
	}
	return &Log{db: db, origin: origin, signer: s}, nil
}

// NewKey generates a checkpoint signing key pair for a log named origin:
// skey is private (seal it), vkey is what auditors pin.
func NewKey(origin string) (skey, vkey string, err error) {
	return note.GenerateKey(nil, keyName(origin))
}

// keyName turns an origin into a note key name (no spaces or plus signs).
func keyName(origin string) string {
	return strings.NewReplacer(" ", "_", "+", "_").Replace(origin)
}

// Size is the number of entries.
func (l *Log) Size(ctx context.Context) (uint64, error) {
	var size uint64
	err := l.db.QueryRowContext(ctx, `SELECT size FROM tlog_head WHERE id = 1`).Scan(&size)
	return size, err
}

// Root is the tree hash at size.
func (l *Log) Root(ctx context.Context, size uint64) ([]byte, error) {
	if size == 0 {
		return hasher.EmptyRoot(), nil
	}
	rng, err := rangeOf(ctx, l.db, size)
	if err != nil {
		return nil, err
	}
	return rng.GetRootHash(nil)
}

// Checkpoint is the signed checkpoint of the current tree (C2SP
// tlog-checkpoint: origin, size, base64 root hash, then the signature).
func (l *Log) Checkpoint(ctx context.Context) ([]byte, error) {
	size, err := l.Size(ctx)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.last.note != nil && l.last.size == size {
		return l.last.note, nil
	}
	root, err := l.Root(ctx, size)
	if err != nil {
		return nil, err
	}
	text := fmt.Sprintf("%s\n%d\n%s\n", l.origin, size, base64.StdEncoding.EncodeToString(root))
	signed, err := note.Sign(&note.Note{Text: text}, l.signer)
	if err != nil {
		return nil, err
	}
	l.last.size, l.last.note = size, signed
	return signed, nil
}

// Entries returns the encoded entries [start, end).
func (l *Log) Entries(ctx context.Context, start, end uint64) ([][]byte, error) {
	rows, err := l.db.QueryContext(ctx, `SELECT data FROM tlog_leaves WHERE idx >= ? AND idx < ? ORDER BY idx`, start, end)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][]byte
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// InclusionProof proves entry index is in the tree of size.
func (l *Log) InclusionProof(ctx context.Context, index, size uint64) ([][]byte, error) {
	if err := l.checkSize(ctx, size); err != nil {
		return nil, err
	}
	n, err := proof.Inclusion(index, size)
	if err != nil {
		return nil, err
	}
	return l.rehash(ctx, n)
}

// ConsistencyProof proves the tree of size1 is a prefix of the tree of size2.
func (l *Log) ConsistencyProof(ctx context.Context, size1, size2 uint64) ([][]byte, error) {
	if err := l.checkSize(ctx, size2); err != nil {
		return nil, err
	}
	n, err := proof.Consistency(size1, size2)
	if err != nil {
		return nil, err
	}
	return l.rehash(ctx, n)
}

func (l *Log) checkSize(ctx context.Context, size uint64) error {
	cur, err := l.Size(ctx)
	if err != nil {
		return err
	}
	if size > cur {
		return fmt.Errorf("tlog: tree size %d is beyond the log's %d", size, cur)
	}
	return nil
}

func (l *Log) rehash(ctx context.Context, n proof.Nodes) ([][]byte, error) {
	hashes, err := nodes(ctx, l.db, n.IDs)
	if err != nil {
		return nil, err
	}
	return n.Rehash(hashes, hasher.HashChildren)
}

// Checkpoint is a parsed, verified checkpoint.
type Checkpoint struct {
	Origin string
	Size   uint64
	Root   []byte
}

// ParseCheckpoint verifies a signed checkpoint with the pinned verifier
// key and parses it.
func ParseCheckpoint(signed []byte, vkey string) (*Checkpoint, error) {
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, fmt.Errorf("tlog: verifier key: %w", err)
	}
	if len(signed) > 16<<10 {
		return nil, errors.New("tlog: checkpoint too large")
	}
	n, err := note.Open(signed, note.VerifierList(v))
	if err != nil {
		return nil, fmt.Errorf("tlog: checkpoint signature: %w", err)
	}
	lines := strings.SplitN(n.Text, "\n", 4)
	if len(lines) < 4 {
		return nil, errors.New("tlog: checkpoint has fewer than three lines")
	}
	size, err := strconv.ParseUint(lines[1], 10, 64)
	if err != nil {
		return nil, fmt.Errorf("tlog: checkpoint size: %w", err)
	}
	root, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(root) != sha256.Size {
		return nil, errors.New("tlog: checkpoint root hash is not 32 bytes of base64")
	}
	if keyName(lines[0]) != v.Name() {
		return nil, fmt.Errorf("tlog: checkpoint origin %q is not the pinned key's log %q", lines[0], v.Name())
	}
	return &Checkpoint{Origin: lines[0], Size: size, Root: root}, nil
}

// VerifyInclusion checks an inclusion proof of entry data at index
// against a checkpoint.
func VerifyInclusion(cp *Checkpoint, index uint64, data []byte, hashes [][]byte) error {
	return proof.VerifyInclusion(hasher, index, cp.Size, hasher.HashLeaf(data), hashes, cp.Root)
}

// VerifyConsistency checks that cp2 extends cp1.
func VerifyConsistency(cp1, cp2 *Checkpoint, hashes [][]byte) error {
	if cp1.Size == 0 {
		return nil
	}
	return proof.VerifyConsistency(hasher, cp1.Size, cp2.Size, hashes, cp1.Root, cp2.Root)
}

// RootOf computes the tree hash of entries, as an auditor does to check a
// checkpoint against the entries it downloaded.
func RootOf(entries [][]byte) ([]byte, error) {
	rng := factory.NewEmptyRange(0)
	for _, e := range entries {
		if err := rng.Append(hasher.HashLeaf(e), nil); err != nil {
			return nil, err
		}
	}
	if rng.End() == 0 {
		return hasher.EmptyRoot(), nil
	}
	return rng.GetRootHash(nil)
}

// NewEntry is an entry of kind now.
func NewEntry(kind string, now time.Time, digest map[string]string) Entry {
	return Entry{Kind: kind, Time: now.Unix(), Digest: digest}
}
