package keystore

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"sync"

	"github.com/google/go-tpm-tools/simulator"
	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport"
	"github.com/google/go-tpm/tpm2/transport/linuxtpm"
)

// pinTag domain-separates the hash that turns a PIN into a TPM authValue.
const pinTag = "mustard/keystore/pin/v1\x00"

// simulatorMu is held while a simulator opened by this package is open:
// the go-tpm-tools simulator is a process-wide singleton whose Get blocks
// until the previous instance is closed, and failing is kinder than
// deadlocking.
var simulatorMu sync.Mutex

// TPM seals secrets in a TPM 2.0, real or simulated. It re-creates its
// storage root key (the TCG ECC P-256 SRK template, a primary key in the
// owner hierarchy) on every open, so it persists no handles: blobs stay
// valid as long as the owner hierarchy's seed does (until TPM2_Clear).
// TPM is safe for concurrent use; its commands are serialized.
type TPM struct {
	mu     sync.Mutex
	tpm    transport.TPMCloser
	kind   Kind
	closed bool
	unlock func() // releases simulatorMu; nil for a real TPM

	srk    tpm2.NamedHandle
	srkPub tpm2.TPMTPublic

	dev *deviceKey // created on first use
}

// OpenTPM opens the TPM 2.0 at path ("" means DefaultDevice) and creates
// its storage root key. A missing device yields an error wrapping ErrNoTPM.
func OpenTPM(path string) (*TPM, error) {
	if path == "" {
		path = defaultDevice
	}
	t, err := linuxtpm.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("keystore: open %s: %w: %w", path, ErrNoTPM, err)
		}
		return nil, fmt.Errorf("keystore: open %s: %w", path, err)
	}
	return newTPM(t, KindTPM, nil)
}

// OpenSimulator starts go-tpm-tools' TPM 2.0 reference simulator with
// hierarchy seeds derived from seed, so that the same seed re-creates the
// same storage root key and device key, and blobs sealed under one run
// unseal in a later one. Everything else (dictionary-attack counters and
// parameters included) starts fresh. Only one simulator can be open in a
// process: a second OpenSimulator before Close fails with
// ErrSimulatorBusy. The simulator protects nothing: anyone holding the
// seed holds the keys. Use it for development and tests only.
func OpenSimulator(seed int64) (*TPM, error) {
	if !simulatorMu.TryLock() {
		return nil, fmt.Errorf("keystore: open simulator: %w", ErrSimulatorBusy)
	}
	sim, err := simulator.GetWithFixedSeedInsecure(seed)
	if err != nil {
		simulatorMu.Unlock()
		return nil, fmt.Errorf("keystore: open simulator: %w", err)
	}
	return newTPM(transport.FromReadWriteCloser(sim), KindSimulator, simulatorMu.Unlock)
}

func newTPM(t transport.TPMCloser, kind Kind, unlock func()) (*TPM, error) {
	k := &TPM{tpm: t, kind: kind, unlock: unlock}
	rsp, err := tpm2.CreatePrimary{
		PrimaryHandle: tpm2.TPMRHOwner,
		InPublic:      tpm2.New2B(tpm2.ECCSRKTemplate),
	}.Execute(t)
	if err != nil {
		k.release()
		return nil, fmt.Errorf("keystore: create storage root key: %w", err)
	}
	pub, err := rsp.OutPublic.Contents()
	if err != nil {
		k.flush(rsp.ObjectHandle)
		k.release()
		return nil, fmt.Errorf("keystore: create storage root key: %w", err)
	}
	k.srk = tpm2.NamedHandle{Handle: rsp.ObjectHandle, Name: rsp.Name}
	k.srkPub = *pub
	return k, nil
}

// Kind returns KindTPM, or KindSimulator for the simulator.
func (k *TPM) Kind() Kind { return k.kind }

