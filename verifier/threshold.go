package verifier

import (
	"net/http"

	"github.com/mustard-id/mustard/circuits/persona"
	"github.com/mustard-id/mustard/circuits/threshold"
	"github.com/mustard-id/mustard/internal/problem"
	"github.com/mustard-id/mustard/zk"
)

// ErrProviders refuses a self-issued proof whose core credential fewer
// providers signed than the policy's MinProviders (a persona-circuit
// proof, or a k-of-n proof of a smaller K).
var ErrProviders = problem.New("too-few-providers", http.StatusUnauthorized, "The proof's core credential is signed by fewer distinct accredited providers than this relying party requires")

// proofKeys returns the keys that verify proofs naming vkID and how many
// providers such a proof stands for; nil when this verifier has no such
// key.
func (v *Verifier) proofKeys(vkID string) (*zk.Keys, int) {
	if v.cfg.ZK != nil && vkID == v.cfg.ZK.VKID {
		return v.cfg.ZK, 1
	}
	for k, keys := range v.cfg.ThresholdZK {
		if keys != nil && k >= 1 && vkID == keys.VKID {
			return keys, k
		}
	}
	return nil, 0
}

// verify runs the Groth16 verification under the proof's own circuit.
func (c *proofCheck) verify() error {
	if c.k > 1 {
		return c.keys.Verify(c.st.Proof, threshold.PublicAssignment(c.k, &c.st.Public))
	}
	return c.keys.Verify(c.st.Proof, persona.PublicAssignment(&c.st.Public))
}
