package bench

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/mustard-id/mustard/coreid"
	"github.com/mustard-id/mustard/internal/server"
	"github.com/mustard-id/mustard/internal/store"
	"github.com/mustard-id/mustard/internal/tlog"
	"github.com/mustard-id/mustard/zk"
)

// populateChunk is how many identities (and as many revocations) one
// transaction writes.
const populateChunk = 20000

// Populate adds identities core identities and revocations revoked
// entries to srv's SQLite store in bulk, writing the rows the provider's
// own paths write, in the same shape:
//
//   - an enrollment (Provider.Enroll → EnrollIdentity): an identities row
//     (the HMAC uniqueness tag of a sample-government subject under the
//     provider's tag key, a random revocation nonce, the time) and its
//     transparency-log entry (core-credential.issued, the nonce's digest);
//   - a revocation (Provider.Revoke → AddRevocation): a revocations row
//     (H(T_REV, pk.x, revNonce) for a random nonce under the provider's key,
//     reason "provider", the time) and its log entry
//     (core-credential.revoked), the log's tree nodes and head as
//     tlog.Append writes them.
//
// What it does not do: sign core credentials nobody will hold (an
// enrollment's EdDSA signature is returned to the wallet, never stored),
// and insert into the provider's in-memory revocation tree, which the
// server builds from the revocations table when it opens: reopen the
// server after populating. Enrollments and revocations alternate by
// chunk. The subjects are BENCH-POP-<i> for i from first: a later
// Populate from where this one ended adds new people.
func Populate(ctx context.Context, srv *server.Server, first, identities, revocations int, progress func(done, total int)) error {
	db := srv.Store.DB()
	if db == nil {
		return errors.New("bench: populate needs the SQLite store")
	}
	src, err := srv.Framework.Source(server.SampleSourceID)
	if err != nil {
		return err
	}
	tagIssuer := src.ID
	if src.SubjectScheme != "" {
		tagIssuer = "scheme:" + src.SubjectScheme
	}
	total := identities + revocations
	done, ids, revs := 0, 0, 0
	for ids < identities || revs < revocations {
		ni := min(populateChunk, identities-ids)
		nr := min(populateChunk, revocations-revs)
		if err := populateChunkTx(ctx, db, srv.Provider, tagIssuer, first+ids, ni, nr); err != nil {
			return err
		}
		ids, revs = ids+ni, revs+nr
		done += ni + nr
		if progress != nil {
			progress(done, total)
		}
	}
	return nil
}

func populateChunkTx(ctx context.Context, db *sql.DB, p *coreid.Provider, tagIssuer string, from, ni, nr int) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	log, err := tlog.NewAppender(ctx, tx)
	if err != nil {
		return err
	}
	idStmt, err := tx.PrepareContext(ctx, `INSERT INTO identities(tag, rev_nonce, created_at) VALUES(?, ?, ?)`)
	if err != nil {
		return err
	}
	defer idStmt.Close()
	revStmt, err := tx.PrepareContext(ctx, `INSERT INTO revocations(entry, reason, created_at) VALUES(?, ?, ?)`)
	if err != nil {
		return err
	}
	defer revStmt.Close()
	now := time.Now()
	for i := range ni {
		rn, err := zk.RandomElement()
		if err != nil {
			return err
		}
		b := rn.Bytes()
		tag := p.Tag(tagIssuer, fmt.Sprintf("BENCH-POP-%d", from+i))
		if _, err := idStmt.ExecContext(ctx, tag, b[:], now.Unix()); err != nil {
			return fmt.Errorf("bench: populate identities: %w", err)
		}
		if _, err := log.Append(ctx, store.IssuedEntry(b[:], now)); err != nil {
			return err
		}
	}
	for range nr {
		rn, err := zk.RandomElement()
		if err != nil {
			return err
		}
		x := p.RevocationEntry(rn)
		b := x.Bytes()
		if _, err := revStmt.ExecContext(ctx, b[:], coreid.ReasonProvider, now.Unix()); err != nil {
			return fmt.Errorf("bench: populate revocations: %w", err)
		}
		if _, err := log.Append(ctx, store.RevokedEntry(b[:], coreid.ReasonProvider, now)); err != nil {
			return err
		}
	}
	if err := log.Close(ctx); err != nil {
		return err
	}
	return tx.Commit()
}
