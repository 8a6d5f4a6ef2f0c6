package persona

import (
	"fmt"

	"github.com/mustard-id/mustard/verifier"
)

// CanDeriveDeviceBound reports, without the PIN and without proving,
// whether this wallet can derive a device-bound persona: its core
// credential commits a device key and its keystore signs with it (a TPM).
// The error wraps ErrNotDeviceBound.
func (w *Wallet) CanDeriveDeviceBound() error {
	if w.Core == nil {
		return ErrNotEnrolled
	}
	if w.Core.Credential.DeviceKeyHash.IsZero() {
		return fmt.Errorf("%w: the core credential commits no device key", ErrNotDeviceBound)
	}
	if _, ok := w.Sealer.(deviceSigner); !ok {
		return fmt.Errorf("%w: this keystore has no TPM device key", ErrNotDeviceBound)
	}
	if _, err := w.Sealer.DevicePublicKey(); err != nil {
		return fmt.Errorf("%w: %v", ErrNotDeviceBound, err)
	}
	return nil
}

// Answers reports whether rec may answer req as far as device binding
// goes: a request for a device-bound persona is never answered with an
// ordinary one.
func Answers(rec *Record, req *verifier.PresentationRequest) bool {
	return rec != nil && (!req.DeviceBound || rec.DeviceBound)
}
