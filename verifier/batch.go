package verifier

import (
	"context"
	"errors"
	"runtime"
	"sync"

	"github.com/mustard-id/mustard/circuits/persona"
	"github.com/mustard-id/mustard/zk"
)

// MaxBatch bounds the presentations of one batch.
const MaxBatch = 256

// BatchItem is one presentation of a batch: an SD-JWT VC presentation, or
// (Proof set) a self-issued persona proof.
type BatchItem struct {
	Presentation string
	Proof        *persona.ProofJSON
	Holder       Holder // for a self-issued proof
	Policy       Policy
}

// BatchResult is one item's outcome: a Verdict, or an error whose problem
// type is the reason code.
type BatchResult struct {
	Verdict *Verdict
	Err     error
}

// VerifyBatch verifies many presentations at once. SD-JWT VC
// presentations are verified in parallel; self-issued proofs that pass
// their other checks are verified together with one Groth16 batch
// verification (zk.Keys.BatchVerify: n+3 Miller loops and one final
// exponentiation instead of 3n and n), which names the bad ones if the
// batch fails. Results are in the order of items.
func (v *Verifier) VerifyBatch(ctx context.Context, items []BatchItem) []BatchResult {
	out := make([]BatchResult, len(items))
	var proofs []int
	var checks []*proofCheck
	var jobs []int
	for n, it := range items {
		switch {
		case it.Proof != nil && it.Presentation != "":
			out[n].Err = ErrInvalidRequest
		case it.Proof != nil:
			c, err := v.checkProof(it.Proof, it.Holder, it.Policy)
			if err != nil {
				out[n].Err = err
				continue
			}
			if c.k > 1 {
				// A k-of-n proof has a verifying key of its own: outside
				// the persona circuit's batch.
				if c.verify() != nil {
					out[n].Err = ErrProof
				} else {
					out[n].Verdict = c.verdict
				}
				continue
			}
			proofs = append(proofs, n)
			checks = append(checks, c)
		default:
			jobs = append(jobs, n)
		}
	}

	var wg sync.WaitGroup
	next := make(chan int)
	for range min(runtime.GOMAXPROCS(0), len(jobs)) {
		wg.Go(func() {
			for n := range next {
				out[n].Verdict, out[n].Err = v.Verify(ctx, items[n].Presentation, items[n].Policy)
			}
		})
	}
	go func() {
		for _, n := range jobs {
			next <- n
		}
		close(next)
	}()

	if len(checks) > 0 {
		batch := make([]zk.BatchItem, len(checks))
		for k, c := range checks {
			batch[k] = zk.BatchItem{Proof: c.st.Proof, Public: persona.PublicAssignment(&c.st.Public)}
		}
		err := v.cfg.ZK.BatchVerify(batch)
		bad := map[int]bool{}
		var be *zk.BatchError
		switch {
		case err == nil:
		case errors.As(err, &be):
			for _, k := range be.Bad {
				bad[k] = true
			}
		default:
			for k := range checks {
				bad[k] = true
			}
		}
		for k, n := range proofs {
			if bad[k] {
				out[n].Err = ErrProof
			} else {
				out[n].Verdict = checks[k].verdict
			}
		}
	}
	wg.Wait()
	return out
}
