package zk

import (
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"runtime"
	"sync"

	"github.com/consensys/gnark-crypto/ecc"
	curve "github.com/consensys/gnark-crypto/ecc/bn254"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	groth16bn254 "github.com/consensys/gnark/backend/groth16/bn254"
	"github.com/consensys/gnark/frontend"
)

// BatchItem is one proof and its public assignment.
type BatchItem struct {
	Proof  []byte
	Public frontend.Circuit
}

// BatchError lists the items of a batch that do not verify.
type BatchError struct{ Bad []int }

func (e *BatchError) Error() string {
	return fmt.Sprintf("zk: %d proof(s) in the batch do not verify", len(e.Bad))
}

// Unwrap makes errors.Is(err, ErrProof) true.
func (e *BatchError) Unwrap() error { return ErrProof }

// BatchVerify checks many proofs under k's verifying key at once. With
// random 128-bit r_i it checks the single equation
//
//	Π e(r_i·A_i, B_i) · e(−Σ r_i·L_i, γ) · e(−Σ r_i·C_i, δ) · e(−(Σ r_i)·α, β) = 1
//
// where L_i = K_0 + Σ_j x_ij·K_j: n+3 Miller loops and one final
// exponentiation instead of 3n and n. A false proof passes with
// probability at most about 2^-128. When the batch fails, each proof is
// verified alone and the error is a *BatchError naming the bad ones.
func (k *Keys) BatchVerify(items []BatchItem) error {
	if len(items) == 0 {
		return nil
	}
	vk, ok := k.VK.(*groth16bn254.VerifyingKey)
	if !ok || len(vk.PublicAndCommitmentCommitted) != 0 || len(items) == 1 {
		return k.verifyEach(items)
	}
	if err := k.batch(vk, items); err == nil {
		return nil
	}
	return k.verifyEach(items)
}

func (k *Keys) verifyEach(items []BatchItem) error {
	var bad []int
	for i, it := range items {
		if err := k.Verify(it.Proof, it.Public); err != nil {
			bad = append(bad, i)
		}
	}
	if bad != nil {
		return &BatchError{Bad: bad}
	}
	return nil
}

var errBatch = errors.New("zk: batch equation does not hold")

// batchPart is one worker's share of a batch.
type batchPart struct {
	rSum    fr.Element
	pubSums []fr.Element // Σ_i r_i·x_ij over the worker's items
	rs      []fr.Element
	cs      []curve.G1Affine
	ml      curve.GT // Π e(r_i·A_i, B_i) before the final exponentiation
	err     error
}

func (k *Keys) batch(vk *groth16bn254.VerifyingKey, items []BatchItem) error {
	nbPub := len(vk.G1.K) - 1
	workers := min(runtime.GOMAXPROCS(0), (len(items)+7)/8)
	parts := make([]batchPart, workers)
	var wg sync.WaitGroup
	for w := range parts {
		lo, hi := w*len(items)/workers, (w+1)*len(items)/workers
		wg.Add(1)
		go func() {
			defer wg.Done()
			parts[w] = batchShare(items[lo:hi], nbPub)
		}()
	}
	wg.Wait()

	var rSum fr.Element
	pubSums := make([]fr.Element, nbPub)
	var rs []fr.Element
	var cs []curve.G1Affine
	var acc curve.GT
	acc.SetOne()
	for _, p := range parts {
		if p.err != nil {
			return p.err
		}
		rSum.Add(&rSum, &p.rSum)
		for j := range pubSums {
			pubSums[j].Add(&pubSums[j], &p.pubSums[j])
		}
		rs = append(rs, p.rs...)
		cs = append(cs, p.cs...)
		acc.Mul(&acc, &p.ml)
	}
	cfg := ecc.MultiExpConfig{}
	// Σ r_i·L_i = (Σ r_i)·K_0 + Σ_j (Σ_i r_i·x_ij)·K_j
	var l, k0 curve.G1Affine
	if _, err := l.MultiExp(vk.G1.K[1:], pubSums, cfg); err != nil {
		return err
	}
	var rs0 big.Int
	rSum.BigInt(&rs0)
	k0.ScalarMultiplication(&vk.G1.K[0], &rs0)
	l.Add(&l, &k0)
	var c curve.G1Affine
	if _, err := c.MultiExp(cs, rs, cfg); err != nil {
		return err
	}
	var alpha curve.G1Affine
	alpha.ScalarMultiplication(&vk.G1.Alpha, &rs0)
	l.Neg(&l)
	c.Neg(&c)
	alpha.Neg(&alpha)
	ml, err := curve.MillerLoop([]curve.G1Affine{l, c, alpha}, []curve.G2Affine{vk.G2.Gamma, vk.G2.Delta, vk.G2.Beta})
	if err != nil {
		return err
	}
	acc.Mul(&acc, &ml)
	if fe := curve.FinalExponentiation(&acc); !fe.IsOne() {
		return errBatch
	}
	return nil
}

// batchShare decodes its items (the decoder checks that every point is on
// the curve and in its subgroup), draws their r_i and runs their Miller
// loops.
func batchShare(items []BatchItem, nbPub int) (p batchPart) {
	p.pubSums = make([]fr.Element, nbPub)
	p.rs = make([]fr.Element, len(items))
	p.cs = make([]curve.G1Affine, len(items))
	as := make([]curve.G1Affine, len(items))
	bs := make([]curve.G2Affine, len(items))
	var buf [16]byte
	for i, it := range items {
		raw, err := ParseProof(it.Proof)
		if err != nil {
			p.err = err
			return p
		}
		proof := raw.(*groth16bn254.Proof)
		if len(proof.Commitments) != 0 {
			p.err = errBatch
			return p
		}
		w, err := PublicWitness(it.Public)
		if err != nil {
			p.err = err
			return p
		}
		xs, ok := w.Vector().(fr.Vector)
		if !ok || len(xs) != nbPub {
			p.err = errBatch
			return p
		}
		if _, err := rand.Read(buf[:]); err != nil {
			p.err = err
			return p
		}
		p.rs[i].SetBytes(buf[:])
		p.rSum.Add(&p.rSum, &p.rs[i])
		for j := range xs {
			var t fr.Element
			t.Mul(&p.rs[i], &xs[j])
			p.pubSums[j].Add(&p.pubSums[j], &t)
		}
		var r big.Int
		p.rs[i].BigInt(&r)
		as[i].ScalarMultiplication(&proof.Ar, &r)
		bs[i] = proof.Bs
		p.cs[i] = proof.Krs
	}
	p.ml, p.err = curve.MillerLoop(as, bs)
	return p
}
