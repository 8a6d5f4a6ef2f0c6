package persona

import (
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

func TestConstraintCount(t *testing.T) {
	ccs, err := frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, &Circuit{})
	require.NoError(t, err)
	t.Logf("constraints=%d public=%d", ccs.GetNbConstraints(), ccs.GetNbPublicVariables())
}
