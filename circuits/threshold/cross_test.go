package threshold

import (
	"fmt"
	mrand "math/rand/v2"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	tedwards "github.com/consensys/gnark-crypto/ecc/twistededwards"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"
	"github.com/consensys/gnark/std/algebra/native/twistededwards"
	"github.com/consensys/gnark/std/hash"
	"github.com/consensys/gnark/std/math/bits"
	"github.com/consensys/gnark/std/math/cmp"
	"github.com/consensys/gnark/std/permutation/poseidon2"
	"github.com/consensys/gnark/std/signature/eddsa"
	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/circuits/internal/gadget"
	"github.com/mustard-id/mustard/circuits/persona"
	"github.com/mustard-id/mustard/zk"
)

// entryCircuit recomputes zk.CredentialRevocationEntry in-circuit.
type entryCircuit struct {
	Nonce frontend.Variable
	Entry frontend.Variable `gnark:",public"`
}

func (c *entryCircuit) Define(api frontend.API) error {
	p2, err := poseidon2.NewPoseidon2(api)
	if err != nil {
		return err
	}
	api.AssertIsEqual(gadget.Hash(api, p2, zk.TagRevokedCredential, c.Nonce), c.Entry)
	return nil
}

func TestCrossRevocationEntry(t *testing.T) {
	for range 4 {
		n := randElement(t)
		ok := &entryCircuit{Nonce: n, Entry: zk.CredentialRevocationEntry(n)}
		require.NoError(t, engineSolved(&entryCircuit{}, ok))
		bad := &entryCircuit{Nonce: n, Entry: zk.Hash(zk.TagRevoked, n)} // another tag
		require.Error(t, engineSolved(&entryCircuit{}, bad))
	}
}

// signerCircuit is one iteration of Define's signer loop without the
// distinctness checks: what each extra provider costs.
type signerCircuit struct {
	M, Root, Grade, Now frontend.Variable
	S                   Signer
}

func (c *signerCircuit) Define(api frontend.API) error {
	p2, err := poseidon2.NewPoseidon2(api)
	if err != nil {
		return err
	}
	curve, err := twistededwards.NewEdCurve(api, tedwards.BN254)
	if err != nil {
		return err
	}
	s := &c.S
	if err := eddsa.Verify(curve, s.Signature, c.M, s.Key, hash.NewMerkleDamgardHasher(api, p2, 0)); err != nil {
		return err
	}
	leaf := gadget.Hash(api, p2, zk.TagProviderOrg, s.Key.A.X, s.Key.A.Y, s.MaxGrade, s.ValidUntil, s.Org)
	api.AssertIsEqual(gadget.MerkleRoot(api, p2, leaf, s.RegistryIndex, s.RegistryPath[:]), c.Root)
	gadget.RangeCheck(api, s.MaxGrade, GradeBits)
	gadget.RangeCheck(api, api.Sub(s.MaxGrade, c.Grade), GradeBits)
	gadget.RangeCheck(api, s.ValidUntil, TimeBits)
	gadget.RangeCheck(api, api.Sub(s.ValidUntil, c.Now), TimeBits)
	return nil
}

// TestSignerCost checks that the marginal cost of a signer is its part of
// the loop plus two inequalities (organisation and key) per earlier
// signer, and that K = 1 costs what the persona circuit does: its
// registry leaf hashes one element more (the organisation), its
// revocation entry one fewer.
func TestSignerCost(t *testing.T) {
	ccs, err := frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, &signerCircuit{}, frontend.IgnoreUnconstrainedInputs())
	require.NoError(t, err)
	signer := ccs.GetNbConstraints()
	t.Logf("one signer: %d constraints", signer)
	n := func(k int) int { return compiled(t, k).GetNbConstraints() }
	// The K-th signer costs one signer and 2(K-1) inequalities.
	require.Equal(t, signer+2, n(2)-n(1))
	require.Equal(t, signer+4, n(3)-n(2))
	require.Equal(t, 2*signer+2*(3+4), n(5)-n(3))

	pccs, err := zk.Compile(&persona.Circuit{})
	require.NoError(t, err)
	// H(T_REVOKED, pk.x, revNonce) takes one Poseidon2 compression more
	// than H(T_REVOKED_CREDENTIAL, revNonce), H(T_PROVIDER_ORG, 5) one more
	// than H(T_PROVIDER, 4); everything else is the same.
	require.Equal(t, pccs.GetNbConstraints(), compiled(t, 1).GetNbConstraints())
	require.Equal(t, pccs.GetNbPublicVariables(), compiled(t, 1).GetNbPublicVariables())
}

// distinctCircuit compares K field elements by one of three methods.
type distinctCircuit struct {
	X      []frontend.Variable
	method string
}

func (c *distinctCircuit) Define(api frontend.API) error {
	switch c.method {
	case "pairwise":
		for i := range c.X {
			for j := range i {
				api.AssertIsDifferent(c.X[i], c.X[j])
			}
		}
	case "sorted-cmp":
		for i := 1; i < len(c.X); i++ {
			api.AssertIsEqual(api.Cmp(c.X[i-1], c.X[i]), -1)
		}
	case "sorted-binary":
		// One canonical decomposition per element, shared by its two
		// neighbours' comparisons.
		bs := make([][]frontend.Variable, len(c.X))
		for i, x := range c.X {
			bs[i] = bits.ToBinary(api, x)
		}
		for i := 1; i < len(c.X); i++ {
			api.AssertIsEqual(cmp.IsLessBinary(api, bs[i-1], bs[i]), 1)
		}
	}
	return nil
}

