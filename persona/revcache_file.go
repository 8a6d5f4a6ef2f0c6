package persona

import (
	"context"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/mustard-id/mustard/coreid"
	"github.com/mustard-id/mustard/zk"
)

// The wallet's revocation cache, one file per provider:
//
//	revocations/<provider key hex>.bin
//
// holds the provider's revocation tree (values and node hashes, binary:
// zk.IndexedTree.AppendEncoded), the provider key and server URL it is
// for, and the provider's signed root for it, under an HMAC-SHA-256 keyed
// from the wallet's storage key. The entries are public (every wallet
// downloads the same ones); the MAC is there so that loading a million
// entries needs no rehashing: a file someone else wrote or altered fails
// the MAC and is rebuilt from the provider, never used. On top of that,
// the tree's root must be the one in the provider's signed root, which
// must verify under the provider's revocation root keys and name the
// wallet's provider. Layout (integers big-endian):
//
//	"MSTRC\x00\x00\x01"          magic and version
//	u16 len, provider key hex    the provider the tree is for
//	u16 len, server URL          where it was fetched
//	u32 len, signed root         JWS of coreid.RootStatement for this tree
//	u8 depth, u64 n              the tree's depth and number of entries
//	zk.EncodedLen(depth, n)      the tree
//	32 bytes                     HMAC-SHA-256 of all of the above
const (
	revocationDir   = "revocations"
	revocationMagic = "MSTRC\x00\x00\x01"
	// maxCacheEntries bounds the entries a cache file may hold (16.7
	// million: 1.6 GB), far above the million the project plans for.
	maxCacheEntries = 1 << 24
	maxServerURL    = 2048
	macLen          = sha256.Size
)

// ErrCacheFile is a revocation cache file that cannot be used.
var ErrCacheFile = errors.New("persona: revocation cache file is corrupt or was altered")

// RevocationFile is a wallet's persisted revocation cache for one
// provider.
type RevocationFile struct {
	Path     string
	Provider string // hex provider key the tree must be signed for
	key      []byte // MAC key
}

// RevocationSync says what a Sync did.
type RevocationSync struct {
	Loaded  int           // entries read from the cache file
	Fetched int           // entries downloaded
	Rebuilt string        // why the cache was rebuilt from scratch ("" when it was not)
	Saved   bool          // whether the file was rewritten
	Load    time.Duration // reading and checking the file
	Total   time.Duration
}

// RevocationFile is this wallet's revocation cache for its provider; it
// needs the core credential (whose provider the tree is for).
func (u *Unlocked) RevocationFile() (*RevocationFile, error) {
	if u.Wallet.Core == nil {
		return nil, ErrNotEnrolled
	}
	key, err := hkdf.Key(sha256.New, u.key, nil, "mustard/wallet/revocations/v1", 32)
	if err != nil {
		return nil, err
	}
	prov := hex.EncodeToString(u.Wallet.Core.ProviderKey.Bytes())
	return NewRevocationFile(filepath.Join(u.Dir, revocationDir, prov+".bin"), prov, key), nil
}

// NewRevocationFile is the cache file at path for the provider with the
// given hex key, authenticated under key (at least 32 bytes).
func NewRevocationFile(path, provider string, key []byte) *RevocationFile {
	return &RevocationFile{Path: path, Provider: provider, key: key}
}

