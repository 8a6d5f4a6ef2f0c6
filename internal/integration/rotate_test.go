package integration

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/internal/server"
)

// Rotating the ID token key: after a restart the new key signs and the
// old one is still published, after it; the registration token and the
// rest of the keys are unchanged.
func TestOIDCKeyRotation(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	// Reuse the suite's circuit keys rather than set up new ones.
	require.NoError(t, os.CopyFS(filepath.Join(dir, "zk"), os.DirFS(filepath.Join(env.dir, "zk"))))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	opts := server.Options{DataDir: dir, Passphrase: "rotation", PublicURL: "http://" + addr}

	serve := func(ln net.Listener) (*server.Server, func()) {
		srv, err := server.Open(ctx, opts)
		require.NoError(t, err)
		hs := &http.Server{Handler: srv.Handler()}
		go hs.Serve(ln)
		return srv, func() { hs.Close(); srv.Close() }
	}
	kids := func() []string {
		resp, err := http.Get("http://" + addr + "/oauth2/jwks")
		require.NoError(t, err)
		defer resp.Body.Close()
		var set struct {
			Keys []struct {
				Kid string `json:"kid"`
				D   string `json:"d"`
			} `json:"keys"`
		}
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&set))
		var out []string
		for _, k := range set.Keys {
			require.Empty(t, k.D, "a private key is published")
			out = append(out, k.Kid)
		}
		return out
	}

	srv, stop := serve(ln)
	before, token := kids(), srv.RegistrationToken
	require.Len(t, before, 1)
	stop()

	kid, err := server.RotateOIDCKey(ctx, opts)
	require.NoError(t, err)
	ln, err = net.Listen("tcp", addr)
	require.NoError(t, err)
	srv, stop = serve(ln)
	defer stop()
	require.Equal(t, []string{kid, before[0]}, kids())
	require.Equal(t, token, srv.RegistrationToken)

	_, err = server.RotateOIDCKey(ctx, server.Options{DataDir: dir, Passphrase: "wrong"})
	require.ErrorContains(t, err, "MUSTARD_PASSPHRASE")
}
