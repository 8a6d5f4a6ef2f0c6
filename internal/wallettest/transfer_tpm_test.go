package wallettest

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/internal/cli"
)

// cliProcessEnv, set to a JSON array of arguments, makes the test binary
// run `mustard` with them and exit: the go-tpm-tools simulator is one per
// process, so a second device with its own TPM runs in a process of its
// own.
const cliProcessEnv = "MUSTARD_WALLETTEST_CLI"

func cliProcess(args string) int {
	var a []string
	if err := json.Unmarshal([]byte(args), &a); err != nil {
		return 2
	}
	return cli.Main(context.Background(), a, os.Stdout, os.Stderr)
}

// runDevice runs `mustard wallet --wallet dir args...` in a child process
// of the test binary.
func runDevice(t *testing.T, dir string, args ...string) result {
	t.Helper()
	a, err := json.Marshal(append([]string{"wallet", "--wallet", dir}, args...))
	require.NoError(t, err)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), cliProcessEnv+"="+string(a))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return result{code, stdout.String(), stderr.String()}
}

// devTPMCA writes a development TPM manufacturer CA: its certificate
// (the sender's --tpm-ek-roots) and the certificate with its key (the
// simulated receiver's --tpm-sim-ek-ca).
func devTPMCA(t *testing.T) (roots, ca string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	now := time.Now()
	der, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Test TPM Manufacturer Root"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}, &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Test TPM Manufacturer Root"}}, &key.PublicKey, key)
	require.NoError(t, err)
	p8, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	dir := t.TempDir()
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	roots, ca = filepath.Join(dir, "roots.pem"), filepath.Join(dir, "ca.pem")
	require.NoError(t, os.WriteFile(roots, certPEM, 0o600))
	require.NoError(t, os.WriteFile(ca, append(certPEM, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8})...), 0o600))
	return roots, ca
}

// TestWalletTransferTPMToTPM moves a wallet between two simulated TPMs,
// each in its own process: the receiver proves its storage key genuine
// (EK certificate from a development manufacturer CA, credential
// activation, TPM2_Certify), and the sender's TPM duplicates the sealed
// secret to it. An unattested receiver and a wrong code are refused.
func TestWalletTransferTPMToTPM(t *testing.T) {
	t.Setenv("MUSTARD_PIN", "a long wallet passphrase")
	roots, ca := devTPMCA(t)
	old := filepath.Join(t.TempDir(), "old")
	ok(t, old, "init", "--tpm-sim")
	ok(t, old, "enroll", "--credential", sourceFile(t, map[string]any{"birthdate": "1971-08-08"}), "--server", env.base)

	// No roots and no --allow-unattested-receiver: a usage error.
	fails(t, old, "--tpm-ek-roots", "transfer", "send")

	// A receiver whose TPM has no EK certificate from those roots.
	newDir := filepath.Join(t.TempDir(), "new")
	recv, done := startSend(t, old, "--tpm-ek-roots", roots)
	r := runDevice(t, newDir, append(recv, "--tpm-sim")...)
	require.NotEqual(t, 0, r.code)
	require.Contains(t, r.stderr, "not attested")
	sent := <-done
	require.NotEqual(t, 0, sent.code)
	require.Contains(t, sent.stderr, "not attested")
	_, err := os.Stat(filepath.Join(newDir, "wallet.json"))
	require.True(t, os.IsNotExist(err))

	// A receiver with no TPM at all.
	recv, done = startSend(t, old, "--tpm-ek-roots", roots)
	r = runDevice(t, newDir, append(recv, "--software")...)
	require.NotEqual(t, 0, r.code)
	require.Contains(t, r.stderr, "not attested")
	require.NotEqual(t, 0, (<-done).code)

	// A wrong code, with an attested receiver.
	recv, done = startSend(t, old, "--tpm-ek-roots", roots)
	recv[len(recv)-1] = "00000-00000"
	r = runDevice(t, newDir, append(recv, "--tpm-sim", "--tpm-sim-ek-ca", ca)...)
	require.NotEqual(t, 0, r.code)
	require.Contains(t, r.stderr, "code does not match")
	require.NotEqual(t, 0, (<-done).code)
	ok(t, old, "status")

	// The real thing. The old device keeps its copy (--keep) to show
	// that, once the credential is rebound, that copy proves nothing.
	recv, done = startSend(t, old, "--tpm-ek-roots", roots, "--keep")
	r = runDevice(t, newDir, append(recv, "--tpm-sim", "--tpm-sim-ek-ca", ca, "--json")...)
	require.Equal(t, 0, r.code, r.stderr)
	require.Equal(t, []string{"duplicated", "keystore", "rebound", "sas", "tpm", "wallet"}, keys(t, r.stdout))
	require.Contains(t, r.stdout, `"duplicated": true`)
	require.Contains(t, r.stdout, `"rebound": true`)
	require.Contains(t, r.stdout, `"keystore": "tpm-simulator"`)
	sent = <-done
	require.Equal(t, 0, sent.code, sent.stderr)
	require.Contains(t, sent.stdout, "this TPM duplicated the secret for the new device's TPM")

	r = ok(t, newDir, "credentials", "--json")
	require.Contains(t, r.stdout, `"kind": "core"`)
	r = ok(t, newDir, "audit")
	require.Contains(t, r.stdout, "received")
	require.Contains(t, r.stdout, "rebound")
	fails(t, newDir, "no device rebinding is pending", "rebind")

	// The new device derives personas; the old device's copy, bound to
	// the revoked credential, cannot.
	ok(t, newDir, "persona", "new", "--scope", "shop.example", "--keys", env.keys)
	fails(t, old, "has been revoked", "persona", "new", "--scope", "shop.example", "--keys", env.keys)
}