// Sync loads the cache file, brings it up to the provider's current tree
// at c (only the entries added since it was saved), checks the result
// against the root the provider signed, and saves it. A missing,
// corrupt or altered file, one for another server, or a cached tree the
// provider's is not an extension of (a provider reset or rebuilt) is
// rebuilt from scratch; Rebuilt says why.
func (f *RevocationFile) Sync(ctx context.Context, c *Client) (*RevocationCache, RevocationSync, error) {
	start := time.Now()
	var rs RevocationSync
	keys, err := c.RevocationRootKeys(ctx)
	if err != nil {
		return nil, rs, fmt.Errorf("persona: the provider's revocation root keys: %w", err)
	}
	tree, err := f.load(c.BaseURL, keys)
	rs.Load = time.Since(start)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		rs.Rebuilt = err.Error()
	default:
		rs.Loaded = tree.Len()
	}
	rc := &RevocationCache{tree: tree}
	changed := tree == nil
	for attempt := 0; ; attempt++ {
		if attempt > 4 {
			return nil, rs, errors.New("persona: the provider's revocation tree does not match the root it signed (or kept changing during the update)")
		}
		fresh := rc.tree == nil
		var signed string
		n, ok, err := rc.extend(ctx, c, &signed)
		if err != nil {
			return nil, rs, err
		}
		rs.Fetched += n
		changed = changed || n > 0
		if ok {
			st, err := f.verify(signed, keys)
			if err != nil {
				return nil, rs, err
			}
			if st.Root == zk.Hex(rc.tree.Root()) && st.Size == rc.tree.Len() {
				rc.signed = signed
				break
			}
			if st.Size > rc.tree.Len() {
				continue // revoked between the page and its signature
			}
		}
		if !fresh && rs.Rebuilt == "" {
			// The provider's tree is not an extension of ours.
			rs.Rebuilt = "the provider's revocation tree does not extend the cached one (the provider was reset or rebuilt)"
		}
		rc.tree, changed = nil, true
	}
	if changed {
		if err := f.save(rc, c.BaseURL); err != nil {
			return nil, rs, err
		}
		rs.Saved = true
	}
	rs.Total = time.Since(start)
	return rc, rs, nil
}

// extend fetches what follows the cached tree (everything if there is
// none) and inserts it: n entries fetched, ok if the result has the root
// the provider's pages give, signed set to its signed root.
func (rc *RevocationCache) extend(ctx context.Context, c *Client, signed *string) (n int, ok bool, err error) {
	if rc.tree == nil {
		entries, root, s, err := c.fetchSigned(ctx, 0)
		if err != nil {
			return 0, false, err
		}
		tree, err := zk.IndexedTreeFrom(coreid.RevocationDepth, entries)
		if err != nil {
			return len(entries), false, fmt.Errorf("persona: revocation snapshot: %w", err)
		}
		rc.tree, *signed = tree, s
		return len(entries), tree.Root() == root, nil
	}
	entries, root, s, err := c.fetchSigned(ctx, rc.tree.Len())
	var pe *ProblemError
	if errors.As(err, &pe) && pe.Status == http.StatusBadRequest {
		return 0, false, nil // beyond the provider's size: not an extension
	}
	if err != nil {
		return 0, false, err
	}
	for _, x := range entries {
		if rc.tree.Insert(x) != nil {
			return len(entries), false, nil
		}
	}
	*signed = s
	return len(entries), rc.tree.Root() == root, nil
}

// verify checks a signed root under the provider's root keys and that it
// is this provider's.
func (f *RevocationFile) verify(signed string, keys jwk.Set) (*coreid.RootStatement, error) {
	st, err := coreid.VerifyRoot(signed, keys)
	if err != nil {
		return nil, fmt.Errorf("persona: the provider's signed revocation root: %w", err)
	}
	if !hmac.Equal([]byte(st.Provider), []byte(f.Provider)) {
		return nil, errors.New("persona: the revocation root is signed for another provider than the wallet's")
	}
	return st, nil
}

// load reads and checks the cache file: its MAC, that it is for this
// provider and server, and that its tree has the root the provider
// signed.
func (f *RevocationFile) load(server string, keys jwk.Set) (*zk.IndexedTree, error) {
	fh, err := os.Open(f.Path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	fi, err := fh.Stat()
	if err != nil {
		return nil, err
	}
	if fi.Size() > int64(zk.EncodedLen(coreid.RevocationDepth, maxCacheEntries)+64<<10) {
		return nil, fmt.Errorf("%w: too large", ErrCacheFile)
	}
	b := make([]byte, fi.Size())
	if _, err := io.ReadFull(fh, b); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCacheFile, err)
	}
	c, err := ParseRevocationFile(b, f.key)
	if err != nil {
		return nil, err
	}
	switch {
	case c.Provider != f.Provider:
		return nil, fmt.Errorf("%w: it is for another provider", ErrCacheFile)
	case c.Server != server:
		return nil, fmt.Errorf("%w: it is for another server (%s)", ErrCacheFile, c.Server)
	}
	st, err := f.verify(c.SignedRoot, keys)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCacheFile, err)
	}
	if st.Root != zk.Hex(c.Tree.Root()) || st.Size != c.Tree.Len() {
		return nil, fmt.Errorf("%w: its tree does not have the root the provider signed", ErrCacheFile)
	}
	return c.Tree, nil
}

