package persona

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/mustard-id/mustard/coreid"
	"github.com/mustard-id/mustard/internal/keystore"
)

// attester is a keystore whose TPM can prove its keys are resident: the
// endorsement and attestation keys, credential activation, and the AK's
// certification of the device key.
type attester interface {
	AttestationKeys() (*keystore.AttestationKeys, error)
	Activate(idObject, encSecret []byte) (*keystore.Certification, error)
}

// ekCertifier is a keystore whose TPM holds its endorsement key's
// certificate from the manufacturer.
type ekCertifier interface {
	EKCertificate() ([]byte, error)
}

// Attest proves to the provider that this wallet's device key lives in a
// genuine TPM (TPM2_MakeCredential by the provider, ActivateCredential and
// TPM2_Certify here) and returns the single-use ticket an enrollment
// carries. A wallet without a TPM returns "" and enrolls unattested, at
// the lower grade the provider allows for that. The EK's certificate goes
// along when the TPM has one (a provider with TPM manufacturer roots
// requires it); a TPM without one attests without it.
func (w *Wallet) Attest(ctx context.Context, c *Client) (string, error) {
	a, ok := w.Sealer.(attester)
	if !ok {
		return "", nil
	}
	keys, err := a.AttestationKeys()
	if err != nil {
		return "", err
	}
	body := coreid.AttestationKeysBody{EK: keys.EK, AK: keys.AK, Device: keys.Device}
	if ec, ok := w.Sealer.(ekCertifier); ok {
		cert, err := ec.EKCertificate()
		switch {
		case err == nil:
			body.EKCertificate = cert
		case !errors.Is(err, keystore.ErrNoEKCertificate):
			return "", fmt.Errorf("persona: attest: %w", err)
		}
	}
	var ch coreid.AttestationChallengeJSON
	if err := c.do(ctx, http.MethodPost, "/v1/enroll/attestation/challenge", body, &ch); err != nil {
		return "", err
	}
	cert, err := a.Activate(ch.IDObject, ch.EncSecret)
	if err != nil {
		return "", err
	}
	var out coreid.AttestationJSON
	if err := c.do(ctx, http.MethodPost, "/v1/enroll/attestation", coreid.CertificationBody{ID: ch.ID, Credential: cert.Credential, CertifyInfo: cert.CertifyInfo, Signature: cert.Signature}, &out); err != nil {
		return "", err
	}
	return out.Ticket, nil
}
