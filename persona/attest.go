package persona

import (
	"context"
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

// Attest proves to the provider that this wallet's device key lives in a
// genuine TPM (TPM2_MakeCredential by the provider, ActivateCredential and
// TPM2_Certify here) and returns the single-use ticket an enrollment
// carries. A wallet without a TPM returns "" and enrolls unattested, at
// the lower grade the provider allows for that.
func (w *Wallet) Attest(ctx context.Context, c *Client) (string, error) {
	a, ok := w.Sealer.(attester)
	if !ok {
		return "", nil
	}
	keys, err := a.AttestationKeys()
	if err != nil {
		return "", err
	}
	var ch coreid.AttestationChallengeJSON
	if err := c.do(ctx, http.MethodPost, "/v1/enroll/attestation/challenge", coreid.AttestationKeysBody{EK: keys.EK, AK: keys.AK, Device: keys.Device}, &ch); err != nil {
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
