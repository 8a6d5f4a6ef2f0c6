package server

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
)

// maxEKRootsFile bounds the TPM manufacturer roots file (a few dozen
// certificates are some hundred kilobytes).
const maxEKRootsFile = 4 << 20

// loadEKRoots reads the PEM file of trusted TPM manufacturer root CAs
// named by Options.EKRoots; "" means none (nil).
func loadEKRoots(path string) (*x509.CertPool, int, error) {
	if path == "" {
		return nil, 0, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, fmt.Errorf("TPM EK roots: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxEKRootsFile+1))
	if err != nil {
		return nil, 0, fmt.Errorf("TPM EK roots: %w", err)
	}
	if len(b) > maxEKRootsFile {
		return nil, 0, fmt.Errorf("TPM EK roots: %s is larger than %d bytes", path, maxEKRootsFile)
	}
	pool, n, err := parseEKRoots(b)
	if err != nil {
		return nil, 0, fmt.Errorf("TPM EK roots: %s: %w", path, err)
	}
	return pool, n, nil
}

// parseEKRoots parses every CERTIFICATE block of a PEM file; a block that
// does not parse, or a file without any, is an error rather than a root
// silently left out.
func parseEKRoots(b []byte) (*x509.CertPool, int, error) {
	pool := x509.NewCertPool()
	n := 0
	for {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, 0, fmt.Errorf("certificate %d: %w", n+1, err)
		}
		pool.AddCert(c)
		n++
	}
	if n == 0 {
		return nil, 0, errors.New("no PEM CERTIFICATE block")
	}
	return pool, n, nil
}
