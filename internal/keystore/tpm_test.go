package keystore

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/google/go-tpm/tpm2/transport"

	"github.com/stretchr/testify/require"
)

func TestSimulatorSealUnseal(t *testing.T) {
	k := openSim(t, testSeed)
	require.Equal(t, KindSimulator, k.Kind())
	require.False(t, k.Kind().HardwareBacked())

	for _, size := range []int{1, 32, MaxSecretSize} {
		secret := make([]byte, size)
		_, _ = rand.Read(secret)
		blob, err := k.Seal(secret, []byte("1234"))
		require.NoError(t, err)
		if size >= 16 {
			require.False(t, bytes.Contains(blob, secret), "secret in clear in the blob")
		}
		require.Equal(t, blobMagic, string(blob[:4]))

		got, err := k.Unseal(blob, []byte("1234"))
		require.NoError(t, err)
		require.Equal(t, secret, got)
	}
}

func TestSimulatorWrongPIN(t *testing.T) {
	k := openSim(t, testSeed)
	blob, err := k.Seal([]byte("core secret"), []byte("correct horse"))
	require.NoError(t, err)

	_, err = k.Unseal(blob, []byte("wrong horse"))
	require.ErrorIs(t, err, ErrWrongPIN)
	require.NotContains(t, err.Error(), "horse")

	// A PIN differing from the right one only by trailing zero bytes is
	// still wrong: the PIN is hashed before the TPM trims its authValue.
	_, err = k.Unseal(blob, []byte("correct horse\x00"))
	require.ErrorIs(t, err, ErrWrongPIN)

	got, err := k.Unseal(blob, []byte("correct horse"))
	require.NoError(t, err)
	require.Equal(t, []byte("core secret"), got)
}

func TestSimulatorCorruptBlob(t *testing.T) {
	k := openSim(t, testSeed)
	blob, err := k.Seal([]byte("core secret"), []byte("1234"))
	require.NoError(t, err)
	parsed, err := parseBlob(blob)
	require.NoError(t, err)

	flipAt := func(i int) []byte {
		b := bytes.Clone(blob)
		b[i] ^= 0x40
		return b
	}
	// Offsets of the public and private areas' last bytes.
	pubEnd := blobHeaderSize + 2 + len(parsed.srkName) + 2 + len(parsed.public) - 1
	privEnd := len(blob) - checksumSize - 1

	cases := []struct {
		name string
		blob []byte
	}{
		{"empty", nil},
		{"truncated", blob[:len(blob)/2]},
		{"bad magic", flipAt(0)},
		{"bad checksum", flipAt(len(blob) - 1)},
		{"flipped private byte", flipAt(privEnd)},
		{"altered private area", reseal(flipAt(privEnd))},
		{"altered public area", reseal(flipAt(pubEnd))},
		{"future version", reseal(func() []byte { b := bytes.Clone(blob); b[4] = 2; return b }())},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := k.Unseal(tc.blob, []byte("1234"))
			require.ErrorIs(t, err, ErrCorrupt)
		})
	}
}

func TestSimulatorPersistence(t *testing.T) {
	secret := []byte("survives a restart")
	k := openSim(t, testSeed)
	blob, err := k.Seal(secret, []byte("1234"))
	require.NoError(t, err)
	require.NoError(t, k.Close())
	require.ErrorIs(t, k.Close(), ErrClosed)
	_, err = k.Unseal(blob, []byte("1234"))
	require.ErrorIs(t, err, ErrClosed)

	k = openSim(t, testSeed)
	got, err := k.Unseal(blob, []byte("1234"))
	require.NoError(t, err)
	require.Equal(t, secret, got)
	require.NoError(t, k.Close())

	k = openSim(t, testSeed+1)
	_, err = k.Unseal(blob, []byte("1234"))
	require.ErrorIs(t, err, ErrWrongDevice)

	// Even with the storage root key name forged to match, the other
	// seed's storage root key cannot load the object.
	forged := bytes.Clone(blob)
	copy(forged[blobHeaderSize+2:], k.srk.Name.Buffer)
	_, err = k.Unseal(reseal(forged), []byte("1234"))
	require.ErrorIs(t, err, ErrCorrupt)
}

func TestSimulatorBusy(t *testing.T) {
	openSim(t, testSeed)
	_, err := OpenSimulator(testSeed)
	require.ErrorIs(t, err, ErrSimulatorBusy)
}

func TestSimulatorLockout(t *testing.T) {
	k := openSim(t, testSeed)
	const maxTries = 3
	require.NoError(t, setDAParameters(k, maxTries, 3600, 3600))

	blob, err := k.Seal([]byte("core secret"), []byte("1234"))
	require.NoError(t, err)
	for i := 0; i < maxTries; i++ {
		_, err = k.Unseal(blob, []byte("0000"))
		require.ErrorIs(t, err, ErrWrongPIN, "try %d", i+1)
	}
	_, err = k.Unseal(blob, []byte("1234"))
	require.ErrorIs(t, err, ErrLockedOut)
	_, err = k.Unseal(blob, []byte("0000"))
	require.ErrorIs(t, err, ErrLockedOut)

	// Lockout concerns DA-protected objects only: sealing, and the
	// device key (noDA), still work.
	_, err = k.Seal([]byte("x"), []byte("1"))
	require.NoError(t, err)
	_, err = k.DevicePublicKey()
	require.NoError(t, err)
}

