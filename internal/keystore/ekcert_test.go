package keystore

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"

	"github.com/google/go-tpm/tpm2"
	"github.com/stretchr/testify/require"
)

// ekPublicKey returns the simulator's EK public key, from the public area
// AttestationKeys gives.
func ekPublicKey(t *testing.T, k *TPM) *ecdsa.PublicKey {
	t.Helper()
	keys, err := k.AttestationKeys()
	require.NoError(t, err)
	pub, err := tpm2.Unmarshal[tpm2.TPMTPublic](keys.EK)
	require.NoError(t, err)
	parms, err := pub.Parameters.ECCDetail()
	require.NoError(t, err)
	pt, err := pub.Unique.ECC()
	require.NoError(t, err)
	ek, err := tpm2.ECDSAPub(parms, pt)
	require.NoError(t, err)
	return ek
}

// issueEKCert makes a test manufacturer CA and issues it a certificate
// for ek, shaped as the TCG profile's (no subject, key encipherment).
func issueEKCert(t *testing.T, ek *ecdsa.PublicKey) []byte {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Test TPM Manufacturer Root"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	require.NoError(t, err)
	ca, err := x509.ParseCertificate(caDER)
	require.NoError(t, err)
	der, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
		SerialNumber: big.NewInt(2), NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		KeyUsage: x509.KeyUsageKeyAgreement, BasicConstraintsValid: true,
	}, ca, ek, caKey)
	require.NoError(t, err)
	return der
}

// provisionNV provisions index as a manufacturer provisions an EK
// certificate: defined with owner authorization and the profile's read
// attributes, data written in chunks.
func provisionNV(t *testing.T, k *TPM, index tpm2.TPMHandle, data []byte) {
	t.Helper()
	k.mu.Lock()
	defer k.mu.Unlock()
	require.NoError(t, k.writeNV(index, data))
}

func undefineNV(t *testing.T, k *TPM, index tpm2.TPMHandle) {
	t.Helper()
	k.mu.Lock()
	defer k.mu.Unlock()
	_, err := tpm2.NVUndefineSpace{AuthHandle: tpm2.TPMRHOwner, NVIndex: tpm2.NamedHandle{Handle: index}}.Execute(k.tpm)
	require.NoError(t, err)
}

// The simulator has no EK certificate; once one is provisioned at the
// ECC index, EKCertificate returns its DER exactly, in one or in several
// reads, without the padding some TPMs leave after it.
func TestEKCertificate(t *testing.T) {
	k := openSim(t, testSeed)

	_, err := k.EKCertificate()
	require.ErrorIs(t, err, ErrNoEKCertificate)

	ek := ekPublicKey(t, k)
	der := issueEKCert(t, ek)
	require.NoError(t, k.SetSimulatorEKCertificate(der))
	got, err := k.EKCertificate()
	require.NoError(t, err)
	require.Equal(t, der, got)
	cert, err := x509.ParseCertificate(got)
	require.NoError(t, err)
	require.True(t, ek.Equal(cert.PublicKey))

	t.Run("in small chunks", func(t *testing.T) {
		k.mu.Lock()
		b, err := k.readNV(EKCertIndexECC, 100, maxEKCertSize)
		k.mu.Unlock()
		require.NoError(t, err)
		require.Equal(t, der, b)
		k.mu.Lock()
		_, err = k.readNV(EKCertIndexECC, 100, len(der)-1)
		k.mu.Unlock()
		require.Error(t, err, "larger than the bound")
	})

	t.Run("padded index", func(t *testing.T) {
		undefineNV(t, k, EKCertIndexECC)
		provisionNV(t, k, EKCertIndexECC, append(append([]byte{}, der...), bytes.Repeat([]byte{0xff}, 1200)...))
		got, err := k.EKCertificate()
		require.NoError(t, err)
		require.Equal(t, der, got)
	})

	t.Run("defined but never written", func(t *testing.T) {
		undefineNV(t, k, EKCertIndexECC)
		provisionNV(t, k, EKCertIndexECC, make([]byte, 0))
		_, err := k.EKCertificate()
		require.ErrorIs(t, err, ErrNoEKCertificate)
	})

	t.Run("not a certificate", func(t *testing.T) {
		undefineNV(t, k, EKCertIndexECC)
		provisionNV(t, k, EKCertIndexECC, []byte("not DER at all"))
		_, err := k.EKCertificate()
		require.Error(t, err)
		require.NotErrorIs(t, err, ErrNoEKCertificate)
	})

	t.Run("replaced", func(t *testing.T) {
		require.NoError(t, k.SetSimulatorEKCertificate(der))
		got, err := k.EKCertificate()
		require.NoError(t, err)
		require.Equal(t, der, got)
		require.ErrorIs(t, k.SetSimulatorEKCertificate(nil), ErrInvalidInput)
		require.ErrorIs(t, k.SetSimulatorEKCertificate(make([]byte, 2049)), ErrInvalidInput)
	})

	require.NoError(t, k.Close())
	_, err = k.EKCertificate()
	require.ErrorIs(t, err, ErrClosed)
	require.ErrorIs(t, k.SetSimulatorEKCertificate(der), ErrClosed)
	require.ErrorIs(t, (&TPM{kind: KindTPM}).SetSimulatorEKCertificate(der), ErrNotSimulator)
}

// FuzzTrimDER: whatever an NV index holds, trimDER returns a prefix of it
// or an error, never panics.
func FuzzTrimDER(f *testing.F) {
	f.Add([]byte{0x30, 0x03, 0x02, 0x01, 0x05, 0xff, 0xff})
	f.Add([]byte{0x30, 0x82, 0xff, 0xff})
	f.Add([]byte{0x31, 0x00})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		der, err := trimDER(b)
		if err == nil && (len(der) == 0 || !bytes.HasPrefix(b, der)) {
			t.Fatalf("trimDER(%x) = %x, not a prefix", b, der)
		}
	})
}