// sealedTemplate is the public area of a sealed secret: a keyed-hash data
// object that can be neither duplicated nor used to sign or decrypt, whose
// authValue (the hashed PIN) is subject to dictionary-attack protection
// (NoDA is clear) and which has no authorization policy.
var sealedTemplate = tpm2.TPMTPublic{
	Type:    tpm2.TPMAlgKeyedHash,
	NameAlg: tpm2.TPMAlgSHA256,
	ObjectAttributes: tpm2.TPMAObject{
		FixedTPM:     true,
		FixedParent:  true,
		UserWithAuth: true,
	},
	Parameters: tpm2.NewTPMUPublicParms(tpm2.TPMAlgKeyedHash, &tpm2.TPMSKeyedHashParms{
		Scheme: tpm2.TPMTKeyedHashScheme{Scheme: tpm2.TPMAlgNull},
	}),
}

// checkSealedPublic checks that a blob's TPM2B_PUBLIC contents decode to
// a sealed-data object of sealedTemplate's shape; anything else is
// ErrCorrupt before the TPM sees it.
func checkSealedPublic(b []byte) (err error) {
	defer func() {
		// go-tpm's reflective decoder is not written for hostile input;
		// a blob must never crash the wallet.
		if recover() != nil {
			err = fmt.Errorf("undecodable public area: %w", ErrCorrupt)
		}
	}()
	pub, err := tpm2.Unmarshal[tpm2.TPMTPublic](b)
	if err != nil {
		return fmt.Errorf("undecodable public area: %w", ErrCorrupt)
	}
	a := pub.ObjectAttributes
	switch {
	case !bytes.Equal(tpm2.Marshal(*pub), b):
		return fmt.Errorf("non-canonical public area: %w", ErrCorrupt)
	case pub.Type != tpm2.TPMAlgKeyedHash || pub.NameAlg != tpm2.TPMAlgSHA256:
		return fmt.Errorf("public area is not a sealed-data object: %w", ErrCorrupt)
	case isDuplicableSealed(pub):
		return nil // duplicate.go
	case !a.FixedTPM || !a.FixedParent || !a.UserWithAuth || a.NoDA || a.SignEncrypt || a.Decrypt:
		return fmt.Errorf("unexpected sealed-data object attributes: %w", ErrCorrupt)
	case len(pub.AuthPolicy.Buffer) != 0:
		return fmt.Errorf("sealed-data object has an authorization policy: %w", ErrCorrupt)
	}
	return nil
}

// authValue turns a PIN into the sealed object's authValue: the first 24
// bytes of SHA-256(pinTag || pin), base64url-encoded into 32 bytes.
// Hashing fits PINs of any length into the 32 bytes a SHA-256 object
// allows. The encoding keeps zero bytes out of the authValue: go-tpm
// v0.9.8 cuts an HMAC session's authValue at its first zero byte (it
// means to trim only trailing zeros, TPM 2.0 Part 1 §19.6.5; fix pending
// upstream in go-tpm PR 446), which would fail about one PIN in eight,
// and TPM vendors differ in how they store trailing zeros.
func authValue(pin []byte) []byte {
	h := sha256.New()
	h.Write([]byte(pinTag))
	h.Write(pin)
	sum := h.Sum(nil)
	defer clear(sum)
	out := make([]byte, base64.RawURLEncoding.EncodedLen(authHashSize))
	base64.RawURLEncoding.Encode(out, sum[:authHashSize])
	return out
}

// authHashSize is how much of the PIN hash the authValue encodes: 192
// bits, whose base64url encoding is the 32 bytes a SHA-256 object allows.
const authHashSize = 24

// session returns a one-use HMAC session salted with the storage root
// key, so that its session key is unknown to anyone watching the bus, and
// that encrypts the first command parameter (dir EncryptIn) or response
// parameter (EncryptOut) with AES-128-CFB. auth is the authValue of the
// entity the session authorizes.
func (k *TPM) session(auth []byte, dir tpm2.AuthOption) tpm2.Session {
	return tpm2.HMAC(tpm2.TPMAlgSHA256, 16,
		tpm2.Auth(auth),
		dir,
		tpm2.Salted(k.srk.Handle, k.srkPub))
}

// Seal creates a sealed-data object under the storage root key holding
// secret, with an authValue derived from pin (see authValue), and
// returns its public and private areas in a blob. The secret and the
// authValue travel to the TPM encrypted under a session salted with the
// storage root key.
func (k *TPM) Seal(secret, pin []byte) ([]byte, error) {
	return k.seal(secret, pin, sealedTemplate)
}

