package server

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/mustard-id/mustard/circuits/threshold"
	"github.com/mustard-id/mustard/coreid"
	"github.com/mustard-id/mustard/internal/problem"
	"github.com/mustard-id/mustard/internal/trust"
	"github.com/mustard-id/mustard/persona"
	"github.com/mustard-id/mustard/zk"
)

// Defaults of the framework-wide revocation union (Options.ThresholdRefresh).
const (
	// DefaultThresholdRefresh is how old the other providers' snapshots
	// may be before a k-of-n verification fetches them again.
	DefaultThresholdRefresh = 30 * time.Second
	// thresholdStaleFactor: when a fetch fails, the last union stays in
	// use until it is this many refresh intervals old; past that, the
	// union root is unavailable and k-of-n proofs are refused.
	thresholdStaleFactor = 4
	// thresholdFetchTimeout bounds one refresh of every provider.
	thresholdFetchTimeout = 10 * time.Second
	// thresholdMaxRootAge: a provider's signed root older than this
	// (providers sign afresh for each request; the margin is for clock
	// skew) is an earlier snapshot replayed, which would drop the
	// revocations published since, and fails the refresh.
	thresholdMaxRootAge = 5 * time.Minute
)

// setupThreshold loads (or, the first time, sets up) the K-of-n circuit's
// keys under the data directory's zk/ as threshold-K.*.
func (s *Server) setupThreshold(opts Options) error {
	k := opts.Threshold
	if k < 2 || k > threshold.MaxK {
		return fmt.Errorf("server: the threshold is between 2 and %d, not %d", threshold.MaxK, k)
	}
	if _, _, err := s.Framework.OrgRegistry(); err != nil {
		return fmt.Errorf("server: the trust framework's organisation registry: %w", err)
	}
	keys, err := zk.LoadOrSetup(s.zkDir, thresholdName(k), threshold.New(k), opts.Progress)
	if err != nil {
		return err
	}
	s.ThresholdKeys = map[int]*zk.Keys{k: keys}
	return nil
}

func thresholdName(k int) string { return "threshold-" + strconv.Itoa(k) }

// thresholdRoots are the k-of-n profile's roots: the framework's
// organisation registry root, and the framework-wide revocation root.
func (s *Server) thresholdRoots(opts Options, ownKey string) (registry, revocation func() fr.Element, err error) {
	orgs, _, err := s.Framework.OrgRegistry()
	if err != nil {
		return nil, nil, err
	}
	root := orgs.Root()
	for _, pr := range s.Framework.Providers {
		// Every signer's revocations must reach the union: a provider the
		// union cannot fetch would have its k-of-n revocations ignored
		// here, so the server refuses to start rather than fail open.
		if pr.URL == "" && !strings.EqualFold(pr.Key, ownKey) {
			return nil, nil, fmt.Errorf("server: k-of-n: the trust framework lists provider %s without a url, so its revocations cannot be fetched", pr.ID)
		}
	}
	u := newRevocationUnion(s.Framework, ownKey, s.Provider, opts)
	return func() fr.Element { return root }, u.Root, nil
}

// revocationUnion computes the framework-wide revocation root: the root of
// the indexed tree of the union of every accredited provider's revocation
// entries. This server's own entries are read directly (always current);
// the other providers' signed snapshots are fetched (and checked against
// their signed roots, persona.FrameworkRevocations) when the last fetch is
// older than the refresh interval. If a fetch fails, the last good union
// is used until it is thresholdStaleFactor intervals old; past that the
// root is unavailable (the zero element, which no proof matches), so a
// revocation elsewhere in the framework is honoured here at most one
// refresh interval after it is published, or the server fails closed.
type revocationUnion struct {
	others   *trust.Document // the framework without this server's own key
	own      func() coreid.Snapshot
	hc       *http.Client
	now      func() time.Time
	interval time.Duration
	progress zk.Progress

	mu       sync.Mutex
	fetched  time.Time    // when others was last fetched successfully
	entries  []fr.Element // the other providers' entries then
	ownRoot  fr.Element   // own root the cached union was built with
	root     fr.Element   // the cached union root
	rootOK   bool
	lastFail string
	fetching bool          // a refresh is under way (outside mu)
	done     chan struct{} // closed when it ends
	failed   time.Time     // when the last refresh failed
}

