package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/coreid"
	"github.com/mustard-id/mustard/internal/server"
	"github.com/mustard-id/mustard/internal/store/sqlite"
	"github.com/mustard-id/mustard/internal/tlog"
	wallet "github.com/mustard-id/mustard/persona"
	"github.com/mustard-id/mustard/zk"
)

// startServe runs `mustard serve` as its own process on data and returns
// its base URL.
func startServe(t *testing.T, bin, data string) (*exec.Cmd, string) {
	cmd := exec.Command(bin, "serve", "--data", data, "--addr", "127.0.0.1:0", "--log-level", "warn")
	cmd.Env = append(os.Environ(), "MUSTARD_PASSPHRASE=crash-test")
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = io.Discard
	require.NoError(t, cmd.Start())
	re := regexp.MustCompile(`serving on (http://127\.0\.0\.1:\d+)`)
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
	}()
	select {
	case base := <-found:
		return cmd, base
	case <-time.After(2 * time.Minute):
		_ = cmd.Process.Kill()
		t.Fatal("serve did not start")
		return nil, ""
	}
}

// Crash safety: SIGKILL `mustard serve` in the middle of a stream of
// enrollments; after a restart every acknowledged enrollment is there
// (its person cannot enroll again), nothing half-written is visible (the
// log and the identities agree), and the log's checkpoint from before the
// crash is consistent with the one after.
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := filepath.Join(t.TempDir(), "mustard")
	build := exec.Command("go", "build", "-o", bin, "github.com/mustard-id/mustard/cmd/mustard")
	out, err := build.CombinedOutput()
	require.NoError(t, err, string(out))
	data := t.TempDir()
	require.NoError(t, os.CopyFS(filepath.Join(data, "zk"), os.DirFS(filepath.Join(env.dir, "zk"))))

	cmd, base := startServe(t, bin, data)
	ctx := context.Background()
	c := &wallet.Client{BaseURL: base, HTTP: &http.Client{Timeout: 10 * time.Second}}

	// The signed checkpoint before the stream, and the log key.
	get := func(base, path string) []byte {
		resp, err := http.Get(base + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		require.Equal(t, 200, resp.StatusCode, string(b))
		return b
	}
	vkey := string(get(base, "/v1/log/key"))
	vkey = vkey[:len(vkey)-1]
	before, err := tlog.ParseCheckpoint(get(base, "/v1/log/checkpoint"), vkey)
	require.NoError(t, err)

	// The sample government issuer's key, to make source credentials.
	srvKeys, err := server.Open(ctx, server.Options{DataDir: data, Passphrase: "crash-test"})
	require.NoError(t, err)
	sample := srvKeys.SampleSource
	srvKeys.Close()

	// A stream of enrollments from 4 clients; SIGKILL after 150 acks.
	var acked sync.Map // subject -> true
	var n atomic.Int64
	killed := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-killed:
					return
				default:
				}
				sub := fmt.Sprintf("crash-%d-%d", w, i)
				now := time.Now()
				src, _ := coreid.SignJWTVC(sample, server.SampleSourceID, "did:example:crash", []string{"PersonIdentificationData"}, map[string]any{"personal_number": sub, "birthdate": "1990-01-01"}, now, now.Add(time.Hour))
				s, _ := zk.RandomElement()
				if _, err := c.Enroll(ctx, coreid.EnrollBody{Source: src, Commitment: zk.Hex(zk.Commit(s)), DeviceKeyHash: zk.Hex(zk.Int64(0))}); err == nil {
					acked.Store(sub, src)
					if n.Add(1) == 150 {
						require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
						close(killed)
					}
				}
			}
		}()
	}
	wg.Wait()
	_ = cmd.Wait()

	cmd, base = startServe(t, bin, data)
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	c.BaseURL = base

	// Every acknowledged enrollment survived: the same person is refused.
	count := 0
	acked.Range(func(k, v any) bool {
		count++
		s, _ := zk.RandomElement()
		_, err := c.Enroll(ctx, coreid.EnrollBody{Source: v.(string), Commitment: zk.Hex(zk.Commit(s)), DeviceKeyHash: zk.Hex(zk.Int64(0))})
		var pe *wallet.ProblemError
		require.ErrorAs(t, err, &pe, "acknowledged enrollment %s was lost", k)
		require.Equal(t, coreid.ErrDuplicate.Type(), pe.Type)
		return true
	})
	require.GreaterOrEqual(t, count, 150)

	// The log is consistent with the checkpoint from before the crash, and
	// holds exactly one entry per identity (nothing half-written).
	after, err := tlog.ParseCheckpoint(get(base, "/v1/log/checkpoint"), vkey)
	require.NoError(t, err)
	var proof struct{ Hashes [][]byte }
	require.NoError(t, json.Unmarshal(get(base, fmt.Sprintf("/v1/log/proof/consistency?from=%d&to=%d", before.Size, after.Size)), &proof))
	require.NoError(t, tlog.VerifyConsistency(before, after, proof.Hashes))
	st := &tlog.AuditState{VerifierKey: vkey}
	_, err = tlog.Audit(ctx, http.DefaultClient, base, st)
	require.NoError(t, err)
	db, err := sqlite.Open(filepath.Join(data, "mustard.db"))
	require.NoError(t, err)
	defer db.Close()
	var identities, issued int
	require.NoError(t, db.DB().QueryRow(`SELECT COUNT(*) FROM identities`).Scan(&identities))
	require.NoError(t, db.DB().QueryRow(`SELECT COUNT(*) FROM tlog_leaves WHERE CAST(data AS TEXT) LIKE '%core-credential.issued%'`).Scan(&issued))
	require.Equal(t, identities, issued, "an identity without its log entry, or the reverse")
	require.GreaterOrEqual(t, identities, count)
}
