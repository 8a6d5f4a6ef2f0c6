package devicebound

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"
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

// TestConstraintCount pins the circuit's size to circuits/testdata/stats.csv
// (and docs/circuits.md): a change must be deliberate.
func TestConstraintCount(t *testing.T) {
	ccs, err := frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, &Circuit{})
	require.NoError(t, err)
	got := fmt.Sprintf("devicebound,%d,%d", ccs.GetNbConstraints(), ccs.GetNbPublicVariables()-1)
	t.Log(got)
	b, err := os.ReadFile("../testdata/stats.csv")
	require.NoError(t, err)
	require.Contains(t, strings.Split(strings.TrimSpace(string(b)), "\n"), got, "constraint count changed: update circuits/testdata/stats.csv and docs/circuits.md if this is intended")
	require.LessOrEqual(t, ccs.GetNbConstraints()-39385, 45000, "the device binding's budget is 45,000 constraints over the persona circuit")
}
