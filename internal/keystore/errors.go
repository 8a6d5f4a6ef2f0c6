package keystore

import "errors"

// Sentinel errors. Operations wrap them with their name, as in
// fmt.Errorf("keystore: unseal: %w", ErrWrongPIN); test with errors.Is.
// No error produced by this package ever contains a secret or a PIN.
var (
	// ErrWrongPIN is returned by Unseal when the PIN does not open the blob.
	// On a TPM every such failure counts towards dictionary-attack lockout.
	ErrWrongPIN = errors.New("wrong PIN")

	// ErrLockedOut is returned by Unseal when the TPM's dictionary-attack
	// protection is in lockout: no PIN, not even the right one, is tried
	// until the TPM's recovery time has passed or its lockout is reset.
	ErrLockedOut = errors.New("TPM is in dictionary-attack lockout")

	// ErrCorrupt is returned when a blob is not a well-formed keystore
	// blob: truncated, altered, of an unknown version, or with parameters
	// outside the accepted limits.
	ErrCorrupt = errors.New("corrupt keystore blob")

	// ErrWrongDevice is returned by Unseal when a well-formed blob was
	// sealed by another sealer: another kind of keystore, another TPM, or
	// the same TPM after its owner hierarchy was cleared (for the
	// simulator: another seed).
	ErrWrongDevice = errors.New("blob was sealed by another device")

	// ErrNoTPM is returned by Open when no TPM is present and neither the
	// simulator nor the software keystore was allowed, and by OpenTPM when
	// the device does not exist.
	ErrNoTPM = errors.New("no TPM found")

	// ErrNoDeviceKey is returned by DevicePublicKey on a sealer that has
	// no hardware-resident device key (the software keystore).
	ErrNoDeviceKey = errors.New("no device key")

	// ErrSimulatorBusy is returned by OpenSimulator while another
	// simulator opened by this package is still open: the TPM simulator is
	// a process-wide singleton.
	ErrSimulatorBusy = errors.New("TPM simulator already open in this process")

	// ErrClosed is returned by every operation on a closed TPM.
	ErrClosed = errors.New("sealer is closed")

	// ErrInvalidInput is returned for arguments out of range: a secret
	// that is empty or longer than MaxSecretSize, an empty PIN, a digest
	// that is not 32 bytes long.
	ErrInvalidInput = errors.New("invalid input")
)
