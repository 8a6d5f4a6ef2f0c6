package keystore

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// fuzzPIN is the PIN of the valid blobs in the seed corpus.
const fuzzPIN = "1234"

// FuzzParseBlob checks that the blob parser never panics, that it reports
// every failure as ErrCorrupt, and that whatever it accepts re-encodes to
// the same bytes. Seeds: testdata/fuzz/FuzzParseBlob (see
// TestWriteFuzzCorpus) and the blobs added here.
func FuzzParseBlob(f *testing.F) {
	blob, err := newTestSoftware().Seal([]byte("core secret"), []byte(fuzzPIN))
	require.NoError(f, err)
	f.Add(blob)
	f.Add([]byte(blobMagic))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, data := range withFixedChecksum(data) {
			b, err := parseBlob(data)
			if err != nil {
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("error does not wrap ErrCorrupt: %v", err)
				}
				continue
			}
			if got := b.marshal(); !bytes.Equal(got, data) {
				t.Fatalf("accepted blob re-encodes differently:\n in %x\nout %x", data, got)
			}
		}
	})
}

// FuzzUnsealSoftware checks that the software sealer's Unseal never
// panics and fails only with the documented sentinels, on any blob and
// PIN. The Argon2id cost it accepts is capped low to keep fuzzing fast.
func FuzzUnsealSoftware(f *testing.F) {
	s := newTestSoftware()
	s.limit = kdfParams{time: 2, memoryKiB: 256, threads: 2}
	blob, err := s.Seal([]byte("core secret"), []byte(fuzzPIN))
	require.NoError(f, err)
	f.Add(blob, []byte(fuzzPIN))
	f.Add(blob, []byte("0000"))
	f.Fuzz(func(t *testing.T, data, pin []byte) {
		for _, data := range withFixedChecksum(data) {
			secret, err := s.Unseal(data, pin)
			switch {
			case err == nil:
				if len(secret) == 0 || len(secret) > MaxSecretSize {
					t.Fatalf("unsealed a secret of %d bytes", len(secret))
				}
			case errors.Is(err, ErrCorrupt), errors.Is(err, ErrWrongPIN), errors.Is(err, ErrWrongDevice):
			default:
				t.Fatalf("undocumented error: %v", err)
			}
		}
	})
}

// withFixedChecksum returns data as is and, when it is long enough, with
// its last 32 bytes replaced by the right checksum: a fuzzer cannot forge
// SHA-256, and without this would never get past the checksum.
func withFixedChecksum(data []byte) [][]byte {
	if len(data) < checksumSize {
		return [][]byte{data}
	}
	return [][]byte{data, reseal(data)}
}

// TestWriteFuzzCorpus regenerates the seed corpus in testdata/fuzz when
// MUSTARD_WRITE_FUZZ_CORPUS=1: valid blobs of every kind (sealed with
// PIN "1234") and a few near misses. It opens the simulator: not parallel.
func TestWriteFuzzCorpus(t *testing.T) {
	if os.Getenv("MUSTARD_WRITE_FUZZ_CORPUS") != "1" {
		t.Skip("set MUSTARD_WRITE_FUZZ_CORPUS=1 to regenerate testdata/fuzz")
	}
	pin := []byte(fuzzPIN)
	sw, err := newTestSoftware().Seal([]byte("core secret"), pin)
	require.NoError(t, err)
	k := openSim(t, testSeed)
	sim, err := k.Seal([]byte("core secret"), pin)
	require.NoError(t, err)
	require.NoError(t, k.Close())

	flipped := bytes.Clone(sw)
	flipped[len(flipped)-checksumSize-1] ^= 1
	blobs := map[string][]byte{
		"software":           sw,
		"simulator":          sim,
		"software-truncated": sw[:len(sw)/2],
		"software-altered":   reseal(flipped),
		"simulator-v2":       reseal(append(append([]byte(nil), sim[:4]...), append([]byte{2}, sim[5:]...)...)),
	}
	write := func(target, name string, args ...[]byte) {
		dir := filepath.Join("testdata", "fuzz", target)
		require.NoError(t, os.MkdirAll(dir, 0o755))
		var buf bytes.Buffer
		buf.WriteString("go test fuzz v1\n")
		for _, a := range args {
			fmt.Fprintf(&buf, "[]byte(%s)\n", strconv.Quote(string(a)))
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), buf.Bytes(), 0o644))
	}
	for name, b := range blobs {
		write("FuzzParseBlob", name, b)
		write("FuzzUnsealSoftware", name, b, pin)
	}
	write("FuzzUnsealSoftware", "software-wrong-pin", sw, []byte("0000"))
}