func newRevocationUnion(fw *trust.Document, ownKey string, p *coreid.Provider, opts Options) *revocationUnion {
	others := *fw
	others.Providers = nil
	for _, pr := range fw.Providers {
		if !strings.EqualFold(pr.Key, ownKey) {
			others.Providers = append(others.Providers, pr)
		}
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: thresholdFetchTimeout}
	}
	interval := opts.ThresholdRefresh
	if interval <= 0 {
		interval = DefaultThresholdRefresh
	}
	return &revocationUnion{others: &others, own: p.Revocations, hc: hc, now: opts.Now, interval: interval, progress: opts.Progress}
}

// Root is the current framework-wide revocation root, or the zero element
// when the other providers' snapshots are too stale to use.
//
// One caller refreshes at a time, without holding the lock while it
// waits on the network: the others go on with the last union (they wait
// for the refresh only when there is none fresh enough to use), so a
// slow provider cannot queue every verification behind its fetch
// timeout. After a failed refresh the next is tried a quarter interval
// later at the earliest.
func (u *revocationUnion) Root() fr.Element {
	u.mu.Lock()
	now := u.now()
	if !u.fetching && (u.fetched.IsZero() || now.Sub(u.fetched) >= u.interval) &&
		(u.failed.IsZero() || now.Sub(u.failed) >= u.interval/4) {
		u.fetching = true
		done := make(chan struct{})
		u.done = done
		u.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), thresholdFetchTimeout)
		snap, err := persona.FrameworkRevocationsSince(ctx, u.others, u.hc, now.Add(-thresholdMaxRootAge))
		cancel()
		u.mu.Lock()
		u.fetching = false
		close(done)
		if err == nil {
			u.fetched, u.entries, u.rootOK, u.lastFail, u.failed = now, snap.Entries, false, "", time.Time{}
		} else {
			u.failed = now
			if msg := err.Error(); msg != u.lastFail {
				u.lastFail = msg
				u.progress("k-of-n revocation union: " + msg)
			}
		}
	}
	if u.fetching && (u.fetched.IsZero() || now.Sub(u.fetched) >= thresholdStaleFactor*u.interval) {
		// Nothing usable meanwhile (the first refresh, say): wait for it.
		done := u.done
		u.mu.Unlock()
		<-done
		u.mu.Lock()
	}
	defer u.mu.Unlock()
	if u.fetched.IsZero() || now.Sub(u.fetched) >= thresholdStaleFactor*u.interval {
		return fr.Element{}
	}
	own := u.own()
	if u.rootOK && own.Root == u.ownRoot {
		return u.root
	}
	seen := make(map[fr.Element]bool, len(u.entries)+len(own.Entries))
	all := make([]fr.Element, 0, len(u.entries)+len(own.Entries))
	for _, e := range append(append([]fr.Element(nil), u.entries...), own.Entries...) {
		if !seen[e] {
			seen[e] = true
			all = append(all, e)
		}
	}
	tree, err := zk.IndexedTreeFrom(coreid.RevocationDepth, all)
	if err != nil {
		u.progress("k-of-n revocation union: " + err.Error())
		return fr.Element{}
	}
	u.root, u.ownRoot, u.rootOK = tree.Root(), own.Root, true
	return u.root
}

// serveThresholdFile serves a k-of-n circuit's key files at
// /v1/zk/threshold-K/files/{name}: 404 unless this server runs K.
func (s *Server) serveThresholdFile(w http.ResponseWriter, r *http.Request) {
	circuit, name := r.PathValue("circuit"), r.PathValue("name")
	kstr, ok := strings.CutPrefix(circuit, "threshold-")
	k, err := strconv.Atoi(kstr)
	keys := s.ThresholdKeys[k]
	if !ok || err != nil || keys == nil || thresholdName(k) != circuit {
		problem.Write(w, r, problem.ErrNotFound)
		return
	}
	ext, ok := strings.CutPrefix(name, circuit+".")
	ctype := map[string]string{"json": "application/json", "vk": "application/octet-stream", "pk": "application/octet-stream"}[ext]
	if !ok || ctype == "" {
		problem.Write(w, r, problem.ErrNotFound)
		return
	}
	s.sendZKFile(w, r, name, ctype, keys.VKID)
}
