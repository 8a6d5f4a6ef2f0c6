package issuer

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/mustard-id/mustard/internal/sdjwt"
	"github.com/mustard-id/mustard/internal/statuslist"
	"github.com/mustard-id/mustard/zk"
)

// TypeValidation is the typ of a validation answer (a JWT).
const TypeValidation = "mustard-validation+jwt"

// ValidationTTL is how long a validation answer is valid.
const ValidationTTL = 5 * time.Minute

// ValidationRequest asks for the current status and grade of a persona
// credential (as issued, any Disclosures, no Key Binding JWT) or of the
// latest credential issued for a pseudonym (hex, as in the credential).
// Nonce and Audience, when set, are echoed in the answer so that a
// relying party can tell a fresh answer addressed to it.
type ValidationRequest struct {
	Credential string `json:"credential,omitempty"`
	Pseudonym  string `json:"pseudonym,omitempty"`
	Nonce      string `json:"nonce,omitempty"`
	Audience   string `json:"audience,omitempty"`
}

// validationClaims is the payload of a validation answer.
type validationClaims struct {
	Iss        string         `json:"iss"`
	Aud        string         `json:"aud,omitempty"`
	Iat        int64          `json:"iat"`
	Exp        int64          `json:"exp"`
	Sub        string         `json:"sub"`    // the pseudonym
	Status     string         `json:"status"` // valid, revoked, suspended, expired
	Grade      string         `json:"grade"`
	CredExp    int64          `json:"credential_exp"`
	StatusList map[string]any `json:"status_list"`
	Nonce      string         `json:"nonce,omitempty"`
}

// Validate answers a validation request with a JWT signed by the issuer's
// current key (typ mustard-validation+jwt): the pseudonym, the status
// (valid, revoked, suspended, or expired), the grade, the credential's
// expiry and status-list entry, valid for ValidationTTL.
func (i *Issuer) Validate(ctx context.Context, req ValidationRequest) (string, error) {
	if (req.Credential == "") == (req.Pseudonym == "") || len(req.Nonce) > 128 || len(req.Audience) > 255 || len(req.Credential) > MaxRequest {
		return "", ErrValidation
	}
	now := i.cfg.Now()
	var idx int64
	pseudonym := req.Pseudonym
	if req.Credential != "" {
		res, err := i.ownCredential(ctx, req.Credential, true)
		if err != nil {
			return "", ErrCredential
		}
		ref, err := i.parseStatusClaim(res.Claims["status"])
		if err != nil {
			return "", ErrCredential
		}
		idx = ref.List*ListSize + ref.Index
		pseudonym, _ = res.Claims["pseudonym"].(string)
	} else {
		p, err := zk.ParseHex(pseudonym)
		if err != nil {
			return "", ErrValidation
		}
		pb := p.Bytes()
		if idx, err = i.store.LatestByPseudonym(ctx, pb[:]); err != nil {
			if i.cfg.IsNotFound(err) {
				return "", ErrUnknownPseudonym
			}
			return "", err
		}
		pseudonym = zk.Hex(p)
	}
	st, grade, exp, err := i.store.ValidationByIndex(ctx, idx)
	if err != nil {
		if i.cfg.IsNotFound(err) {
			return "", ErrCredential
		}
		return "", err
	}
	status := statuslist.Status(st).String()
	if st == uint8(statuslist.Valid) && !now.Before(exp) {
		status = "expired"
	}
	ref := i.StatusRef(idx)
	return i.signJWT(TypeValidation, validationClaims{
		Iss: i.cfg.ID, Aud: req.Audience, Iat: now.Unix(), Exp: now.Add(ValidationTTL).Unix(),
		Sub: pseudonym, Status: status, Grade: zk.GradeName(grade), CredExp: exp.Unix(),
		StatusList: ref.Claim()["status_list"].(map[string]any), Nonce: req.Nonce,
	}, false)
}

// ownCredential verifies a credential this issuer signed (with any of its
// published keys), not key-bound. With expiredOK an expired credential is
// still accepted (its signature checked as of its issuance).
func (i *Issuer) ownCredential(ctx context.Context, credential string, expiredOK bool) (*sdjwt.Verified, error) {
	tok, err := sdjwt.Parse(credential)
	if err != nil || tok.KeyBinding != "" {
		return nil, ErrCredential
	}
	set, err := i.PublicKeys()
	if err != nil {
		return nil, err
	}
	opts := sdjwt.VerifyOptions{IssuerKeys: sdjwt.StaticKeys(i.cfg.ID, set), VCT: VCT, Now: i.cfg.Now(), Skew: i.cfg.ClockSkew}
	res, err := sdjwt.Verify(ctx, credential, opts)
	if errors.Is(err, sdjwt.ErrExpired) && expiredOK {
		// Verified as of a second before expiry: the signature and every
		// other rule are checked, only the clock is set back.
		if exp, ok := unverifiedExpiry(tok.JWT); ok {
			opts.Now = exp.Add(-time.Second)
			res, err = sdjwt.Verify(ctx, credential, opts)
		}
	}
	if err != nil || res.HolderKey == nil {
		return nil, ErrCredential
	}
	return res, nil
}

// unverifiedExpiry reads the exp claim of a compact JWS without verifying
// it (the caller verifies right after).
func unverifiedExpiry(compact string) (time.Time, bool) {
	parts := strings.Split(compact, ".")
	if len(parts) != 3 {
		return time.Time{}, false
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return time.Time{}, false
	}
	var c struct {
		Exp int64 `json:"exp"`
	}
	if json.Unmarshal(b, &c) != nil || c.Exp <= 0 || c.Exp > 1<<40 {
		return time.Time{}, false
	}
	return time.Unix(c.Exp, 0), true
}
