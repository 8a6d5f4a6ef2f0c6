package integration

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/internal/cli"
)

// selfSigned writes a certificate for 127.0.0.1 and its key, and returns
// a client that trusts it.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, client *http.Client) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mustard test"},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	kder, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600))
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

// TestServeOperations: configuration from file, environment and flags in
// that order of precedence; TLS from certificate files; readiness;
// Prometheus metrics by route; request ids; JSON logs that name routes,
// never paths.
func TestServeOperations(t *testing.T) {
	t.Setenv("MUSTARD_PASSPHRASE", "integration-test")
	dir := t.TempDir()
	certFile, keyFile, hc := selfSigned(t, dir)
	config := filepath.Join(dir, "mustard.yaml")
	require.NoError(t, os.WriteFile(config, []byte("data: "+env.dir+"\naddr: 256.0.0.1:1\nlog_format: text\ntls_cert: "+certFile+"\ntls_key: "+keyFile+"\n"), 0o600))
	t.Setenv("MUSTARD_ADDR", "127.0.0.1:0") // the environment overrides the file's bad address
	t.Setenv("MUSTARD_LOG_FORMAT", "bogus") // and the flag overrides the environment
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- cli.Main(ctx, []string{"serve", "--config", config, "--log-format", "json", "--log-level", "debug"}, &stdout, &stderr)
	}()
	re := regexp.MustCompile(`serving on (https://127\.0\.0\.1:\d+)`)
	var base string
	require.Eventually(t, func() bool {
		if m := re.FindStringSubmatch(stdout.String()); m != nil {
			base = m[1]
			return true
		}
		return false
	}, time.Minute, 50*time.Millisecond, "serve did not start: %s %s", stdout.String(), stderr.String())

	get := func(path string, h map[string]string) (*http.Response, string) {
		req, _ := http.NewRequest("GET", base+path, nil)
		for k, v := range h {
			req.Header.Set(k, v)
		}
		resp, err := hc.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	resp, body := get("/readyz", map[string]string{"X-Request-ID": "req-12345"})
	require.Equal(t, 200, resp.StatusCode, body)
	require.Equal(t, "req-12345", resp.Header.Get("X-Request-ID"))
	resp, _ = get("/healthz", map[string]string{"X-Request-ID": "bad id {with} spaces"})
	require.NotContains(t, resp.Header.Get("X-Request-ID"), " ", "a malformed request id is replaced")
	get("/oauth2/login/SECRET-LOGIN-ID", nil)
	_, metrics := get("/metrics", nil)
	require.Contains(t, metrics, `mustard_http_requests_total{code="200",route="GET /readyz"}`)
	require.Contains(t, metrics, `route="GET /oauth2/login/{id}"`)
	require.Contains(t, metrics, `mustard_store_rows{table="identities"}`)
	require.Contains(t, metrics, "mustard_log_entries")

	cancel()
	select {
	case code := <-done:
		require.Equal(t, 0, code, stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not shut down")
	}
	logs := stderr.String()
	require.Contains(t, logs, `"msg":"request"`, "JSON logs")
	require.Contains(t, logs, `"id":"req-12345"`)
	require.Contains(t, logs, `"route":"GET /oauth2/login/{id}"`)
	require.NotContains(t, logs, "SECRET-LOGIN-ID", "a path reached the logs")
	require.False(t, strings.Contains(logs, "integration-test"), "the passphrase reached the logs")
}

// A bad setting fails in one line naming the fix.
func TestServeBadConfig(t *testing.T) {
	dir := t.TempDir()
	config := filepath.Join(dir, "mustard.yaml")
	require.NoError(t, os.WriteFile(config, []byte("adress: 127.0.0.1:0\n"), 0o600))
	for _, args := range [][]string{
		{"serve", "--config", config},
		{"serve", "--config", filepath.Join(dir, "missing.yaml")},
		{"serve", "--tls-cert", "x.pem"},
		{"serve", "--log-format", "xml"},
		{"serve", "--device-bound", "maybe"},
	} {
		var stdout, stderr syncBuffer
		code := cli.Main(context.Background(), args, &stdout, &stderr)
		require.Equal(t, 1, code, args)
		require.Equal(t, 1, strings.Count(strings.TrimSpace(stderr.String()), "\n")+1, "%v: %q", args, stderr.String())
	}
}
