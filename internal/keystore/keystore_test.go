package keystore

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestOpen points the default device at a path that does not exist, so
// it runs the same with or without a TPM on the machine. It touches a
// package variable and opens the simulator: not parallel.
func TestOpen(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "tpmrm0")
	saved := defaultDevice
	defaultDevice = missing
	t.Cleanup(func() { defaultDevice = saved })

	_, err := Open(Options{})
	require.ErrorIs(t, err, ErrNoTPM)

	s, err := Open(Options{AllowSoftware: true})
	require.NoError(t, err)
	require.Equal(t, KindSoftware, s.Kind())
	require.NoError(t, s.Close())

	s, err = Open(Options{Simulator: true, SimulatorSeed: testSeed, AllowSoftware: true})
	require.NoError(t, err)
	require.Equal(t, KindSimulator, s.Kind())
	require.NoError(t, s.Close())

	// A device given explicitly is never replaced by a fallback.
	_, err = Open(Options{Device: missing, Simulator: true, AllowSoftware: true})
	require.ErrorIs(t, err, ErrNoTPM)
	_, err = OpenTPM(missing)
	require.ErrorIs(t, err, ErrNoTPM)
}

func TestKindHardwareBacked(t *testing.T) {
	t.Parallel()
	require.True(t, KindTPM.HardwareBacked())
	require.False(t, KindSimulator.HardwareBacked())
	require.False(t, KindSoftware.HardwareBacked())
}
