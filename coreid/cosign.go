package coreid

import (
	"context"
	"crypto/hmac"
	"encoding/hex"
	"fmt"
	"net/http"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/mustard-id/mustard/internal/problem"
	"github.com/mustard-id/mustard/zk"
)

// Errors of a k-of-n enrollment, each a stable problem type: the wallet
// learns which field a co-signer would not sign.
var (
	ErrAttributesMismatch = problem.New("attributes-mismatch", http.StatusConflict, "The proposed attributes differ from what this provider derives from the source credentials")
	ErrGradeTooHigh       = problem.New("grade-too-high", http.StatusConflict, "The proposed grade is above what this provider assigns for these source credentials")
	ErrExpiryTooLate      = problem.New("expiry-too-late", http.StatusConflict, "The proposed expiry is past what this provider allows, or already past")
	ErrProposal           = problem.New("invalid-proposal", http.StatusBadRequest, "The proposed core credential is malformed")
)

// Proposal is the core credential a k-of-n enrollment's first provider
// (the lead) fixed, which every further provider (a co-signer) is asked
// to sign as well: one message, so that one credential carries K
// signatures.
type Proposal struct {
	Attrs    [zk.NumAttrs]fr.Element
	Grade    uint64
	Expiry   int64
	RevNonce fr.Element
}

// CosignRequest asks for a signature on a k-of-n core credential. Without
// a Proposal this provider leads: it signs the credential it derives
// itself, with a fresh revocation nonce, as Enroll does. With one, it
// co-signs: it derives the credential from the sources on its own and
// signs the proposal only if it agrees (see Cosign).
type CosignRequest struct {
	EnrollRequest
	// Salt is the wallet's salt (zk.ThresholdSalt): the credential's
	// revocation nonce is zk.ThresholdNonce(Commitment, Salt).
	Salt     fr.Element
	Proposal *Proposal
}

// Cosign verifies the source credentials itself, applies its own
// one-identity-per-person rule and signs the k-of-n core credential.
//
// A co-signer signs the proposal only if its attributes are exactly those
// it derives (the framework's claim mapping is deterministic, so honest
// providers agree: ErrAttributesMismatch otherwise), its grade is at most
// the grade it would assign (its own maximum grade and attestation rule
// included: ErrGradeTooHigh), and its expiry lies in the future and at
// most where its own would (ErrExpiryTooLate). The commitment and the
// device-key hash are the request's, which its own attestation ticket, if
// any, certified. No provider signs on another's word.
//
// The revocation nonce, zk.ThresholdNonce(Commitment, Salt), names the
// credential in every signer's store; it carries the k-of-n mark, so that
// every revocation path (Revoke) revokes it as a k-of-n credential
// (RevokeCredential). Because it is bound to the commitment, a person
// already enrolled here under this very nonce is answered again (a wallet
// retrying an enrollment that failed elsewhere, or lowering the grade to
// what a stricter co-signer assigns); under any other nonce, or with
// another commitment, the person is ErrDuplicate.
func (p *Provider) Cosign(ctx context.Context, req CosignRequest) (*Enrollment, error) {
	if req.Reenroll {
		return nil, fmt.Errorf("%w: re-enrollment is not offered for k-of-n credentials", ErrProposal)
	}
	now := p.cfg.Now()
	cred, srcs, maxGrade, err := p.derive(ctx, req.EnrollRequest, now)
	if err != nil {
		return nil, err
	}
	if req.Salt.IsZero() {
		return nil, fmt.Errorf("%w: no salt", ErrProposal)
	}
	cred.RevNonce = zk.ThresholdNonce(req.Commitment, req.Salt)
	if prop := req.Proposal; prop != nil {
		switch {
		case prop.RevNonce != cred.RevNonce:
			return nil, fmt.Errorf("%w: the revocation nonce is not zk.ThresholdNonce(commitment, salt)", ErrProposal)
		case prop.Attrs != cred.Attrs:
			return nil, ErrAttributesMismatch
		case prop.Grade > cred.Grade:
			return nil, ErrGradeTooHigh
		case prop.Expiry > cred.Expiry || prop.Expiry <= now.Unix():
			return nil, ErrExpiryTooLate
		}
		cred.Grade, cred.Expiry = prop.Grade, prop.Expiry
	}
	sig, err := p.cfg.Key.Sign(cred.Message())
	if err != nil {
		return nil, err
	}
	tags := p.tags(srcs)
	rn := cred.RevNonce.Bytes()
	if err := p.store.EnrollIdentity(ctx, tags, rn[:], now); err != nil {
		if !p.cfg.IsDuplicate(err) {
			return nil, err
		}
		for _, tag := range tags {
			held, _, err := p.store.Identity(ctx, tag)
			if err != nil || !hmac.Equal(held, rn[:]) {
				return nil, ErrDuplicate
			}
		}
	}
	return &Enrollment{Credential: cred, Signature: sig, ProviderKey: p.keyHex, MaxGrade: maxGrade, ValidUntil: p.entry.ValidUntil}, nil
}

