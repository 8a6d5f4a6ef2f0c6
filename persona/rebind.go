package persona

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/google/go-tpm/tpm2"

	"github.com/mustard-id/mustard/coreid"
	"github.com/mustard-id/mustard/internal/trust"
	"github.com/mustard-id/mustard/zk"
)

// Device rebinding after a transfer (coreid.Rebind): the core credential
// commits to the old device's key, so the old device's key signs, during
// the transfer, an authorization naming the new device's key hash; the
// new device keeps it (rebind.enc) and presents it to the provider with
// an attestation ticket for its own device key. The provider binds the
// credential to the new device under a new revocation nonce and revokes
// the old one: personas the old device could still derive are refused.

// RebindPath is the provider's rebinding endpoint.
const RebindPath = "/v1/enroll/rebind"

// rebindFile holds a pending rebinding authorization, encrypted.
const rebindFile = "rebind.enc"

// rebindValidity is how long a transfer's rebinding authorization lasts:
// the new device has that long to reach the provider.
const rebindValidity = 24 * time.Hour

// ErrNoRebind means the wallet holds no pending rebinding.
var ErrNoRebind = errors.New("persona: no device rebinding is pending: it was done, or the wallet came without one")

// RebindAuthorization is the old device's signed consent to bind its core
// credential to a new device key hash (coreid.RebindDigest).
type RebindAuthorization struct {
	DeviceKey        string `json:"device_key"`          // hex uncompressed P-256 point of the old device
	NewDeviceKeyHash string `json:"new_device_key_hash"` // hex field element
	Expires          int64  `json:"expires"`
	Proof            string `json:"proof"` // hex DER ECDSA
}

// deviceKeyHashOf returns the device key hash of a marshalled TPMT_PUBLIC
// (an ECC P-256 key), or zero for an empty one (no TPM).
func deviceKeyHashOf(pub []byte) (h fr.Element, err error) {
	if len(pub) == 0 {
		return h, nil
	}
	defer func() {
		if recover() != nil {
			err = fmt.Errorf("%w: undecodable device key", ErrTransfer)
		}
	}()
	if len(pub) > maxAttPublic {
		return h, fmt.Errorf("%w: device key too large", ErrTransfer)
	}
	p, err := tpm2.Unmarshal[tpm2.TPMTPublic](pub)
	if err != nil {
		return h, fmt.Errorf("%w: device key", ErrTransfer)
	}
	k, err := p256Key(p)
	if err != nil {
		return h, fmt.Errorf("%w: device key", ErrTransfer)
	}
	return zk.DeviceKeyHash(k), nil
}

// RebindFunc returns SendOptions.Rebind for this wallet: its device key
// signs the authorization. It is nil when the wallet holds no core
// credential bound to a device key, or its keystore cannot sign.
func (u *Unlocked) RebindFunc() func(newDeviceKeyHash fr.Element) (*RebindAuthorization, error) {
	core := u.Wallet.Core
	signer, ok := u.Wallet.Sealer.(deviceSigner)
	if core == nil || core.Credential.DeviceKeyHash.IsZero() || !ok {
		return nil
	}
	return func(newHash fr.Element) (*RebindAuthorization, error) {
		pub, err := u.Wallet.Sealer.DevicePublicKey()
		if err != nil {
			return nil, err
		}
		ek, err := pub.ECDH()
		if err != nil {
			return nil, err
		}
		expires := time.Now().Add(rebindValidity).Unix()
		proof, err := signer.SignDevice(coreid.RebindDigest(hex.EncodeToString(core.ProviderKey.Bytes()), core.Credential.RevNonce, newHash, expires))
		if err != nil {
			return nil, err
		}
		return &RebindAuthorization{DeviceKey: hex.EncodeToString(ek.Bytes()), NewDeviceKeyHash: zk.Hex(newHash), Expires: expires, Proof: hex.EncodeToString(proof)}, nil
	}
}

// RebindPending reports whether the wallet holds a rebinding to do.
func (u *Unlocked) RebindPending() bool {
	_, err := os.Stat(filepath.Join(u.Dir, rebindFile))
	return err == nil
}

// saveRebind keeps a transfer's rebinding authorization.
func (u *Unlocked) saveRebind(a *RebindAuthorization) error { return u.writeEnc(rebindFile, a) }

// Rebind binds the wallet's core credential to this device at the
// provider with the pending authorization: it attests this device's key
// (a ticket, when the keystore is a TPM), sends the rebinding, checks and
// keeps the new credential, and forgets the authorization.
func (u *Unlocked) Rebind(ctx context.Context, c *Client, fw *trust.Document, pin []byte) error {
	var a RebindAuthorization
	if err := u.readEnc(rebindFile, &a); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return ErrNoRebind
		}
		return err
	}
	if u.Wallet.Core == nil {
		return ErrNotEnrolled
	}
	mine := u.Wallet.DeviceKeyHash()
	if zk.Hex(mine) != a.NewDeviceKeyHash {
		return fmt.Errorf("persona: rebind: the authorization names another device key than this device's")
	}
	if time.Now().Unix() > a.Expires {
		return fmt.Errorf("persona: rebind: the old device's authorization expired: revoke the old credential and re-enroll (mustard wallet enroll --reenroll)")
	}
	ticket, err := u.Wallet.Attest(ctx, c)
	if err != nil {
		return fmt.Errorf("persona: rebind: attest this device: %w", err)
	}
	core := u.Wallet.Core
	body := coreid.RebindBody{
		Credential:       coreid.ToJSON(&core.Credential),
		Signature:        hex.EncodeToString(core.Signature),
		DeviceKey:        a.DeviceKey,
		NewDeviceKeyHash: a.NewDeviceKeyHash,
		Expires:          a.Expires,
		Proof:            a.Proof,
		Attestation:      ticket,
	}
	var out coreid.EnrollmentJSON
	if err := c.do(ctx, http.MethodPost, RebindPath, body, &out); err != nil {
		return err
	}
	if err := u.Wallet.Accept(pin, fw, &out); err != nil {
		return err
	}
	if !u.Wallet.Core.Credential.DeviceKeyHash.Equal(&mine) {
		return fmt.Errorf("persona: rebind: the provider bound the credential to another device key")
	}
	if err := u.SaveCore(u.Meta.Server, u.Meta.Issuer, u.Meta.Governance); err != nil {
		return err
	}
	return os.Remove(filepath.Join(u.Dir, rebindFile))
}
