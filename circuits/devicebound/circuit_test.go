package devicebound

import (
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/test"
	"github.com/stretchr/testify/require"
)

func TestValidWitnessSolves(t *testing.T) {
	f := newFixture(t)
	require.NoError(t, Check(&f.pub, &f.priv, f.sig))
	w, _, err := Assign(&f.pub, &f.priv, f.sig)
	require.NoError(t, err)
	require.NoError(t, test.IsSolved(&Circuit{}, w, ecc.BN254.ScalarField()))
}

func TestCombSolves(t *testing.T) {
	f := newFixture(t)
	for _, p := range [][2]int{{1, 4}, {2, 4}, {1, 8}} {
		w := assignComb(t, f, p[0], p[1])
		require.NoError(t, test.IsSolved(newComb(p[0], p[1]), w, ecc.BN254.ScalarField()))
	}
}
