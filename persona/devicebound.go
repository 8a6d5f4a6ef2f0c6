package persona

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/mustard-id/mustard/circuits/devicebound"
	"github.com/mustard-id/mustard/circuits/persona"
	"github.com/mustard-id/mustard/coreid"
	"github.com/mustard-id/mustard/internal/trust"
	"github.com/mustard-id/mustard/issuer"
	"github.com/mustard-id/mustard/zk"
)

// ErrNotDeviceBound is returned when a device-bound persona is asked of a
// wallet whose core credential commits no device key, or whose keystore
// cannot sign with it (a software wallet, or a copy of the core secret
// away from its TPM).
var ErrNotDeviceBound = errors.New("persona: a device-bound persona needs the enrolled device's TPM")

// Progress receives the steps of a long derivation and, while the proof
// is being made, a line every tick with the elapsed time, so that a
// wallet can show that it is working (a device-bound proof takes seconds).
type Progress func(msg string)

// DeriveDeviceBound proves a device-bound persona for q (circuits/
// devicebound): the TPM's device key signs devicebound.Digest of the
// nonce, and the proof shows that signature under the key the core
// credential commits, revealing neither. keys are the device-bound
// circuit's.
func (w *Wallet) DeriveDeviceBound(ctx context.Context, keys *zk.Keys, pin []byte, fw *trust.Document, snap coreid.Snapshot, personaKey jwk.Key, q Query, progress Progress) (*devicebound.ProofJSON, error) {
	return w.deriveDeviceBound(ctx, keys, func() (*persona.Public, *persona.Private, error) {
		return w.Statement(pin, fw, snap.Entries, snap.Root, personaKey, q)
	}, q, progress)
}

// deriveDeviceBound is DeriveDeviceBound with the persona statement built
// by statement (from a snapshot, or from a revocation cache).
func (w *Wallet) deriveDeviceBound(ctx context.Context, keys *zk.Keys, statement func() (*persona.Public, *persona.Private, error), q Query, progress Progress) (*devicebound.ProofJSON, error) {
	if progress == nil {
		progress = func(string) {}
	}
	if w.Core == nil {
		return nil, ErrNotEnrolled
	}
	if w.Core.Credential.DeviceKeyHash.IsZero() {
		return nil, fmt.Errorf("%w: the core credential commits no device key", ErrNotDeviceBound)
	}
	signer, ok := w.Sealer.(deviceSigner)
	if !ok {
		return nil, fmt.Errorf("%w: this keystore cannot sign", ErrNotDeviceBound)
	}
	devKey, err := w.Sealer.DevicePublicKey()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotDeviceBound, err)
	}
	pub, priv, err := statement()
	if err != nil {
		return nil, err
	}
	progress("signing the verifier's nonce with the TPM device key")
	digest := devicebound.Digest(pub.Nonce)
	der, err := signer.SignDevice(digest[:])
	if err != nil {
		return nil, err
	}
	sig, err := devicebound.ParseSignature(devKey, der)
	if err != nil {
		return nil, err
	}
	if err := devicebound.Check(pub, priv, sig); err != nil {
		if errors.Is(err, devicebound.ErrKey) {
			return nil, fmt.Errorf("%w: this TPM's device key is not the one the core credential commits", ErrNotDeviceBound)
		}
		return nil, err
	}
	a, b, err := devicebound.Assign(pub, priv, sig)
	if err != nil {
		return nil, err
	}
	progress("proving (device-bound: a few seconds)")
	proof, err := proveWithTicks(ctx, func() ([]byte, error) { return keys.Prove(a) }, progress)
	if err != nil {
		return nil, err
	}
	j := devicebound.Encode(keys.VKID, q.Scope, q.Nonce, pub, b, proof)
	return &j, nil
}

// proveWithTicks runs prove, reporting the elapsed time every second.
func proveWithTicks(ctx context.Context, prove func() ([]byte, error), progress Progress) ([]byte, error) {
	type result struct {
		proof []byte
		err   error
	}
	done := make(chan result, 1)
	start := time.Now()
	go func() {
		p, err := prove()
		done <- result{p, err}
	}()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case r := <-done:
			if r.err == nil {
				progress(fmt.Sprintf("proof made in %.1fs", time.Since(start).Seconds()))
			}
			return r.proof, r.err
		case <-t.C:
			progress(fmt.Sprintf("proving… %.0fs", time.Since(start).Seconds()))
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// IssueDeviceBound asks the issuer for a persona credential on a
// device-bound proof (its device_r beside the proof).
func (c *Client) IssueDeviceBound(ctx context.Context, issuerID string, proof *devicebound.ProofJSON, personaKey jwk.Key) (*issuer.IssuedJSON, error) {
	return c.issue(ctx, issuerID, &proof.ProofJSON, proof.DeviceR, personaKey)
}

// DeviceBoundVK returns the verifying-key id of the server's device-bound
// circuit, from its key files' metadata (ErrNotDeviceBound when the
// server does not run the profile).
func (c *Client) DeviceBoundVK(ctx context.Context) (string, error) {
	var meta struct {
		VKID string `json:"vk_id"`
	}
	if err := c.Get(ctx, "/v1/zk/devicebound/files/devicebound.json", &meta); err != nil {
		return "", fmt.Errorf("%w: the server does not offer device-bound personas (%v)", ErrNotDeviceBound, err)
	}
	return meta.VKID, nil
}
