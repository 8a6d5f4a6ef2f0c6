package wallettest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/coreid"
	"github.com/mustard-id/mustard/internal/server"
)

// TestWalletDeviceBound: against a server that offers device-bound
// personas, a TPM wallet derives one (showing its progress while it
// proves) and the issuer issues it; a software wallet cannot.
func TestWalletDeviceBound(t *testing.T) {
	if testing.Short() {
		t.Skip("a Groth16 setup of the device-bound circuit")
	}
	hs := httptest.NewUnstartedServer(nil)
	base := "http://" + hs.Listener.Addr().String()
	srv, err := server.Open(context.Background(), server.Options{DataDir: t.TempDir(), Passphrase: "device-bound", PublicURL: base, DeviceBound: true})
	require.NoError(t, err)
	defer srv.Close()
	hs.Config.Handler = srv.Handler()
	hs.Start()
	defer hs.Close()
	source := func() string {
		now := time.Now()
		claims := map[string]any{"birthdate": "1980-01-01", "personal_number": fmt.Sprintf("pn-%d", rand.Int64())}
		src, err := coreid.SignJWTVC(srv.SampleSource, server.SampleSourceID, "did:example:holder", []string{"PersonIdentificationData"}, claims, now, now.Add(time.Hour))
		require.NoError(t, err)
		p := filepath.Join(t.TempDir(), "source.jwt")
		require.NoError(t, os.WriteFile(p, []byte(src+"\n"), 0o600))
		return p
	}

	t.Setenv("MUSTARD_PIN", "2468")
	dir := filepath.Join(t.TempDir(), "wallet")
	ok(t, dir, "init", "--tpm-sim")
	ok(t, dir, "enroll", "--credential", source(), "--server", base)
	r := ok(t, dir, "persona", "new", "--scope", "bank.example", "--predicate", "age>=18", "--device-bound", "--json")
	require.Contains(t, r.stdout, `"scope": "bank.example"`)
	require.Contains(t, r.stderr, "signing the verifier's nonce with the TPM device key")
	require.Contains(t, r.stderr, "proof made in ")

	soft := filepath.Join(t.TempDir(), "soft")
	ok(t, soft, "init", "--software")
	ok(t, soft, "enroll", "--credential", source(), "--server", base)
	fails(t, soft, "needs the enrolled device's TPM", "persona", "new", "--scope", "bank.example", "--device-bound")
}
