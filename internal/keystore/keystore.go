package keystore

import (
	"crypto/ecdsa"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// Kind names the mechanism that protects a sealed secret.
type Kind string

const (
	// KindTPM is a TPM 2.0 chip reached through the kernel's resource
	// manager (/dev/tpmrm0 by default): the highest assurance grade.
	KindTPM Kind = "tpm"
	// KindSimulator is go-tpm-tools' in-process TPM 2.0 reference
	// simulator. It speaks real TPM commands but its seeds live in process
	// memory and derive from a seed the wallet stores beside the blob: it
	// protects nothing and exists for development and tests.
	KindSimulator Kind = "tpm-simulator"
	// KindSoftware is a passphrase-derived key (Argon2id + AES-256-GCM)
	// for machines without a TPM: a lower assurance grade, as strong only
	// as the passphrase.
	KindSoftware Kind = "software"
)

// HardwareBacked reports whether secrets sealed by this kind are bound to
// a hardware TPM whose dictionary-attack protection limits PIN guessing.
// Only KindTPM is.
func (k Kind) HardwareBacked() bool { return k == KindTPM }

// MaxSecretSize is the largest secret a Sealer accepts, in bytes: the
// TPM's limit for sealed data (MAX_SYM_DATA).
const MaxSecretSize = 128

// DefaultDevice is the TPM device Open and OpenTPM use when none is given:
// the kernel's TPM resource manager, which flushes this process's
// transient objects and sessions when it closes the device.
const DefaultDevice = "/dev/tpmrm0"

// defaultDevice is DefaultDevice, a variable so that tests can point Open
// at a device that does not exist.
var defaultDevice = DefaultDevice

// Sealer protects small secrets (at most MaxSecretSize bytes) under a user
// PIN.
type Sealer interface {
	// Kind tells what protects the secrets this sealer seals.
	Kind() Kind
	// Seal protects secret under pin and returns an opaque, versioned,
	// self-describing blob that is safe to write to disk.
	Seal(secret, pin []byte) ([]byte, error)
	// Unseal recovers the secret from a blob made by Seal. A wrong PIN
	// yields ErrWrongPIN, a TPM in lockout ErrLockedOut, a malformed blob
	// ErrCorrupt, a blob from another sealer ErrWrongDevice.
	Unseal(blob, pin []byte) ([]byte, error)
	// DevicePublicKey returns the P-256 public key of the device key
	// resident in the TPM, or ErrNoDeviceKey where there is none.
	DevicePublicKey() (*ecdsa.PublicKey, error)
	// Close releases the sealer's resources.
	Close() error
}

var (
	_ Sealer = (*TPM)(nil)
	_ Sealer = (*Software)(nil)
)

// Options chooses the sealer Open returns.
type Options struct {
	// Device is the TPM device path; "" means DefaultDevice. A Device
	// given explicitly must open: Open does not fall back from it.
	Device string
	// Simulator allows the go-tpm-tools simulator when no TPM is present.
	Simulator bool
	// SimulatorSeed fixes the simulator's hierarchy seeds, so that the
	// simulator's storage root key, and with it every blob sealed under
	// it, survives process restarts. The wallet stores this seed.
	SimulatorSeed int64
	// AllowSoftware allows the software keystore when there is neither a
	// TPM nor the simulator.
	AllowSoftware bool
}

// Open returns the strongest sealer opts allow: the TPM at opts.Device if
// given, else the TPM at DefaultDevice if present, else the simulator if
// opts.Simulator, else the software keystore if opts.AllowSoftware, else
// ErrNoTPM. A TPM that is present but cannot be opened (for example for
// lack of permission) is an error, never a silent downgrade.
func Open(opts Options) (Sealer, error) {
	if opts.Device != "" {
		return OpenTPM(opts.Device)
	}
	_, err := os.Stat(defaultDevice)
	switch {
	case err == nil:
		return OpenTPM(defaultDevice)
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("keystore: open: %w", err)
	case opts.Simulator:
		return OpenSimulator(opts.SimulatorSeed)
	case opts.AllowSoftware:
		return NewSoftware(), nil
	default:
		return nil, fmt.Errorf("keystore: open: %w", ErrNoTPM)
	}
}

// checkSealInput validates Seal's arguments for every kind of sealer.
func checkSealInput(secret, pin []byte) error {
	if len(secret) == 0 || len(secret) > MaxSecretSize {
		return fmt.Errorf("keystore: seal: secret must be 1 to %d bytes: %w", MaxSecretSize, ErrInvalidInput)
	}
	if len(pin) == 0 {
		return fmt.Errorf("keystore: seal: empty PIN: %w", ErrInvalidInput)
	}
	return nil
}
