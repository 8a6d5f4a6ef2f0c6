package persona_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"math/big"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-tpm/tpm2"
	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/coreid"
	"github.com/mustard-id/mustard/internal/keystore"
	"github.com/mustard-id/mustard/internal/store/sqlite"
	"github.com/mustard-id/mustard/internal/trust"
	"github.com/mustard-id/mustard/persona"
	"github.com/mustard-id/mustard/zk"
)

// A wallet on a TPM sends its EK certificate with its attestation keys:
// a provider that requires one (manufacturer roots configured) refuses
// the TPM until it has one, then attests it.
func TestAttestSendsEKCertificate(t *testing.T) {
	tpm, err := keystore.OpenSimulator(44)
	require.NoError(t, err)
	defer tpm.Close()

	// The test manufacturer: a root CA, which certifies the simulator's EK.
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Test TPM Maker EK Root CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	require.NoError(t, err)
	ca, err := x509.ParseCertificate(caDER)
	require.NoError(t, err)
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	keys, err := tpm.AttestationKeys()
	require.NoError(t, err)
	ekPub, err := tpm2.Unmarshal[tpm2.TPMTPublic](keys.EK)
	require.NoError(t, err)
	parms, err := ekPub.Parameters.ECCDetail()
	require.NoError(t, err)
	pt, err := ekPub.Unique.ECC()
	require.NoError(t, err)
	ek, err := tpm2.ECDSAPub(parms, pt)
	require.NoError(t, err)
	ekDER, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
		SerialNumber: big.NewInt(2), NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0),
		KeyUsage: x509.KeyUsageKeyAgreement, BasicConstraintsValid: true,
	}, ca, ek, caKey)
	require.NoError(t, err)

	// The provider, with those roots.
	pk, err := zk.GenerateKey(rand.Reader)
	require.NoError(t, err)
	fw := &trust.Document{ID: "test-framework", Providers: []trust.Provider{{ID: "https://core.example", Key: hex.EncodeToString(pk.Public().Bytes()), MaxGrade: "high", ValidUntil: now.AddDate(1, 0, 0).Unix()}}}
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "m.db"))
	require.NoError(t, err)
	defer st.Close()
	tagKey := make([]byte, 32)
	_, _ = rand.Read(tagKey)
	p, err := coreid.New(context.Background(), coreid.Config{Framework: fw, Key: pk, TagKey: tagKey, EKRoots: roots}, st)
	require.NoError(t, err)
	srv := httptest.NewServer(p.Handler())
	defer srv.Close()

	w := &persona.Wallet{Sealer: tpm}
	c := &persona.Client{BaseURL: srv.URL, HTTP: srv.Client()}
	ctx := context.Background()
	_, err = w.Attest(ctx, c)
	var pe *persona.ProblemError
	require.True(t, errors.As(err, &pe), "%v", err)
	require.Equal(t, "urn:mustard:problem:untrusted-tpm", pe.Type)

	require.NoError(t, tpm.SetSimulatorEKCertificate(ekDER))
	ticket, err := w.Attest(ctx, c)
	require.NoError(t, err)
	require.NotEmpty(t, ticket)
}
