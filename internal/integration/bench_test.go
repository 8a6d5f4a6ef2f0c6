package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/internal/bench"
	"github.com/mustard-id/mustard/internal/cli"
)

// `mustard bench --quick` runs every phase against a real server and
// writes a JSON report with every figure and a PNG chart.
func TestBenchCommand(t *testing.T) {
	dir, out := t.TempDir(), t.TempDir()
	require.NoError(t, os.CopyFS(filepath.Join(dir, "zk"), os.DirFS(filepath.Join(env.dir, "zk"))))
	t.Setenv("MUSTARD_PASSPHRASE", "bench")
	var stdout, stderr bytes.Buffer
	code := cli.Main(context.Background(), []string{"bench", "--quick", "--data", dir, "--out", out}, &stdout, &stderr)
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())

	b, err := os.ReadFile(filepath.Join(out, "bench.json"))
	require.NoError(t, err)
	var rep bench.Report
	require.NoError(t, json.Unmarshal(b, &rep))
	got := map[string]float64{}
	for _, f := range rep.Figures {
		require.Positive(t, f.N, f.Name)
		got[f.Name] = f.Value
	}
	for _, name := range []string{"enrollments", "persona proof p50", "issuance", "SD-JWT VC verifications", "proof verifications (batched)", "OIDC sign-ins", "OIDC sign-in p95", "store per 100k identities"} {
		require.Positive(t, got[name], name)
	}
	f, err := os.Open(filepath.Join(out, "bench.png"))
	require.NoError(t, err)
	defer f.Close()
	img, err := png.Decode(f)
	require.NoError(t, err)
	require.Greater(t, img.Bounds().Dy(), 100)
}
