package persona

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
	require.NoError(t, Check(&f.pub, &f.priv))
	w, err := Assign(&f.pub, &f.priv)
	require.NoError(t, err)
	require.NoError(t, test.IsSolved(&Circuit{}, w, ecc.BN254.ScalarField()))
}

// TestConstraintCount pins the circuit's size to circuits/testdata/stats.csv:
// a change in constraints or public inputs must be deliberate, and the file
// (and docs/circuits.md) updated with it.
func TestConstraintCount(t *testing.T) {
	ccs, err := frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, &Circuit{})
	require.NoError(t, err)
	got := fmt.Sprintf("persona,%d,%d", ccs.GetNbConstraints(), ccs.GetNbPublicVariables()-1)
	t.Log(got)
	b, err := os.ReadFile("../testdata/stats.csv")
	require.NoError(t, err)
	require.Contains(t, strings.Split(strings.TrimSpace(string(b)), "\n"), got, "constraint count changed: update circuits/testdata/stats.csv and docs/circuits.md if this is intended")
	require.LessOrEqual(t, ccs.GetNbConstraints(), 40000, "the persona circuit's budget is 40,000 constraints")
}
