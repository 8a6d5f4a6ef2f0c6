package integration

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/internal/cli"
)

// `mustard log verify` audits the running server's log from outside,
// then again incrementally after more events; a key pinned for another
// log fails the audit in one line.
func TestLogVerifyCommand(t *testing.T) {
	state := filepath.Join(t.TempDir(), "audit.json")
	run := func(args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		code := cli.Main(context.Background(), append([]string{"log", "verify", "--server", env.base, "--state", state}, args...), &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}
	code, out, errOut := run()
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "pinning the log key")
	require.Contains(t, out, "verified")

	before, err := env.srv.Log.Size(context.Background())
	require.NoError(t, err)
	startPortal(t, "audit.example", nil) // registers a client: one entry
	enrolled(t)                          // enrolls a person: one more
	after, err := env.srv.Log.Size(context.Background())
	require.NoError(t, err)
	require.Equal(t, before+2, after, "a client registration and an enrollment are logged")
	code, out, errOut = run()
	require.Equal(t, 0, code, errOut)
	require.NotContains(t, out, "pinning")
	require.Contains(t, out, "new since the last audit")
	require.NotContains(t, out, "(0 new", "the client registration was not logged")

	code, _, errOut = run("--key", "other.example/log+01234567+AQ")
	require.NotEqual(t, 0, code)
	require.Equal(t, 1, strings.Count(strings.TrimSpace(errOut), "\n")+1, errOut)
}