// CachedRevocations is a parsed cache file.
type CachedRevocations struct {
	Provider, Server, SignedRoot string
	Tree                         *zk.IndexedTree
}

// ParseRevocationFile checks a cache file's MAC under key and decodes it.
func ParseRevocationFile(b, key []byte) (*CachedRevocations, error) {
	if len(b) < macLen {
		return nil, fmt.Errorf("%w: truncated", ErrCacheFile)
	}
	body, tag := b[:len(b)-macLen], b[len(b)-macLen:]
	m := hmac.New(sha256.New, key)
	m.Write(body)
	if !hmac.Equal(m.Sum(nil), tag) {
		return nil, fmt.Errorf("%w: its MAC does not verify", ErrCacheFile)
	}
	return parseRevocationBody(body)
}

// parseRevocationBody decodes a cache file without its MAC.
func parseRevocationBody(b []byte) (*CachedRevocations, error) {
	bad := func(what string) error { return fmt.Errorf("%w: %s", ErrCacheFile, what) }
	if len(b) < len(revocationMagic) || string(b[:len(revocationMagic)]) != revocationMagic {
		return nil, bad("not a revocation cache of this version")
	}
	b = b[len(revocationMagic):]
	field := func(lenBytes, limit int) (string, bool) {
		if len(b) < lenBytes {
			return "", false
		}
		var n int
		if lenBytes == 2 {
			n = int(binary.BigEndian.Uint16(b))
		} else {
			n = int(binary.BigEndian.Uint32(b))
		}
		b = b[lenBytes:]
		if n > limit || n > len(b) {
			return "", false
		}
		s := string(b[:n])
		b = b[n:]
		return s, true
	}
	var c CachedRevocations
	var ok bool
	if c.Provider, ok = field(2, 128); !ok {
		return nil, bad("provider")
	}
	if c.Server, ok = field(2, maxServerURL); !ok {
		return nil, bad("server")
	}
	if c.SignedRoot, ok = field(4, maxSignedRoot); !ok {
		return nil, bad("signed root")
	}
	if len(b) < 9 {
		return nil, bad("truncated")
	}
	depth, n := int(b[0]), binary.BigEndian.Uint64(b[1:9])
	b = b[9:]
	if depth != coreid.RevocationDepth || n > maxCacheEntries {
		return nil, bad("tree size")
	}
	tree, err := zk.DecodeIndexedTree(depth, int(n), b)
	if err != nil {
		return nil, bad(err.Error())
	}
	c.Tree = tree
	return &c, nil
}

// encodeRevocationFile is the file for tree, under key.
func encodeRevocationFile(provider, server, signed string, tree *zk.IndexedTree, key []byte) ([]byte, error) {
	if len(provider) > 128 || len(server) > maxServerURL || len(signed) > maxSignedRoot || tree.Len() > maxCacheEntries {
		return nil, errors.New("persona: revocation cache too large to save")
	}
	b := make([]byte, 0, len(revocationMagic)+8+len(provider)+len(server)+len(signed)+9+zk.EncodedLen(tree.Depth(), tree.Len())+macLen)
	b = append(b, revocationMagic...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(provider)))
	b = append(b, provider...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(server)))
	b = append(b, server...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(signed)))
	b = append(b, signed...)
	b = append(b, byte(tree.Depth()))
	b = binary.BigEndian.AppendUint64(b, uint64(tree.Len()))
	b = tree.AppendEncoded(b)
	m := hmac.New(sha256.New, key)
	m.Write(b)
	return m.Sum(b), nil
}

// save writes the cache atomically.
func (f *RevocationFile) save(rc *RevocationCache, server string) error {
	b, err := encodeRevocationFile(f.Provider, server, rc.signed, rc.tree, f.key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(f.Path), 0o700); err != nil {
		return fmt.Errorf("persona: %w", err)
	}
	return writeAtomic(f.Path, b)
}

// RevocationRootKeys fetches the keys that verify the provider's signed
// revocation roots (GET /v1/revocations/keys).
func (c *Client) RevocationRootKeys(ctx context.Context) (jwk.Set, error) {
	var raw []byte
	if err := c.do(ctx, http.MethodGet, "/v1/revocations/keys", nil, &raw); err != nil {
		return nil, err
	}
	return jwk.Parse(raw)
}
