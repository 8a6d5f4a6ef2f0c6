package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/internal/cli"
	"github.com/mustard-id/mustard/internal/problem"
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServeCommand runs `mustard serve` in-process on the package's data
// directory (keys already there: a restart must reuse them, not set up
// again), talks to it over HTTP and shuts it down gracefully.
func TestServeCommand(t *testing.T) {
	t.Setenv("MUSTARD_PASSPHRASE", "integration-test")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- cli.Main(ctx, []string{"serve", "--data", env.dir, "--addr", "127.0.0.1:0"}, &stdout, &stderr)
	}()

	addr := regexp.MustCompile(`serving on (http://127\.0\.0\.1:\d+)`)
	var base string
	require.Eventually(t, func() bool {
		m := addr.FindStringSubmatch(stdout.String())
		if m != nil {
			base = m[1]
		}
		return m != nil
	}, time.Minute, 50*time.Millisecond, "serve did not start: %s %s", stdout.String(), stderr.String())
	require.Contains(t, stdout.String(), "loaded persona keys")
	require.NotContains(t, stdout.String(), "DEVELOPMENT Groth16 setup")

	resp, err := http.Get(base + "/healthz")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	resp, err = http.Get(base + "/v1/zk/persona")
	require.NoError(t, err)
	var info map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&info))
	resp.Body.Close()
	require.Equal(t, env.srv.Keys.VKID, info["vk"])

	resp, err = http.Get(base + "/no/such/thing")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	require.Equal(t, problem.MediaType, resp.Header.Get("Content-Type"))
	require.True(t, strings.Contains(string(body), problem.TypePrefix+"not-found"))

	cancel()
	select {
	case code := <-done:
		require.Equal(t, 0, code, stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not shut down")
	}
	require.Contains(t, stdout.String(), "shutting down")
}

// TestServeBadAddress: a clear one-line error and a non-zero exit.
func TestServeBadAddress(t *testing.T) {
	t.Setenv("MUSTARD_PASSPHRASE", "integration-test")
	var stdout, stderr bytes.Buffer
	code := cli.Main(context.Background(), []string{"serve", "--data", env.dir, "--addr", "256.0.0.1:99999"}, &stdout, &stderr)
	require.Equal(t, 1, code)
	require.Contains(t, stderr.String(), "cannot listen on 256.0.0.1:99999")
	require.Contains(t, stderr.String(), "--addr")
	require.Equal(t, 1, strings.Count(stderr.String(), "\n"))
}

// TestServeWrongPassphrase: the sealed keys do not open, and the error
// says which setting to fix.
func TestServeWrongPassphrase(t *testing.T) {
	t.Setenv("MUSTARD_PASSPHRASE", "not-the-passphrase")
	var stdout, stderr bytes.Buffer
	code := cli.Main(context.Background(), []string{"serve", "--data", env.dir, "--addr", "127.0.0.1:0"}, &stdout, &stderr)
	require.Equal(t, 1, code)
	require.Contains(t, stderr.String(), "MUSTARD_PASSPHRASE")
	require.Equal(t, 1, strings.Count(stderr.String(), "\n"), stderr.String())
	require.NotContains(t, stderr.String(), "not-the-passphrase")
}
