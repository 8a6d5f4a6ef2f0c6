package keystore

import (
	"bytes"
	"crypto/rand"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSoftwareSealUnseal(t *testing.T) {
	t.Parallel()
	s := newTestSoftware()
	require.Equal(t, KindSoftware, s.Kind())
	require.False(t, s.Kind().HardwareBacked())

	for _, size := range []int{1, 32, MaxSecretSize} {
		secret := make([]byte, size)
		_, _ = rand.Read(secret)
		blob, err := s.Seal(secret, []byte("1234"))
		require.NoError(t, err)
		got, err := s.Unseal(blob, []byte("1234"))
		require.NoError(t, err)
		require.Equal(t, secret, got)
	}

	// Fresh salt and nonce: sealing twice gives different blobs.
	a, err := s.Seal([]byte("s"), []byte("1234"))
	require.NoError(t, err)
	b, err := s.Seal([]byte("s"), []byte("1234"))
	require.NoError(t, err)
	require.NotEqual(t, a, b)
}

func TestSoftwareDefaultCost(t *testing.T) {
	t.Parallel()
	s := NewSoftware()
	blob, err := s.Seal([]byte("core secret"), []byte("1234"))
	require.NoError(t, err)
	b, err := parseBlob(blob)
	require.NoError(t, err)
	require.Equal(t, defaultKDF, b.kdf)
	require.GreaterOrEqual(t, b.kdf.time, uint32(2))
	require.GreaterOrEqual(t, b.kdf.memoryKiB, uint32(64*1024))

	got, err := s.Unseal(blob, []byte("1234"))
	require.NoError(t, err)
	require.Equal(t, []byte("core secret"), got)
}

func TestSoftwareWrongPIN(t *testing.T) {
	t.Parallel()
	s := newTestSoftware()
	blob, err := s.Seal([]byte("core secret"), []byte("correct horse"))
	require.NoError(t, err)
	_, err = s.Unseal(blob, []byte("wrong horse"))
	require.ErrorIs(t, err, ErrWrongPIN)
	require.NotContains(t, err.Error(), "horse")
}

func TestSoftwareCorruptBlob(t *testing.T) {
	t.Parallel()
	s := newTestSoftware()
	blob, err := s.Seal([]byte("core secret"), []byte("1234"))
	require.NoError(t, err)

	// Every single-byte alteration is caught by the checksum.
	for i := range blob {
		b := bytes.Clone(blob)
		b[i] ^= 0x01
		_, err := s.Unseal(b, []byte("1234"))
		require.ErrorIs(t, err, ErrCorrupt, "byte %d", i)
	}
	for n := range blob {
		_, err := s.Unseal(blob[:n], []byte("1234"))
		require.ErrorIs(t, err, ErrCorrupt, "truncated to %d", n)
	}
	_, err = s.Unseal(append(bytes.Clone(blob), 0), []byte("1234"))
	require.ErrorIs(t, err, ErrCorrupt)

	// With the checksum recomputed, an altered header or ciphertext fails
	// GCM authentication, which cannot be told from a wrong PIN.
	const timeOffset = blobHeaderSize + 3
	b := bytes.Clone(blob)
	b[timeOffset]++
	_, err = s.Unseal(reseal(b), []byte("1234"))
	require.ErrorIs(t, err, ErrWrongPIN)
	b = bytes.Clone(blob)
	b[len(b)-checksumSize-1] ^= 1
	_, err = s.Unseal(reseal(b), []byte("1234"))
	require.ErrorIs(t, err, ErrWrongPIN)
}

func TestSoftwareCostLimits(t *testing.T) {
	t.Parallel()
	s := newTestSoftware()
	blob, err := s.Seal([]byte("core secret"), []byte("1234"))
	require.NoError(t, err)
	b, err := parseBlob(blob)
	require.NoError(t, err)

	for name, kdf := range map[string]kdfParams{
		"time":    {time: maxKDF.time + 1, memoryKiB: 64, threads: 1},
		"memory":  {time: 1, memoryKiB: maxKDF.memoryKiB + 1, threads: 1},
		"threads": {time: 1, memoryKiB: 8 * 255, threads: 255},
	} {
		c := *b
		c.kdf = kdf
		_, err := s.Unseal(c.marshal(), []byte("1234"))
		require.ErrorIs(t, err, ErrCorrupt, name)
	}
	c := *b
	c.kdf = kdfParams{time: 0, memoryKiB: 64, threads: 1}
	_, err = s.Unseal(c.marshal(), []byte("1234"))
	require.ErrorIs(t, err, ErrCorrupt)
}

func TestSoftwareDeviceKey(t *testing.T) {
	t.Parallel()
	s := newTestSoftware()
	_, err := s.DevicePublicKey()
	require.ErrorIs(t, err, ErrNoDeviceKey)
	require.NoError(t, s.Close())
}
