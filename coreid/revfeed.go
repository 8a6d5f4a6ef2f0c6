package coreid

import (
	"context"
	"fmt"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/mustard-id/mustard/internal/problem"
	"github.com/mustard-id/mustard/zk"
)

// RevocationFeed is optional Storage: the revocation entries after a
// sequence number, in insertion order. With it the provider's tree
// follows the store rather than its own writes, so several providers on
// one database (PostgreSQL) hold the same tree: each catches up with the
// others' revocations at most Config.RevocationRefresh after they commit,
// and at once when it revokes itself.
type RevocationFeed interface {
	RevocationsAfter(ctx context.Context, after int64, limit int) (seqs []int64, entries [][]byte, err error)
}

// DefaultRevocationRefresh is how stale a provider's revocation tree may
// be behind revocations another server committed.
const DefaultRevocationRefresh = time.Second

// revocationPage bounds one catch-up query.
const revocationPage = 100000

// catchUpLocked inserts the entries the store holds beyond the tree, in
// the store's order. p.mu must be held for writing.
func (p *Provider) catchUpLocked(ctx context.Context) error {
	if err := p.treeErr(); err != nil {
		return err
	}
	for {
		seqs, entries, err := p.feed.RevocationsAfter(ctx, p.lastSeq, revocationPage)
		if err != nil {
			return err
		}
		for i, b := range entries {
			var x fr.Element
			if err := x.SetBytesCanonical(b); err != nil {
				return fmt.Errorf("coreid: stored revocation entry: %w", err)
			}
			if !p.revoked.Contains(x) {
				if err := p.revoked.Insert(x); err != nil {
					return err
				}
			}
			p.lastSeq = seqs[i]
		}
		p.lastCatchUp = time.Now()
		if len(entries) < revocationPage {
			return nil
		}
	}
}

// loadFeed builds the tree from the store's feed at start.
func (p *Provider) loadFeed(ctx context.Context) error {
	var values []fr.Element
	for {
		seqs, entries, err := p.feed.RevocationsAfter(ctx, p.lastSeq, revocationPage)
		if err != nil {
			return err
		}
		for i, b := range entries {
			var x fr.Element
			if err := x.SetBytesCanonical(b); err != nil {
				return fmt.Errorf("coreid: stored revocation entry: %w", err)
			}
			values = append(values, x)
			p.lastSeq = seqs[i]
		}
		if len(entries) < revocationPage {
			break
		}
	}
	var err error
	if p.revoked, err = zk.IndexedTreeFrom(RevocationDepth, values); err != nil {
		return fmt.Errorf("coreid: stored revocation entries: %w", err)
	}
	p.lastCatchUp = time.Now()
	return nil
}

// fresh catches the tree up with the store when it was last caught up
// more than Config.RevocationRefresh ago. A failure leaves the tree as it
// was (and is tried again on the next read).
func (p *Provider) fresh() {
	if p.feed == nil {
		return
	}
	p.mu.RLock()
	due := time.Since(p.lastCatchUp) >= p.cfg.RevocationRefresh
	p.mu.RUnlock()
	if !due {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if time.Since(p.lastCatchUp) < p.cfg.RevocationRefresh {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = p.catchUpLocked(ctx)
}

// treeErr says why there is no revocation tree (p.mu held).
func (p *Provider) treeErr() error {
	if p.revoked != nil {
		return nil
	}
	if p.loadErr != nil {
		return fmt.Errorf("%w: revocation tree: %v", problem.ErrUnavailable, p.loadErr)
	}
	return problem.ErrUnavailable
}

// Ready reports whether the revocation tree is loaded; it waits for the
// background load to finish.
func (p *Provider) Ready() error {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.treeErr()
}

// Loaded reports, without waiting, whether the revocation tree is built
// (false while it loads in the background, or if loading failed): what a
// readiness probe asks.
func (p *Provider) Loaded() bool { return p.loaded.Load() }
