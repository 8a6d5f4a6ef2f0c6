package cli_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/internal/cli"
)

// A --threshold outside 0 and 2..16 is refused before anything opens.
func TestServeThresholdFlag(t *testing.T) {
	for _, v := range []string{"1", "-2", "17", "two", "2.5"} {
		var out, errOut bytes.Buffer
		code := cli.Main(context.Background(), []string{"serve", "--data", t.TempDir(), "--addr", "127.0.0.1:0", "--threshold", v}, &out, &errOut)
		require.NotEqual(t, 0, code, v)
		require.Contains(t, errOut.String(), "--threshold is 0 (off) or a number of providers from 2 to 16", v)
	}
	t.Setenv("MUSTARD_THRESHOLD", "1")
	var out, errOut bytes.Buffer
	code := cli.Main(context.Background(), []string{"serve", "--data", t.TempDir(), "--addr", "127.0.0.1:0"}, &out, &errOut)
	require.NotEqual(t, 0, code)
	require.Contains(t, errOut.String(), "--threshold", "the environment variable is read")
}
