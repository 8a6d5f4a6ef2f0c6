package persona

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/mustard-id/mustard/circuits/devicebound"
	"github.com/mustard-id/mustard/circuits/persona"
	"github.com/mustard-id/mustard/coreid"
	"github.com/mustard-id/mustard/internal/trust"
	"github.com/mustard-id/mustard/zk"
)

// RevocationPage is how many revocation entries the wallet asks for at a
// time: about 4.5 MB of JSON, under the client's response bound.
const RevocationPage = 65536

// RevocationUpdate is one page of GET /v1/revocations?since=N: the entries
// after the first Since, and the size and root of the whole tree.
type RevocationUpdate struct {
	Since   int
	Size    int
	Root    fr.Element
	Entries []fr.Element
	// SignedRoot is the provider's signed root (a JWS of
	// coreid.RootStatement), unverified; empty if the server sent none.
	SignedRoot string
}

// maxSignedRoot bounds a signed root's length.
const maxSignedRoot = 8 << 10

// RevocationsSince fetches up to limit revocation entries after the first
// since (limit 0: as many as the server sends).
func (c *Client) RevocationsSince(ctx context.Context, since, limit int) (RevocationUpdate, error) {
	path := "/v1/revocations?since=" + strconv.Itoa(since)
	if limit > 0 {
		path += "&limit=" + strconv.Itoa(limit)
	}
	var raw []byte
	if err := c.do(ctx, http.MethodGet, path, nil, &raw); err != nil {
		return RevocationUpdate{}, err
	}
	return ParseRevocationUpdate(raw, since)
}

// ParseRevocationUpdate decodes a GET /v1/revocations answer for a
// request from since: the page must start there and fit in the tree's
// size, every entry a canonical field element.
func ParseRevocationUpdate(raw []byte, since int) (RevocationUpdate, error) {
	var j coreid.SnapshotJSON
	u := RevocationUpdate{}
	if err := json.Unmarshal(raw, &j); err != nil {
		return u, fmt.Errorf("persona: revocation update: %w", err)
	}
	if j.Since != since || j.Size < since || len(j.Entries) > j.Size-since {
		return u, errors.New("persona: the revocation update does not fit its request")
	}
	if len(j.SignedRoot) > maxSignedRoot {
		return u, errors.New("persona: the revocation update's signed root is too long")
	}
	u.Since, u.Size, u.SignedRoot = j.Since, j.Size, j.SignedRoot
	var err error
	if u.Root, err = zk.ParseHex(j.Root); err != nil {
		return u, err
	}
	u.Entries = make([]fr.Element, len(j.Entries))
	for i, e := range j.Entries {
		if u.Entries[i], err = zk.ParseHex(e); err != nil {
			return u, err
		}
	}
	return u, nil
}

// fetchFrom pages through the entries after the first since until it has
// them all; it returns them with the whole tree's root.
func (c *Client) fetchFrom(ctx context.Context, since int) ([]fr.Element, fr.Element, error) {
	entries, root, _, err := c.fetchSigned(ctx, since)
	return entries, root, err
}

// fetchSigned is fetchFrom that also returns the last page's signed root
// (unverified).
func (c *Client) fetchSigned(ctx context.Context, since int) ([]fr.Element, fr.Element, string, error) {
	page := c.RevocationPage
	if page <= 0 {
		page = RevocationPage
	}
	var out []fr.Element
	for {
		u, err := c.RevocationsSince(ctx, since+len(out), page)
		if err != nil {
			return nil, fr.Element{}, "", err
		}
		out = append(out, u.Entries...)
		if since+len(out) >= u.Size {
			return out, u.Root, u.SignedRoot, nil
		}
		if len(u.Entries) == 0 {
			return nil, fr.Element{}, "", errors.New("persona: the revocation update stalled")
		}
	}
}

// RevocationCache is a wallet's own copy of a provider's revocation tree,
// kept up to date incrementally: Sync asks only for the entries added
// since the last sync and inserts them, so a derivation against a tree of
// a million entries costs what it costs against a small one (after the
// first sync, which downloads and builds the whole tree once). Every
// wallet asks for the same public entries, so an update reveals no more
// than the whole snapshot did: which credential the wallet holds stays
// its own. Safe for concurrent use.
type RevocationCache struct {
	mu     sync.Mutex
	tree   *zk.IndexedTree
	signed string // the provider's signed root for tree, when RevocationFile.Sync checked it
}

// Sync brings the cache up to the provider's current tree: the new
// entries only, or the whole tree on the first call (or when the cached
// copy no longer leads to the provider's root, which an append-only tree
// never does unless the provider was reset).
func (rc *RevocationCache) Sync(ctx context.Context, c *Client) error {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.tree != nil {
		entries, root, err := c.fetchFrom(ctx, rc.tree.Len())
		var pe *ProblemError
		switch {
		case errors.As(err, &pe) && pe.Status == http.StatusBadRequest:
			// since beyond the provider's size: start again below.
		case err != nil:
			return err
		default:
			ok := true
			for _, x := range entries {
				if err := rc.tree.Insert(x); err != nil {
					ok = false
					break
				}
			}
			if ok && rc.tree.Root() == root {
				return nil
			}
		}
		rc.tree = nil
	}
	entries, root, err := c.fetchFrom(ctx, 0)
	if err != nil {
		return err
	}
	tree, err := zk.IndexedTreeFrom(coreid.RevocationDepth, entries)
	if err != nil {
		return fmt.Errorf("persona: revocation snapshot: %w", err)
	}
	if tree.Root() != root {
		return errors.New("persona: the revocation snapshot does not match its root")
	}
	rc.tree = tree
	return nil
}

// Len is the number of revoked entries the cache holds.
func (rc *RevocationCache) Len() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.tree == nil {
		return 0
	}
	return rc.tree.Len()
}

// Root is the cached tree's root.
func (rc *RevocationCache) Root() fr.Element {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.tree == nil {
		return zk.NewIndexedTree(coreid.RevocationDepth).Root()
	}
	return rc.tree.Root()
}

// DeriveCached is Derive against a synced revocation cache instead of a
// snapshot rebuilt for the occasion.
func (w *Wallet) DeriveCached(ctx context.Context, keys *zk.Keys, pin []byte, fw *trust.Document, rc *RevocationCache, personaKey jwk.Key, q Query) (*persona.ProofJSON, error) {
	rc.mu.Lock()
	tree := rc.tree
	if tree == nil {
		rc.mu.Unlock()
		return nil, errors.New("persona: the revocation cache was never synced")
	}
	pub, priv, err := w.statement(pin, fw, tree, personaKey, q)
	rc.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return w.prove(keys, pub, priv, q)
}

// DeriveDeviceBoundCached is DeriveDeviceBound against a synced
// revocation cache.
func (w *Wallet) DeriveDeviceBoundCached(ctx context.Context, keys *zk.Keys, pin []byte, fw *trust.Document, rc *RevocationCache, personaKey jwk.Key, q Query, progress Progress) (*devicebound.ProofJSON, error) {
	return w.deriveDeviceBound(ctx, keys, func() (*persona.Public, *persona.Private, error) {
		rc.mu.Lock()
		defer rc.mu.Unlock()
		if rc.tree == nil {
			return nil, nil, errors.New("persona: the revocation cache was never synced")
		}
		return w.statement(pin, fw, rc.tree, personaKey, q)
	}, q, progress)
}
