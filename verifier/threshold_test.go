package verifier

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/circuits/persona"
	"github.com/mustard-id/mustard/zk"
)

// min_providers reaches the policy for self-issued proofs, bounded, and is
// refused for SD-JWT presentations (their issuer's policy decides).
func TestPolicyMinProviders(t *testing.T) {
	proof := &persona.ProofJSON{}
	for _, tc := range []struct {
		body VerifyJSON
		want int
		err  bool
	}{
		{VerifyJSON{Proof: proof, MinProviders: 2}, 2, false},
		{VerifyJSON{Proof: proof}, 0, false},
		{VerifyJSON{Proof: proof, MinProviders: 16}, 16, false},
		{VerifyJSON{Proof: proof, MinProviders: 17}, 0, true},
		{VerifyJSON{Proof: proof, MinProviders: -1}, 0, true},
		{VerifyJSON{Presentation: "x~", MinProviders: 2}, 0, true},
		{VerifyJSON{Presentation: "x~", MinProviders: 1}, 1, false},
	} {
		pol, err := policyOf(&tc.body)
		if tc.err {
			require.ErrorIs(t, err, ErrInvalidRequest, "%+v", tc.body)
			continue
		}
		require.NoError(t, err)
		require.Equal(t, tc.want, pol.MinProviders)
	}
}

// proofKeys finds a proof's keys by verifying-key id and says how many
// providers they stand for; an unknown id finds nothing.
func TestProofKeys(t *testing.T) {
	one, two, three := &zk.Keys{VKID: "sha256:1"}, &zk.Keys{VKID: "sha256:2"}, &zk.Keys{VKID: "sha256:3"}
	v := &Verifier{cfg: Config{ZK: one, ThresholdZK: map[int]*zk.Keys{2: two, 3: three}}}
	for _, tc := range []struct {
		id   string
		keys *zk.Keys
		k    int
	}{{"sha256:1", one, 1}, {"sha256:2", two, 2}, {"sha256:3", three, 3}, {"sha256:4", nil, 0}, {"", nil, 0}} {
		keys, k := v.proofKeys(tc.id)
		require.Same(t, tc.keys, keys, tc.id)
		require.Equal(t, tc.k, k, tc.id)
	}
	keys, _ := (&Verifier{}).proofKeys("sha256:1")
	require.Nil(t, keys)
}
