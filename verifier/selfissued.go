package verifier

import (
	"context"
	"crypto/subtle"
	"net/http"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/mustard-id/mustard/circuits/persona"
	"github.com/mustard-id/mustard/internal/problem"
	"github.com/mustard-id/mustard/zk"
)

// ProofMediaType is the media type of a self-issued persona proof.
const ProofMediaType = persona.MediaType

// SelfIssuer is the Verdict.Issuer of a self-issued proof: no issuer.
const SelfIssuer = "self-issued"

// Errors of the self-issued path.
var (
	ErrProof          = problem.New("invalid-proof", http.StatusUnauthorized, "The persona proof does not verify for its statement")
	ErrProofKey       = problem.New("unknown-verifying-key", http.StatusUnauthorized, "The proof names a verifying key this verifier does not use")
	ErrRegistryRoot   = problem.New("stale-registry-root", http.StatusUnauthorized, "The proof is for another registry root than the trust framework's")
	ErrRevocationRoot = problem.New("stale-revocation-root", http.StatusUnauthorized, "The proof is for another revocation root than the current one")
	ErrProofTime      = problem.New("stale-proof", http.StatusUnauthorized, "The proof's time is too old or in the future")
	ErrSelfIssued     = problem.New("self-issued-unsupported", http.StatusBadRequest, "This verifier is not configured for self-issued proofs")
	ErrHolderBinding  = problem.New("invalid-holder-binding", http.StatusUnauthorized, "The persona key does not match the proof's holder binding, or its proof of possession is not for this audience and nonce")
)

// proofCheck is a self-issued proof that passed every check but the
// Groth16 verification, with the verdict it earns if that passes.
type proofCheck struct {
	st      *persona.Statement
	keys    *zk.Keys // the persona circuit's, or a k-of-n circuit's
	k       int      // how many providers signed: 1 for the persona circuit
	verdict *Verdict
}

// checkProof runs every check of a self-issued proof but the pairing:
// verifying key, roots, time, scope, nonce, grade, required claims.
func (v *Verifier) checkProof(p *persona.ProofJSON, h Holder, policy Policy) (*proofCheck, error) {
	if (v.cfg.ZK == nil && len(v.cfg.ThresholdZK) == 0) || v.cfg.RegistryRoot == nil || v.cfg.RevocationRoot == nil {
		return nil, ErrSelfIssued
	}
	if policy.Audience == "" || policy.Nonce == "" || policy.Scope == "" {
		return nil, ErrInvalidRequest
	}
	if policy.DeviceBound {
		// A self-issued proof of the persona or a k-of-n circuit is never
		// device-bound; device-bound personas reach a relying party as
		// credentials whose issuer checked the TPM's part.
		return nil, ErrNotDeviceBound
	}
	st, err := persona.Decode(p)
	if err != nil {
		return nil, ErrMalformed
	}
	pub := &st.Public
	keys, k := v.proofKeys(st.VK)
	if keys == nil {
		return nil, ErrProofKey
	}
	if k < policy.MinProviders {
		return nil, ErrProviders
	}
	regRoot := v.cfg.RegistryRoot
	if k > 1 {
		regRoot = v.cfg.ThresholdRegistryRoot
	}
	if regRoot == nil || pub.RegistryRoot != regRoot() {
		return nil, ErrRegistryRoot
	}
	revRoot := v.cfg.RevocationRoot
	if k > 1 && v.cfg.ThresholdRevocationRoot != nil {
		revRoot = v.cfg.ThresholdRevocationRoot
	}
	if pub.RevocationRoot != revRoot() {
		return nil, ErrRevocationRoot
	}
	maxAge := policy.MaxAge
	if maxAge == 0 {
		maxAge = 5 * time.Minute
	}
	if d := v.cfg.Now().Sub(time.Unix(pub.Now, 0)); d > maxAge || d < -time.Minute {
		return nil, ErrProofTime
	}
	// The nonce is a public input: the proof is bound to it.
	if subtle.ConstantTimeCompare([]byte(st.Nonce), []byte(policy.Nonce)) != 1 {
		return nil, ErrNonce
	}
	if st.Scope != policy.Scope {
		return nil, ErrScope
	}
	if pub.MinGrade < zk.GradeLow || pub.MinGrade > zk.GradeHigh {
		return nil, ErrMalformed
	}
	if pub.MinGrade < policy.MinGrade {
		return nil, ErrGrade
	}
	bound := false
	switch {
	case h.Key != nil || h.PoP != "":
		if h.Key == nil {
			return nil, ErrHolderBinding
		}
		if err := checkHolder(h.Key, h.PoP, pub.HolderBinding, policy.Audience, st.Nonce); err != nil {
			return nil, err
		}
		bound = true
	case policy.RequireHolderBinding:
		return nil, ErrHolderBinding
	}
	claims := proofClaims(st)
	for _, c := range policy.RequiredClaims {
		if !present(claims[c]) {
			return nil, ErrMissingClaim
		}
	}
	return &proofCheck{st: st, keys: keys, k: k, verdict: &Verdict{
		Issuer: SelfIssuer, Scope: st.Scope, Pseudonym: zk.Hex(pub.Pseudonym),
		Grade: zk.GradeName(pub.MinGrade), Claims: claims, HolderBound: bound,
	}}, nil
}

// Holder is the persona key a self-issued proof commits to and its proof
// of possession (issuer.SignPossession(key, audience, nonce)); both empty
// when the holder does not bind the proof to the relying party.
type Holder struct {
	Key jwk.Key
	PoP string
}

// VerifyProof checks a self-issued persona proof (the holder presents the
// Groth16 proof and its statement itself, no issuer in the loop) against
// policy: this verifier's verifying key, the trust framework's registry
// root, the current revocation root, the proof's time within MaxAge, the
// nonce (a public input of the proof), the holder binding when given (or
// required), the scope, the minimum grade and the required claims, then
// the proof.
func (v *Verifier) VerifyProof(ctx context.Context, p *persona.ProofJSON, h Holder, policy Policy) (*Verdict, error) {
	c, err := v.checkProof(p, h, policy)
	if err != nil {
		return nil, err
	}
	// Any failure here, a proof that does not decode included, is the
	// proof's: the statement itself was checked above.
	if err := c.verify(); err != nil {
		return nil, ErrProof
	}
	return c.verdict, nil
}

func present(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case string:
		return x != ""
	case []any:
		return len(x) > 0
	case nil:
		return false
	}
	return true
}

// proofClaims names what a verified statement proves, as the persona
// credential would: every claim, visible or disclosable.
func proofClaims(st *persona.Statement) map[string]any {
	out, disclosable := persona.Claims(st)
	for k, v := range disclosable {
		out[k] = v
	}
	return out
}
