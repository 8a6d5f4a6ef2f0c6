package wallettest

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/coreid"
	"github.com/mustard-id/mustard/zk"
)

// The command-line wallet keeps its revocation cache between runs: a
// file per provider that grows by what was revoked since, and that is
// rebuilt (with a warning), not used, when altered.
func TestWalletRevocationCacheFile(t *testing.T) {
	t.Setenv("MUSTARD_PIN", "a long wallet passphrase")
	dir := newWallet(t)
	ok(t, dir, "persona", "new", "--scope", "cache1.example", "--keys", env.keys)
	files, err := filepath.Glob(filepath.Join(dir, "revocations", "*.bin"))
	require.NoError(t, err)
	require.Len(t, files, 1)
	before, err := os.Stat(files[0])
	require.NoError(t, err)

	for range 3 {
		x, err := zk.RandomElement()
		require.NoError(t, err)
		require.NoError(t, env.srv.Provider.Revoke(context.Background(), x, coreid.ReasonProvider))
	}
	r := ok(t, dir, "persona", "new", "--scope", "cache2.example", "--keys", env.keys)
	require.NotContains(t, r.stderr, "rebuilt")
	after, err := os.Stat(files[0])
	require.NoError(t, err)
	require.Greater(t, after.Size(), before.Size(), "the three new entries were added to the file")

	b, err := os.ReadFile(files[0])
	require.NoError(t, err)
	b[len(b)/2] ^= 1
	require.NoError(t, os.WriteFile(files[0], b, 0o600))
	r = ok(t, dir, "persona", "new", "--scope", "cache3.example", "--keys", env.keys)
	require.Contains(t, r.stderr, "the revocation cache was rebuilt")
	fixed, err := os.ReadFile(files[0])
	require.NoError(t, err)
	require.Len(t, fixed, len(b))
	require.NotEqual(t, b, fixed)
}
