package threshold

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestValidWitnessSolves(t *testing.T) {
	for _, k := range []int{1, 2, 3, 5} {
		t.Run(fmt.Sprintf("K=%d", k), func(t *testing.T) {
			f := newFixture(t, k)
			require.NoError(t, Check(k, &f.pub, &f.priv))
			w, err := Assign(&f.pub, &f.priv)
			require.NoError(t, err)
			require.NoError(t, engineSolved(New(k), w))
		})
	}
}

// TestConstraintCount pins the circuit's size for K = 1, 2, 3, 5 to
// circuits/testdata/stats.csv (rows threshold-K): a change in constraints
// or public inputs must be deliberate, and the file and docs/circuits.md
// updated with it.
func TestConstraintCount(t *testing.T) {
	b, err := os.ReadFile("../testdata/stats.csv")
	require.NoError(t, err)
	rows := strings.Split(strings.TrimSpace(string(b)), "\n")
	counts := map[int]int{}
	for _, k := range []int{1, 2, 3, 5} {
		ccs := compiled(t, k)
		got := fmt.Sprintf("threshold-%d,%d,%d", k, ccs.GetNbConstraints(), ccs.GetNbPublicVariables()-1)
		t.Log(got)
		counts[k] = ccs.GetNbConstraints()
		require.Contains(t, rows, got, "constraint count changed: update circuits/testdata/stats.csv and docs/circuits.md if this is intended")
	}
	// Each extra signer costs the same: its signature, organisation
	// registry leaf and path, grade and time checks, plus two inequalities
	// (organisation and key) per earlier signer.
	per := counts[2] - counts[1]
	require.Equal(t, 2*per+2, counts[3]-counts[1])
	require.Equal(t, 4*per+2*(1+2+3), counts[5]-counts[1])
}
