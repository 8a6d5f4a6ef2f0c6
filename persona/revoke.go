package persona

import (
	"context"
	"encoding/hex"
	"errors"
	"net/http"

	"github.com/mustard-id/mustard/coreid"
	"github.com/mustard-id/mustard/zk"
)

// HolderRevocationPath is the provider endpoint a holder revokes its own
// core credential at.
const HolderRevocationPath = "/v1/revocations/holder"

// deviceSigner is a sealer whose device key signs (a TPM).
type deviceSigner interface {
	SignDevice(digest []byte) ([]byte, error)
}

// HolderRevocation builds the request that revokes this wallet's core
// credential. With a device key (a TPM wallet), the device key signs the
// provider's revocation nonce and the credential's revocation nonce:
// nothing secret leaves the device. Without one (a software wallet), the
// request carries the opening of the commitment, the core secret itself,
// which retires it: the provider could from then on compute this
// identity's past pseudonyms (a gap listed in docs/threat-model.md).
func (w *Wallet) HolderRevocation(ctx context.Context, c *Client, pin []byte) (*coreid.HolderRevocationBody, error) {
	if w.Core == nil {
		return nil, ErrNotEnrolled
	}
	body := &coreid.HolderRevocationBody{
		Credential: coreid.ToJSON(&w.Core.Credential),
		Signature:  hex.EncodeToString(w.Core.Signature),
	}
	if w.Core.Credential.DeviceKeyHash.IsZero() {
		s, err := w.secret(pin)
		if err != nil {
			return nil, err
		}
		body.Opening = zk.Hex(s)
		return body, nil
	}
	// The PIN unlocks the wallet before anything is signed.
	if _, err := w.secret(pin); err != nil {
		return nil, err
	}
	signer, ok := w.Sealer.(deviceSigner)
	if !ok {
		return nil, errors.New("this wallet's credential is bound to a device key, but its keystore cannot sign: revoke from the enrolled device")
	}
	pub, err := w.Sealer.DevicePublicKey()
	if err != nil {
		return nil, err
	}
	var nonce coreid.NonceJSON
	if err := c.do(ctx, http.MethodPost, "/v1/revocations/nonce", struct{}{}, &nonce); err != nil {
		return nil, err
	}
	digest := coreid.HolderRevocationDigest(hex.EncodeToString(w.Core.ProviderKey.Bytes()), w.Core.Credential.RevNonce, nonce.Nonce)
	proof, err := signer.SignDevice(digest)
	if err != nil {
		return nil, err
	}
	ek, err := pub.ECDH()
	if err != nil {
		return nil, err
	}
	body.DeviceKey = hex.EncodeToString(ek.Bytes())
	body.Nonce = nonce.Nonce
	body.Proof = hex.EncodeToString(proof)
	return body, nil
}

// RevokeCore sends a holder revocation to the provider.
func (c *Client) RevokeCore(ctx context.Context, body *coreid.HolderRevocationBody) error {
	var out []byte
	return c.do(ctx, http.MethodPost, HolderRevocationPath, body, &out)
}