// RevokeCredential revokes a k-of-n core credential this provider signed:
// it records zk.CredentialRevocationEntry(revNonce), which names the
// credential whoever else signed it, so the holder cannot escape it by
// proving with other signers. Each signature on the credential is also a
// single-provider credential (the persona circuit accepts any one), so it
// records that circuit's entry H(T_REVOKED, A.x, revNonce) for every
// provider key of the framework as well.
func (p *Provider) RevokeCredential(ctx context.Context, revNonce fr.Element, reason string) error {
	if err := p.revoke(ctx, zk.CredentialRevocationEntry(revNonce), reason); err != nil {
		return err
	}
	for _, pr := range p.cfg.Framework.Providers {
		kb, err := hex.DecodeString(pr.Key)
		if err != nil {
			continue // the framework parser refuses such keys
		}
		pk, err := zk.ParsePublicKey(kb)
		if err != nil {
			continue
		}
		if err := p.revoke(ctx, zk.RevocationEntry(pk, revNonce), reason); err != nil {
			return err
		}
	}
	return nil
}

// ProposalJSON is a Proposal on the wire.
type ProposalJSON struct {
	Attrs    []string `json:"attrs"`
	Grade    uint64   `json:"grade"`
	Expiry   int64    `json:"expiry"`
	RevNonce string   `json:"rev_nonce"`
}

// CosignBody is the JSON body of POST /v1/enroll/cosign: an enrollment
// body (sources, nonce, attestation, commitment, device-key hash: this
// provider's own) and, for a co-signer, the lead's credential fields.
type CosignBody struct {
	EnrollBody
	Salt     string        `json:"salt"` // hex zk.ThresholdSalt of the wallet
	Proposal *ProposalJSON `json:"proposal,omitempty"`
}

// ProposalOf returns the proposal a lead's credential makes.
func ProposalOf(c *zk.CoreCredential) *ProposalJSON {
	j := ToJSON(c)
	return &ProposalJSON{Attrs: j.Attrs, Grade: c.Grade, Expiry: c.Expiry, RevNonce: j.RevNonce}
}

// ParseProposal decodes a proposal from the wire.
func ParseProposal(j *ProposalJSON) (*Proposal, error) {
	if len(j.Attrs) != zk.NumAttrs {
		return nil, fmt.Errorf("%w: %d attributes, want %d", ErrProposal, len(j.Attrs), zk.NumAttrs)
	}
	var out Proposal
	var err error
	for i, a := range j.Attrs {
		if out.Attrs[i], err = zk.ParseHex(a); err != nil {
			return nil, fmt.Errorf("%w: attribute %d: %v", ErrProposal, i, err)
		}
	}
	if out.RevNonce, err = zk.ParseHex(j.RevNonce); err != nil {
		return nil, fmt.Errorf("%w: revocation nonce: %v", ErrProposal, err)
	}
	out.Grade, out.Expiry = j.Grade, j.Expiry
	return &out, nil
}

func (p *Provider) serveCosign(w http.ResponseWriter, r *http.Request) {
	var body CosignBody
	if err := problem.Decode(w, r, problem.MaxBody, &body); err != nil {
		problem.Write(w, r, err)
		return
	}
	req, err := enrollRequest(&body.EnrollBody)
	if err != nil {
		problem.Write(w, r, err)
		return
	}
	salt, err := zk.ParseHex(body.Salt)
	if err != nil {
		problem.Write(w, r, fmt.Errorf("%w: salt: %v", ErrProposal, err))
		return
	}
	cr := CosignRequest{EnrollRequest: req, Salt: salt}
	if body.Proposal != nil {
		if cr.Proposal, err = ParseProposal(body.Proposal); err != nil {
			problem.Write(w, r, err)
			return
		}
	}
	e, err := p.Cosign(r.Context(), cr)
	if err != nil {
		problem.Write(w, r, err)
		return
	}
	problem.JSON(w, http.StatusCreated, e.JSON())
}