// TestDistinctnessCost measures the three ways of proving K keys pairwise
// distinct (docs/circuits.md quotes the figures): K(K-1)/2 inequalities
// cost one constraint each, far below K-1 full-width comparisons for any K
// this profile is meant for.
func TestDistinctnessCost(t *testing.T) {
	for _, k := range []int{2, 3, 5, 16} {
		costs := map[string]int{}
		for _, m := range []string{"pairwise", "sorted-cmp", "sorted-binary"} {
			ccs, err := frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, &distinctCircuit{X: make([]frontend.Variable, k), method: m})
			require.NoError(t, err)
			costs[m] = ccs.GetNbConstraints()
		}
		t.Logf("K=%d: %v", k, costs)
		require.Equal(t, k*(k-1)/2, costs["pairwise"])
		require.Less(t, costs["pairwise"], costs["sorted-binary"])
		require.Less(t, costs["sorted-binary"], costs["sorted-cmp"])
	}
}

// TestCheckAgreesWithCircuit applies random sequences of edits, valid and
// invalid, to the witness and statement, and requires Check and the
// circuit to agree on every result.
func TestCheckAgreesWithCircuit(t *testing.T) {
	edits := []struct {
		name string
		do   func(t *testing.T, f *fixture, r *mrand.Rand)
	}{
		{"swap two slots", func(t *testing.T, f *fixture, r *mrand.Rand) {
			i, j := r.IntN(f.k), r.IntN(f.k)
			f.priv.Endorsements[i], f.priv.Endorsements[j] = f.priv.Endorsements[j], f.priv.Endorsements[i]
		}},
		{"slot takes any of the n endorsements", func(t *testing.T, f *fixture, r *mrand.Rand) {
			f.priv.Endorsements[r.IntN(f.k)] = f.all[r.IntN(f.n)]
		}},
		{"slot takes another slot's endorsement", func(t *testing.T, f *fixture, r *mrand.Rand) {
			f.priv.Endorsements[r.IntN(f.k)] = f.priv.Endorsements[r.IntN(f.k)]
		}},
		{"signature byte flipped", func(t *testing.T, f *fixture, r *mrand.Rand) {
			e := &f.priv.Endorsements[r.IntN(f.k)]
			e.Signature = append([]byte(nil), e.Signature...)
			e.Signature[32+r.IntN(32)] ^= byte(1 << r.IntN(8))
		}},
		{"registry index aliased above 2^16", func(t *testing.T, f *fixture, r *mrand.Rand) {
			f.priv.Endorsements[r.IntN(f.k)].Registry.Index += 1 << RegistryDepth
		}},
		{"registry index of another leaf", func(t *testing.T, f *fixture, r *mrand.Rand) {
			e := &f.priv.Endorsements[r.IntN(f.k)]
			e.Registry = f.reg.Path(uint64(r.IntN(f.n + 2)))
		}},
		{"a signer's maximum grade", func(t *testing.T, f *fixture, r *mrand.Rand) {
			f.grades[r.IntN(f.n)] = []uint64{zk.GradeLow, zk.GradeSubstantial, zk.GradeHigh, 255, 256, 300}[r.IntN(6)]
			f.register(t)
		}},
		{"a signer's validity", func(t *testing.T, f *fixture, r *mrand.Rand) {
			f.valid[r.IntN(f.n)] = f.now + []int64{-1, 0, 1, 1 << 40, -f.now - 1}[r.IntN(5)]
			f.register(t)
		}},
		{"credential grade", func(t *testing.T, f *fixture, r *mrand.Rand) {
			f.priv.Credential.Grade = []uint64{zk.GradeLow, zk.GradeSubstantial, zk.GradeHigh, 255, 256}[r.IntN(5)]
			f.resign(t)
		}},
		{"credential expiry", func(t *testing.T, f *fixture, r *mrand.Rand) {
			f.priv.Credential.Expiry = f.now + []int64{-1, 0, 1, 1 << 40}[r.IntN(4)]
			f.resign(t)
		}},
		{"revoke the credential", func(t *testing.T, f *fixture, r *mrand.Rand) {
			if !f.rev.Contains(f.revEntry()) {
				require.NoError(t, f.rev.Insert(f.revEntry()))
			}
			f.pub.RevocationRoot = f.rev.Root()
		}},
		{"revoke something else and refresh the witness", func(t *testing.T, f *fixture, r *mrand.Rand) {
			require.NoError(t, f.rev.Insert(randElement(t)))
			if !f.rev.Contains(f.revEntry()) {
				f.proveAbsent(t)
			}
		}},
		{"minimum grade", func(t *testing.T, f *fixture, r *mrand.Rand) {
			f.pub.MinGrade = uint64(r.IntN(5))
		}},
	}
	r := mrand.New(mrand.NewPCG(1, 2))
	for _, k := range []int{1, 2, 3} {
		for trial := range 20 {
			seed1, seed2 := r.Uint64(), r.Uint64()
			t.Run(fmt.Sprintf("K=%d/%d", k, trial), func(t *testing.T) {
				t.Parallel()
				r := mrand.New(mrand.NewPCG(seed1, seed2))
				f := newFixture(t, k)
				var applied []string
				for range 1 + r.IntN(3) {
					e := edits[r.IntN(len(edits))]
					applied = append(applied, e.name)
					e.do(t, f, r)
				}
				checkErr := Check(k, &f.pub, &f.priv)
				w, err := assignNoPanic(&f.pub, &f.priv)
				require.NoError(t, err)
				solveErr := solveBoth(t, k, w)
				require.Equal(t, checkErr == nil, solveErr == nil, "edits %v: Check: %v; circuit: %v", applied, checkErr, solveErr)
			})
		}
	}
}
