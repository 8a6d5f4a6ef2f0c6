package integration

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/coreid"
	"github.com/mustard-id/mustard/internal/cli"
	"github.com/mustard-id/mustard/internal/keystore"
	wallet "github.com/mustard-id/mustard/persona"
	"github.com/mustard-id/mustard/zk"
)

// The newcomer's path by hand: `mustard dev credential` gives a source
// credential that enrolls; `mustard dev portal` registers and serves a
// portal whose sign-in lands on the OP's persona page.
func TestDevCommands(t *testing.T) {
	t.Setenv("MUSTARD_PASSPHRASE", "integration-test")
	out := filepath.Join(t.TempDir(), "id.jwt")
	var stdout, stderr bytes.Buffer
	code := cli.Main(context.Background(), []string{"dev", "credential", "--data", env.dir, "--out", out, "--birthdate", "2000-02-29"}, &stdout, &stderr)
	require.Equal(t, 0, code, stderr.String())
	jwt, err := os.ReadFile(out)
	require.NoError(t, err)
	pin := []byte("1111")
	w, err := wallet.Create(keystore.NewSoftware(), pin)
	require.NoError(t, err)
	comm, _ := w.Commitment(pin)
	_, err = client().Enroll(context.Background(), coreid.EnrollBody{Source: strings.TrimSpace(string(jwt)), Commitment: zk.Hex(comm), DeviceKeyHash: zk.Hex(w.DeviceKeyHash())})
	require.NoError(t, err)

	code = cli.Main(context.Background(), []string{"dev", "credential", "--data", env.dir, "--out", out, "--birthdate", "29.02.2000"}, &stdout, &stderr)
	require.Equal(t, 1, code)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var pout, perr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- cli.Main(ctx, []string{"dev", "portal", "--server", env.base, "--data", env.dir, "--addr", "127.0.0.1:0", "--sector", "dev.example"}, &pout, &perr)
	}()
	re := regexp.MustCompile(`at (http://127\.0\.0\.1:\d+)`)
	var base string
	require.Eventually(t, func() bool {
		if m := re.FindStringSubmatch(pout.String()); m != nil {
			base = m[1]
			return true
		}
		return false
	}, 30*time.Second, 50*time.Millisecond, perr.String())
	jar, _ := cookiejar.New(nil)
	resp, err := (&http.Client{Jar: jar}).Get(base + "/login")
	require.NoError(t, err)
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Contains(t, string(page), "Sign in to Sample portal with a persona")
	cancel()
	require.Equal(t, 0, <-done, perr.String())
}
