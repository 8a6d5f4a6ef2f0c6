package verifier

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/mustard-id/mustard/internal/statuslist"
)

// Status checking bounds.
const (
	// maxStatusURI bounds a status list URI.
	maxStatusURI = 2048
	// maxStatusCacheTTL caps how long a list is cached, whatever its ttl.
	maxStatusCacheTTL = time.Hour
	// defaultStatusTTL is used for a list that states no ttl.
	defaultStatusTTL = 5 * time.Minute
	// maxStatusEntries bounds the cache (lists of distinct URIs).
	maxStatusEntries = 1024
)

// statusRef is a credential's status claim (draft-ietf-oauth-status-list,
// "Referenced Token": status.status_list.{idx, uri}).
type statusRef struct {
	idx int
	uri string
}

func parseStatusClaim(v any) (statusRef, error) {
	st, _ := v.(map[string]any)
	sl, ok := st["status_list"].(map[string]any)
	if !ok {
		return statusRef{}, errors.New("no status_list")
	}
	uri, _ := sl["uri"].(string)
	f, ok := sl["idx"].(float64)
	if !ok || f < 0 || f > statuslist.MaxDecoded*8 || f != math.Trunc(f) || uri == "" || len(uri) > maxStatusURI {
		return statusRef{}, errors.New("bad idx or uri")
	}
	u, err := url.Parse(uri)
	if err != nil || u.Host == "" || u.User != nil {
		return statusRef{}, errors.New("bad uri")
	}
	// Only https, or http to a loopback address (tests, one-machine
	// deployments): a status fetched in clear could be replaced.
	if u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname())) {
		return statusRef{}, errors.New("status list uri must be https")
	}
	return statusRef{idx: int(f), uri: uri}, nil
}

// isLoopback reports a host that can only be this machine: localhost, a
// loopback address, or an unspecified one (0.0.0.0, ::), which is what a
// server listening on all interfaces without a public URL names itself.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && (ip.IsLoopback() || ip.IsUnspecified())
}

// statusCache holds fetched, verified status lists until their ttl ends;
// concurrent verifications of one list share a single fetch.
type statusCache struct {
	mu      sync.Mutex
	entries map[string]*statusEntry
}

type statusEntry struct {
	ready chan struct{} // closed when list or err is set
	list  *statuslist.List
	until time.Time
	err   error
}

// checkStatus checks the status claim of a credential of issuer.
func (v *Verifier) checkStatus(ctx context.Context, issuer string, claim any) error {
	ref, err := parseStatusClaim(claim)
	if err != nil {
		return ErrStatusUnavailable
	}
	l, err := v.statusList(ctx, issuer+" "+ref.uri, func(ctx context.Context) (*statuslist.List, time.Time, error) {
		return v.fetchStatus(ctx, issuer, ref.uri)
	})
	if err != nil {
		return ErrStatusUnavailable
	}
	st, err := l.Get(ref.idx)
	if err != nil {
		return ErrStatusUnavailable
	}
	switch statuslist.Status(st) {
	case statuslist.Valid:
		return nil
	case statuslist.Suspended:
		return ErrSuspended
	}
	// INVALID, and any value Mustard does not define, is not valid.
	return ErrRevoked
}

// statusList returns the cached list under key, or fetches it (one fetch
// for concurrent callers).
func (v *Verifier) statusList(ctx context.Context, key string, fetch func(context.Context) (*statuslist.List, time.Time, error)) (*statuslist.List, error) {
	c := &v.status
	c.mu.Lock()
	now := v.cfg.Now()
	e := c.entries[key]
	if e != nil {
		select {
		case <-e.ready:
			if e.err == nil && now.Before(e.until) {
				c.mu.Unlock()
				return e.list, nil
			}
			e = nil // stale or failed: fetch again
		default: // a fetch is in flight: wait for it below
		}
	}
	if e == nil {
		if c.entries == nil {
			c.entries = map[string]*statusEntry{}
		}
		if len(c.entries) >= maxStatusEntries {
			c.evict(now)
		}
		e = &statusEntry{ready: make(chan struct{})}
		c.entries[key] = e
		c.mu.Unlock()
		e.list, e.until, e.err = fetch(ctx)
		close(e.ready)
		return e.list, e.err
	}
	c.mu.Unlock()
	select {
	case <-e.ready:
		return e.list, e.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// evict drops expired and failed entries and, if the cache is still full,
// every finished entry: a bound, not an LRU.
func (c *statusCache) evict(now time.Time) {
	for k, e := range c.entries {
		select {
		case <-e.ready:
			if e.err != nil || !now.Before(e.until) || len(c.entries) >= maxStatusEntries {
				delete(c.entries, k)
			}
		default:
		}
	}
}

// fetchStatus GETs a Status List Token (bounded in size and time) and
// verifies it with the credential issuer's key.
func (v *Verifier) fetchStatus(ctx context.Context, issuer, uri string) (*statuslist.List, time.Time, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
	if err != nil {
		return nil, time.Time{}, err
	}
	req.Header.Set("Accept", statuslist.MediaType)
	resp, err := v.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, time.Time{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, time.Time{}, fmt.Errorf("verifier: status list: HTTP %d", resp.StatusCode)
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != statuslist.MediaType {
		return nil, time.Time{}, fmt.Errorf("verifier: status list: content type %q", mt)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, statuslist.MaxToken+1))
	if err != nil {
		return nil, time.Time{}, err
	}
	if len(body) > statuslist.MaxToken {
		return nil, time.Time{}, errors.New("verifier: status list too large")
	}
	now := v.cfg.Now()
	tok, err := statuslist.ParseToken(ctx, string(body), statuslist.ParseOptions{Subject: uri, Issuer: issuer, Keys: v.cfg.Issuers, Now: now, Skew: time.Minute})
	if err != nil {
		return nil, time.Time{}, err
	}
	ttl := tok.TTL
	if ttl <= 0 {
		ttl = defaultStatusTTL
	}
	until := now.Add(min(ttl, maxStatusCacheTTL))
	if !tok.Expiry.IsZero() && tok.Expiry.Before(until) {
		until = tok.Expiry
	}
	return tok.List, until, nil
}