func TestSimulatorDeviceKey(t *testing.T) {
	k := openSim(t, testSeed)
	pub, err := k.DevicePublicKey()
	require.NoError(t, err)
	require.Equal(t, "P-256", pub.Curve.Params().Name)

	digest := sha256.Sum256([]byte("verifier nonce"))
	sig, err := k.SignDevice(digest[:])
	require.NoError(t, err)
	require.True(t, ecdsa.VerifyASN1(pub, digest[:], sig))
	other := sha256.Sum256([]byte("another nonce"))
	require.False(t, ecdsa.VerifyASN1(pub, other[:], sig))

	_, err = k.SignDevice(digest[:20])
	require.ErrorIs(t, err, ErrInvalidInput)

	require.NoError(t, k.Close())
	_, err = k.DevicePublicKey()
	require.ErrorIs(t, err, ErrClosed)
	_, err = k.SignDevice(digest[:])
	require.ErrorIs(t, err, ErrClosed)

	k = openSim(t, testSeed)
	again, err := k.DevicePublicKey()
	require.NoError(t, err)
	require.True(t, pub.Equal(again), "device key changed across reopen")
	sig, err = k.SignDevice(digest[:])
	require.NoError(t, err)
	require.True(t, ecdsa.VerifyASN1(pub, digest[:], sig))
	require.NoError(t, k.Close())

	k = openSim(t, testSeed+1)
	third, err := k.DevicePublicKey()
	require.NoError(t, err)
	require.False(t, pub.Equal(third), "device key equal under another seed")
}

func TestSealInput(t *testing.T) {
	k := openSim(t, testSeed)
	for _, s := range []Sealer{k, newTestSoftware()} {
		t.Run(string(s.Kind()), func(t *testing.T) {
			for _, tc := range []struct {
				name        string
				secret, pin []byte
			}{
				{"empty secret", nil, []byte("1234")},
				{"secret too long", make([]byte, MaxSecretSize+1), []byte("1234")},
				{"empty PIN", []byte("s"), nil},
			} {
				_, err := s.Seal(tc.secret, tc.pin)
				require.ErrorIs(t, err, ErrInvalidInput, tc.name)
			}
		})
	}
}

func TestWrongKind(t *testing.T) {
	k := openSim(t, testSeed)
	sw := newTestSoftware()

	tpmBlob, err := k.Seal([]byte("s"), []byte("1234"))
	require.NoError(t, err)
	swBlob, err := sw.Seal([]byte("s"), []byte("1234"))
	require.NoError(t, err)

	_, err = k.Unseal(swBlob, []byte("1234"))
	require.ErrorIs(t, err, ErrWrongDevice)
	_, err = sw.Unseal(tpmBlob, []byte("1234"))
	require.ErrorIs(t, err, ErrWrongDevice)
}

// tap records every command and response, as a probe on the TPM's bus
// would.
type tap struct {
	transport.TPMCloser
	seen bytes.Buffer
}

func (t *tap) Send(cmd []byte) ([]byte, error) {
	t.seen.Write(cmd)
	rsp, err := t.TPMCloser.Send(cmd)
	t.seen.Write(rsp)
	return rsp, err
}

func TestSimulatorBusEncryption(t *testing.T) {
	k := openSim(t, testSeed)
	bus := &tap{TPMCloser: k.tpm}
	k.tpm = bus

	secret := []byte("0123456789abcdef-core-secret")
	pin := []byte("pin-never-on-the-bus")
	blob, err := k.Seal(secret, pin)
	require.NoError(t, err)
	got, err := k.Unseal(blob, pin)
	require.NoError(t, err)
	require.Equal(t, secret, got)

	require.Positive(t, bus.seen.Len())
	for name, s := range map[string][]byte{
		"secret":    secret,
		"PIN":       pin,
		"authValue": authValue(pin),
	} {
		require.False(t, bytes.Contains(bus.seen.Bytes(), s), "%s seen on the bus", name)
	}
}

func TestSimulatorConcurrentUse(t *testing.T) {
	k := openSim(t, testSeed)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			secret := []byte{byte(i), 1, 2, 3}
			blob, err := k.Seal(secret, []byte("1234"))
			if err == nil {
				var got []byte
				if got, err = k.Unseal(blob, []byte("1234")); err == nil && !bytes.Equal(got, secret) {
					err = errors.New("unsealed another secret")
				}
			}
			if err == nil {
				digest := sha256.Sum256(secret)
				_, err = k.SignDevice(digest[:])
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}

// TestSimulatorManyPINs guards against authValues that an HMAC session
// mishandles: "1", "17" and "483921" hash to digests with zero bytes,
// which go-tpm v0.9.8 truncated (see authValue).
func TestSimulatorManyPINs(t *testing.T) {
	k := openSim(t, testSeed)
	pins := []string{"1", "17", "483921", "", "\x00", "pin\x00", "ünïcødé"}
	for i := 0; i < 40; i++ {
		pins = append(pins, fmt.Sprint(i*7919))
	}
	for _, pin := range pins {
		auth := authValue([]byte(pin))
		require.Len(t, auth, 32)
		require.NotContains(t, auth, byte(0))
		if pin == "" {
			continue // Seal refuses an empty PIN
		}
		blob, err := k.Seal([]byte("core secret"), []byte(pin))
		require.NoError(t, err)
		got, err := k.Unseal(blob, []byte(pin))
		require.NoError(t, err, "PIN %q", pin)
		require.Equal(t, []byte("core secret"), got)
	}
}
