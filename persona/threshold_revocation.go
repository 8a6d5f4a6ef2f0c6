package persona

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/mustard-id/mustard/coreid"
	"github.com/mustard-id/mustard/internal/trust"
	"github.com/mustard-id/mustard/zk"
)

// maxFrameworkEntries bounds the framework-wide revocation set a wallet
// (or a relying party) assembles: the indexed tree's capacity.
const maxFrameworkEntries = 1<<coreid.RevocationDepth - 1

// FrameworkRevocations assembles the framework-wide revocation set that
// k-of-n proofs are checked against: the union of every accredited
// provider's revocation entries. It downloads each provider's snapshot
// (every distinct URL the framework lists), checks that its entries build
// the root the provider signed (coreid.VerifyRoot under the provider's
// root keys) and that the signed root names a key the framework lists at
// that URL, and returns the union with the root of its indexed tree,
// which depends on the set alone: every wallet and relying party that
// holds the same snapshots computes the same root, and no one signs it.
// A provider that cannot be reached, or whose snapshot does not match its
// signed root, fails the call: a partial union would hide revocations.
// Providers the framework lists without a URL contribute nothing.
func FrameworkRevocations(ctx context.Context, fw *trust.Document, hc *http.Client) (coreid.Snapshot, error) {
	return FrameworkRevocationsSince(ctx, fw, hc, time.Time{})
}

// FrameworkRevocationsSince is FrameworkRevocations that also refuses a
// provider's signed root older than notBefore (its RootStatement.Time; a
// provider signs its root afresh for every request): a cache or mirror
// at a provider's URL replaying an earlier snapshot, which would drop
// the revocations published since, fails the call as well.
func FrameworkRevocationsSince(ctx context.Context, fw *trust.Document, hc *http.Client, notBefore time.Time) (coreid.Snapshot, error) {
	var out coreid.Snapshot
	keysAt := map[string]map[string]bool{} // URL -> provider keys listed there
	var urls []string
	for _, p := range fw.Providers {
		if p.URL == "" {
			continue
		}
		if keysAt[p.URL] == nil {
			keysAt[p.URL] = map[string]bool{}
			urls = append(urls, p.URL)
		}
		keysAt[p.URL][p.Key] = true
	}
	seen := map[fr.Element]bool{}
	for _, url := range urls {
		entries, err := providerRevocations(ctx, &Client{BaseURL: url, HTTP: hc}, keysAt[url], notBefore)
		if err != nil {
			return out, fmt.Errorf("persona: revocations of %s: %w", url, err)
		}
		for _, e := range entries {
			if !seen[e] {
				seen[e] = true
				out.Entries = append(out.Entries, e)
			}
		}
		if len(out.Entries) > maxFrameworkEntries {
			return out, fmt.Errorf("persona: the framework's revocation set exceeds %d entries", maxFrameworkEntries)
		}
	}
	tree, err := zk.IndexedTreeFrom(coreid.RevocationDepth, out.Entries)
	if err != nil {
		return out, fmt.Errorf("persona: framework revocation set: %w", err)
	}
	out.Root = tree.Root()
	return out, nil
}

// providerRevocations downloads one provider's snapshot and checks it
// against the root it signed.
func providerRevocations(ctx context.Context, c *Client, keys map[string]bool, notBefore time.Time) ([]fr.Element, error) {
	var j coreid.SnapshotJSON
	if err := c.Get(ctx, "/v1/revocations", &j); err != nil {
		return nil, err
	}
	var raw []byte
	if err := c.do(ctx, http.MethodGet, "/v1/revocations/keys", nil, &raw); err != nil {
		return nil, err
	}
	rootKeys, err := jwk.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("root keys: %w", err)
	}
	st, err := coreid.VerifyRoot(j.SignedRoot, rootKeys)
	if err != nil {
		return nil, fmt.Errorf("signed root: %w", err)
	}
	if !keys[st.Provider] {
		return nil, fmt.Errorf("the signed root names a key the framework does not list at this URL")
	}
	if !notBefore.IsZero() && st.Time < notBefore.Unix() {
		return nil, fmt.Errorf("the signed root is from %s, before %s: an earlier snapshot", time.Unix(st.Time, 0).UTC().Format(time.RFC3339), notBefore.UTC().Format(time.RFC3339))
	}
	entries := make([]fr.Element, 0, len(j.Entries))
	for _, e := range j.Entries {
		x, err := zk.ParseHex(e)
		if err != nil {
			return nil, err
		}
		entries = append(entries, x)
	}
	tree, err := zk.IndexedTreeFrom(coreid.RevocationDepth, entries)
	if err != nil {
		return nil, err
	}
	if zk.Hex(tree.Root()) != st.Root || st.Root != j.Root || st.Size != len(entries) {
		return nil, fmt.Errorf("the snapshot does not build the root the provider signed")
	}
	return entries, nil
}
