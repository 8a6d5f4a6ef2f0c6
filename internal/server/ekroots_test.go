package server

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/internal/trust"
)

func testRootPEM(t testing.TB, cn string) ([]byte, *x509.Certificate) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	require.NoError(t, err)
	c, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), c
}

// The roots file: every certificate in it is a root; a file without any,
// or with one that does not parse, is refused rather than half-loaded.
func TestLoadEKRoots(t *testing.T) {
	a, ca := testRootPEM(t, "Maker A EK Root")
	b, cb := testRootPEM(t, "Maker B EK Root")
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, data, 0o600))
		return p
	}
	key := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1}})

	pool, n, err := loadEKRoots(write("roots.pem", append(append(append([]byte("# comment\n"), a...), key...), b...)))
	require.NoError(t, err)
	require.Equal(t, 2, n)
	require.True(t, pool.Equal(func() *x509.CertPool { p := x509.NewCertPool(); p.AddCert(ca); p.AddCert(cb); return p }()))

	pool, n, err = loadEKRoots("")
	require.NoError(t, err)
	require.Nil(t, pool)
	require.Zero(t, n)

	for name, data := range map[string][]byte{
		"empty.pem":  nil,
		"keys.pem":   key,
		"broken.pem": append(a, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{0x30, 0x00}})...),
	} {
		_, _, err := loadEKRoots(write(name, data))
		require.Error(t, err, name)
	}
	_, _, err = loadEKRoots(filepath.Join(dir, "missing.pem"))
	require.ErrorIs(t, err, os.ErrNotExist)
}

// A development framework trusts any EK, unless manufacturer roots are
// configured: then the certificate decides, there as anywhere.
func TestTrustEKWithRoots(t *testing.T) {
	dev := &trust.Document{ID: "urn:mustard:framework:development"}
	prod := &trust.Document{ID: "urn:example:framework"}
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	quiet := func(string) {}
	f := trustEK(dev, nil, quiet)
	require.NotNil(t, f)
	require.True(t, f(&k.PublicKey))
	require.Nil(t, trustEK(prod, nil, quiet))
	require.Nil(t, trustEK(dev, x509.NewCertPool(), quiet))
	require.Nil(t, trustEK(prod, x509.NewCertPool(), quiet))
}

// FuzzParseEKRoots: any file gives roots or an error, never a panic.
func FuzzParseEKRoots(f *testing.F) {
	a, _ := testRootPEM(f, "Maker A EK Root")
	f.Add(a)
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		pool, n, err := parseEKRoots(b)
		if err == nil && (pool == nil || n == 0) {
			t.Fatal("no roots and no error")
		}
	})
}