// Unseal loads a blob's object under the storage root key and unseals it
// with pin, through a salted session that encrypts the secret on its way
// out. A wrong PIN counts towards the TPM's dictionary-attack lockout.
func (k *TPM) Unseal(data, pin []byte) ([]byte, error) {
	b, err := parseBlob(data)
	if err != nil {
		return nil, fmt.Errorf("keystore: unseal: %w", err)
	}
	if b.kind != k.kind {
		return nil, fmt.Errorf("keystore: unseal: %s blob on a %s keystore: %w", b.kind, k.kind, ErrWrongDevice)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return nil, fmt.Errorf("keystore: unseal: %w", ErrClosed)
	}
	if !bytes.Equal(b.srkName, k.srk.Name.Buffer) {
		return nil, fmt.Errorf("keystore: unseal: storage root key differs: %w", ErrWrongDevice)
	}
	loaded, err := tpm2.Load{
		ParentHandle: k.srk,
		InPrivate:    tpm2.TPM2BPrivate{Buffer: b.private},
		InPublic:     tpm2.BytesAs2B[tpm2.TPMTPublic](b.public),
	}.Execute(k.tpm)
	if err != nil {
		return nil, fmt.Errorf("keystore: unseal: load: %w", classifyLoad(err))
	}
	defer k.flush(loaded.ObjectHandle)

	auth := authValue(pin)
	defer clear(auth)
	rsp, err := tpm2.Unseal{
		ItemHandle: tpm2.AuthHandle{
			Handle: loaded.ObjectHandle,
			Name:   loaded.Name,
			Auth:   k.session(auth, tpm2.AESEncryption(128, tpm2.EncryptOut)),
		},
	}.Execute(k.tpm)
	if err != nil {
		return nil, fmt.Errorf("keystore: unseal: %w", classifyAuth(err))
	}
	return rsp.OutData.Buffer, nil
}

// classifyAuth maps the TPM's authorization failures to ErrWrongPIN and
// ErrLockedOut, keeping the TPM's own error in the chain.
func classifyAuth(err error) error {
	switch {
	case errors.Is(err, tpm2.TPMRCAuthFail), errors.Is(err, tpm2.TPMRCBadAuth):
		return fmt.Errorf("%w: %w", ErrWrongPIN, err)
	case errors.Is(err, tpm2.TPMRCLockout):
		return fmt.Errorf("%w: %w", ErrLockedOut, err)
	}
	return err
}

// classifyLoad maps a TPM error to TPM2_Load to ErrCorrupt when the TPM
// rejected the blob itself (an integrity or format error, not a warning
// about its own state), and to ErrLockedOut during lockout.
func classifyLoad(err error) error {
	var rc tpm2.TPMRC
	switch {
	case errors.Is(err, tpm2.TPMRCLockout):
		return fmt.Errorf("%w: %w", ErrLockedOut, err)
	case errors.As(err, &rc) && !rc.IsWarning():
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return err
}

// Close flushes the TPM objects this TPM loaded and closes the device (or
// shuts the simulator down). Closing twice returns ErrClosed.
func (k *TPM) Close() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return fmt.Errorf("keystore: close: %w", ErrClosed)
	}
	k.closed = true
	if k.dev != nil {
		k.flush(k.dev.handle.Handle)
		k.dev = nil
	}
	k.flush(k.srk.Handle)
	return k.release()
}

// release closes the transport and, for the simulator, lets another one
// be opened.
func (k *TPM) release() error {
	err := k.tpm.Close()
	if k.unlock != nil {
		k.unlock()
		k.unlock = nil
	}
	if err != nil {
		return fmt.Errorf("keystore: close: %w", err)
	}
	return nil
}

// flush evicts a transient object. Failure is not reported: the resource
// manager, or the simulator's shutdown, reclaims it anyway.
func (k *TPM) flush(h tpm2.TPMHandle) {
	_, _ = tpm2.FlushContext{FlushHandle: h}.Execute(k.tpm)
}
