package zk

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/hash"
	"github.com/consensys/gnark/std/permutation/poseidon2"
	"github.com/stretchr/testify/require"
)

// preimage proves knowledge of x with H(TagHolder, x) = Y.
type preimage struct {
	X frontend.Variable
	Y frontend.Variable `gnark:",public"`
}

func (c *preimage) Define(api frontend.API) error {
	p, err := poseidon2.NewPoseidon2(api)
	if err != nil {
		return err
	}
	h := hash.NewMerkleDamgardHasher(api, p, 0)
	h.Write(TagHolder, c.X)
	api.AssertIsEqual(h.Sum(), c.Y)
	return nil
}

func ceremony(t *testing.T, parties int) (*Ceremony, *preimage) {
	t.Helper()
	ccs, err := Compile(&preimage{})
	require.NoError(t, err)
	c, err := InitCeremony(t.TempDir(), "preimage", ccs)
	require.NoError(t, err)
	for range parties {
		d, err := c.Contribute()
		require.NoError(t, err)
		require.Len(t, d, 64)
	}
	require.NoError(t, c.SealPhase1(ccs, []byte("beacon one")))
	for range parties {
		_, err := c.Contribute()
		require.NoError(t, err)
	}
	x := fr.NewElement(1234)
	return c, &preimage{X: x, Y: Hash(TagHolder, x)}
}

func TestCeremonyThreeParties(t *testing.T) {
	c, w := ceremony(t, 3)
	// Reopen from disk, as the exporting party would.
	c, err := OpenCeremony(c.Dir)
	require.NoError(t, err)
	ccs, err := Compile(&preimage{})
	require.NoError(t, err)
	k, err := c.Verify(ccs, []byte("beacon two"))
	require.NoError(t, err)
	proof, err := k.Prove(w)
	require.NoError(t, err)
	require.NoError(t, k.Verify(proof, &preimage{Y: w.Y}))
	require.ErrorIs(t, k.Verify(proof, &preimage{Y: fr.NewElement(1)}), ErrProof)

	// The keys survive a save and load.
	dir := t.TempDir()
	require.NoError(t, k.Save(dir))
	k2, err := loadKeys(dir, "preimage", ccs, k.Circuit)
	require.NoError(t, err)
	require.Equal(t, k.VKID, k2.VKID)
}

func TestCeremonyTamperedContribution(t *testing.T) {
	for _, phase := range []string{"phase1", "phase2"} {
		t.Run(phase, func(t *testing.T) {
			c, _ := ceremony(t, 3)
			path := filepath.Join(c.Dir, phase, "0002")
			b, err := os.ReadFile(path)
			require.NoError(t, err)
			// Replace the second contribution by the first: the chain of
			// updates breaks even though every point is valid.
			first, err := os.ReadFile(filepath.Join(c.Dir, phase, "0001"))
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(path, first, 0o644))
			ccs, err := Compile(&preimage{})
			require.NoError(t, err)
			_, err = c.Verify(ccs, []byte("beacon two"))
			require.ErrorIs(t, err, ErrCeremony)
			// And a flipped byte.
			b[len(b)/2] ^= 1
			require.NoError(t, os.WriteFile(path, b, 0o644))
			_, err = c.Verify(ccs, []byte("beacon two"))
			require.ErrorIs(t, err, ErrCeremony)
		})
	}
}

func TestCeremonyOrder(t *testing.T) {
	ccs, err := Compile(&preimage{})
	require.NoError(t, err)
	c, err := InitCeremony(t.TempDir(), "preimage", ccs)
	require.NoError(t, err)
	_, err = InitCeremony(c.Dir, "preimage", ccs)
	require.ErrorIs(t, err, ErrCeremony)
	require.ErrorIs(t, c.SealPhase1(ccs, []byte("b")), ErrCeremony) // no contribution yet
	_, err = c.Verify(ccs, []byte("b"))
	require.ErrorIs(t, err, ErrCeremony)
}
