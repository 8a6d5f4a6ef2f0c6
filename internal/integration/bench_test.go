package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/coreid"
	"github.com/mustard-id/mustard/internal/bench"
	"github.com/mustard-id/mustard/internal/cli"
	"github.com/mustard-id/mustard/internal/server"
	"github.com/mustard-id/mustard/internal/tlog"
	wallet "github.com/mustard-id/mustard/persona"
	"github.com/mustard-id/mustard/zk"
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

// `mustard bench --population` measures at two populations loaded in bulk
// and reports each figure's degradation; the bulk rows are what real
// enrollments and revocations write: a populated person cannot enroll
// again, the server's revocation tree holds every entry and the
// transparency log audits from outside. (The million-entry run is
// `mustard bench --population 1000000`, by hand: docs/performance.md.)
func TestBenchPopulation(t *testing.T) {
	dir, out := t.TempDir(), t.TempDir()
	require.NoError(t, os.CopyFS(filepath.Join(dir, "zk"), os.DirFS(filepath.Join(env.dir, "zk"))))
	t.Setenv("MUSTARD_PASSPHRASE", "bench")
	var stdout, stderr bytes.Buffer
	code := cli.Main(context.Background(), []string{"bench", "--quick", "--data", dir, "--out", out, "--base", "300", "--population", "900", "--rounds", "1"}, &stdout, &stderr)
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	require.Contains(t, stdout.String(), "degradation")

	b, err := os.ReadFile(filepath.Join(out, "bench.json"))
	require.NoError(t, err)
	var rep bench.Report
	require.NoError(t, json.Unmarshal(b, &rep))
	require.Len(t, rep.Levels, 4) // round 1 at each, then the best of each
	require.Equal(t, 300, rep.Levels[0].Identities)
	require.Equal(t, 900, rep.Levels[1].Revocations)
	require.Equal(t, 1, rep.Levels[1].Round)
	require.Zero(t, rep.Levels[3].Round)
	scaled := map[string]bench.Compare{}
	for _, c := range rep.Scale {
		require.Positive(t, c.Degradation, c.Name)
		scaled[c.Name] = c
	}
	for _, name := range []string{"enrollments", "persona proof p50", "persona proof p95", "issuance", "SD-JWT VC verifications", "proof verifications", "proof verifications (batched)", "OIDC sign-ins", "server start", "revocation tree ready", "server heap"} {
		require.Contains(t, scaled, name)
	}
	got := map[string]float64{}
	for _, f := range rep.Figures {
		got[f.Name] = f.Value
	}
	require.Positive(t, got["store per 100k identities + 100k revocations"])

	// The populated data directory, served again.
	ctx := context.Background()
	srv, err := server.Open(ctx, server.Options{DataDir: filepath.Join(dir, "population"), PublicURL: "http://127.0.0.1"})
	require.NoError(t, err)
	defer srv.Close()
	require.NoError(t, srv.Provider.Ready())
	entries, err := srv.Store.Revocations(ctx)
	require.NoError(t, err)
	require.Len(t, entries, 900)
	snap := srv.Provider.Revocations()
	require.Len(t, snap.Entries, 900)
	var x fr.Element
	require.NoError(t, x.SetBytesCanonical(entries[899]))
	require.Contains(t, snap.Entries, x)

	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	cl := &wallet.Client{BaseURL: hs.URL}
	now := time.Now()
	src, err := coreid.SignJWTVC(srv.SampleSource, server.SampleSourceID, "did:example:holder", []string{"PersonIdentificationData"},
		map[string]any{"personal_number": "BENCH-POP-617", "birthdate": "1990-01-01", "nationality": "NL"}, now, now.Add(time.Hour))
	require.NoError(t, err)
	_, err = cl.Enroll(ctx, coreid.EnrollBody{Source: src, Commitment: zk.Hex(zk.Commit(fr.NewElement(7))), DeviceKeyHash: zk.Hex(fr.NewElement(0))})
	var pe *wallet.ProblemError
	require.ErrorAs(t, err, &pe)
	require.Contains(t, pe.Type, "duplicate")

	cp, err := tlog.Audit(ctx, hs.Client(), hs.URL, &tlog.AuditState{VerifierKey: srv.LogKey})
	require.NoError(t, err)
	require.GreaterOrEqual(t, cp.Size, uint64(1800))
}
