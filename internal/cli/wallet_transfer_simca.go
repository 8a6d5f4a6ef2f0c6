package cli

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"time"

	"github.com/google/go-tpm/tpm2"

	"github.com/mustard-id/mustard/internal/keystore"
)

// simulatorEKCertificate gives the TPM simulator an EK certificate issued
// by the development CA in file (a PEM CERTIFICATE and its PKCS #8
// PRIVATE KEY), standing in for a TPM manufacturer, so that a transfer
// sender holding that CA as its --tpm-ek-roots attests the simulator.
func simulatorEKCertificate(tpm *keystore.TPM, file string) error {
	if tpm == nil || tpm.Kind() != keystore.KindSimulator {
		return &usageError{"--tpm-sim-ek-ca goes with --tpm-sim"}
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("cannot read --tpm-sim-ek-ca: %w", err)
	}
	var ca *x509.Certificate
	var key crypto.Signer
	for blk, rest := pem.Decode(b); blk != nil; blk, rest = pem.Decode(rest) {
		switch blk.Type {
		case "CERTIFICATE":
			ca, err = x509.ParseCertificate(blk.Bytes)
		case "PRIVATE KEY":
			var k any
			if k, err = x509.ParsePKCS8PrivateKey(blk.Bytes); err == nil {
				key, _ = k.(crypto.Signer)
			}
		}
		if err != nil {
			return fmt.Errorf("--tpm-sim-ek-ca: %w", err)
		}
	}
	if ca == nil || key == nil {
		return &usageError{"--tpm-sim-ek-ca needs a PEM CERTIFICATE and its PRIVATE KEY"}
	}
	keys, err := tpm.AttestationKeys()
	if err != nil {
		return err
	}
	ek, err := tpm2.Unmarshal[tpm2.TPMTPublic](keys.EK)
	if err != nil {
		return err
	}
	parms, err := ek.Parameters.ECCDetail()
	if err != nil {
		return err
	}
	pt, err := ek.Unique.ECC()
	if err != nil {
		return err
	}
	pub, err := tpm2.ECDSAPub(parms, pt)
	if err != nil {
		return err
	}
	now := time.Now()
	der, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
		SerialNumber: big.NewInt(now.UnixNano()), NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0),
		KeyUsage: x509.KeyUsageKeyAgreement, BasicConstraintsValid: true,
	}, ca, pub, key)
	if err != nil {
		return err
	}
	return tpm.SetSimulatorEKCertificate(der)
}
