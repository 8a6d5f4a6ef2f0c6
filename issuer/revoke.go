package issuer

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/mustard-id/mustard/internal/statuslist"
)

// RevokeNoncePurpose namespaces the nonces of holder self-revocation.
const RevokeNoncePurpose = "issuer-revoke"

// TypeRevocation is the typ of a holder's revocation request JWT.
const TypeRevocation = "mustard-revoke+jwt"

// revokeClaims is the payload of a holder's revocation request: the
// credential's status reference, the issuer, a fresh nonce of the issuer's.
type revokeClaims struct {
	Aud    string          `json:"aud"`
	Nonce  string          `json:"nonce"`
	Iat    int64           `json:"iat"`
	Status revokeStatusRef `json:"status_list"`
}

type revokeStatusRef struct {
	Idx int64  `json:"idx"`
	URI string `json:"uri"`
}

// SignRevocation signs a holder's request to revoke its own credential:
// an ES256 JWS (typ mustard-revoke+jwt) by the persona key (the
// credential's cnf) over the issuer aud, the issuer's nonce and the
// credential's status reference (idx and uri of its status claim).
func SignRevocation(personaKey jwk.Key, aud, nonce string, idx int64, uri string, now time.Time) (string, error) {
	payload, _ := json.Marshal(revokeClaims{Aud: aud, Nonce: nonce, Iat: now.Unix(), Status: revokeStatusRef{Idx: idx, URI: uri}})
	hdr := jws.NewHeaders()
	_ = hdr.Set(jws.TypeKey, TypeRevocation)
	b, err := jws.Sign(payload, jws.WithKey(jwa.ES256, personaKey, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		return "", fmt.Errorf("issuer: sign revocation: %w", err)
	}
	return string(b), nil
}

// RevocationNonce issues a single-use nonce for one holder revocation.
func (i *Issuer) RevocationNonce(ctx context.Context) (string, time.Time, error) {
	exp := i.cfg.Now().Add(i.cfg.NonceTTL)
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", exp, err
	}
	n := base64.RawURLEncoding.EncodeToString(b)
	if err := i.store.CreateNonce(ctx, RevokeNoncePurpose, n, exp); err != nil {
		return "", exp, err
	}
	return n, exp, nil
}

// RevokeOwn revokes a credential at its holder's request. credential is
// the SD-JWT VC as issued (any subset of its Disclosures, no Key Binding
// JWT); proof is SignRevocation by its persona key for this issuer and a
// nonce from RevocationNonce. Nothing changes (the nonce is not consumed)
// unless every check passes.
func (i *Issuer) RevokeOwn(ctx context.Context, credential, proof string) (StatusRef, error) {
	now := i.cfg.Now()
	res, err := i.ownCredential(ctx, credential, false)
	if err != nil {
		return StatusRef{}, err
	}
	ref, err := i.parseStatusClaim(res.Claims["status"])
	if err != nil {
		return StatusRef{}, ErrCredential
	}
	c, err := verifyRevocation(res.HolderKey, proof)
	if err != nil {
		return StatusRef{}, err
	}
	if c.Aud != i.cfg.ID || c.Status.Idx != ref.Index || c.Status.URI != ref.URI {
		return StatusRef{}, ErrRevocationPoP
	}
	if d := time.Unix(c.Iat, 0).Sub(now); d > i.cfg.ClockSkew || d < -i.cfg.NonceTTL-i.cfg.ClockSkew {
		return StatusRef{}, ErrRevocationPoP
	}
	if len(c.Nonce) == 0 || len(c.Nonce) > 64 {
		return StatusRef{}, ErrNonce
	}
	if err := i.store.ConsumeNonce(ctx, RevokeNoncePurpose, c.Nonce, now); err != nil {
		return StatusRef{}, ErrNonce
	}
	if err := i.SetStatus(ctx, ref.List*ListSize+ref.Index, statuslist.Invalid); err != nil && !errors.Is(err, ErrStatusFinal) {
		return StatusRef{}, err
	}
	return ref, nil
}

// parseStatusClaim reads a credential's status claim, which must point
// into one of this issuer's lists.
func (i *Issuer) parseStatusClaim(v any) (StatusRef, error) {
	st, _ := v.(map[string]any)
	sl, _ := st["status_list"].(map[string]any)
	uri, _ := sl["uri"].(string)
	f, ok := sl["idx"].(float64)
	if !ok || f < 0 || f >= ListSize || f != math.Trunc(f) {
		return StatusRef{}, errors.New("issuer: no status reference")
	}
	rest, ok := strings.CutPrefix(uri, i.cfg.BaseURL+StatusListPath)
	n, err := strconv.ParseInt(rest, 10, 64)
	if !ok || err != nil || n < 0 || strconv.FormatInt(n, 10) != rest || n > math.MaxInt64/ListSize-1 {
		return StatusRef{}, errors.New("issuer: the status list is not this issuer's")
	}
	return StatusRef{List: n, Index: int64(f), URI: uri}, nil
}

func verifyRevocation(holder jwk.Key, proof string) (*revokeClaims, error) {
	if len(proof) > 4096 {
		return nil, ErrRevocationPoP
	}
	msg, err := jws.Parse([]byte(proof))
	if err != nil || len(msg.Signatures()) != 1 {
		return nil, ErrRevocationPoP
	}
	h := msg.Signatures()[0].ProtectedHeaders()
	if h.Type() != TypeRevocation || h.Algorithm() != jwa.ES256 {
		return nil, ErrRevocationPoP
	}
	if k, ok := holder.(jwk.ECDSAPublicKey); !ok || k.Crv() != jwa.P256 {
		return nil, ErrRevocationPoP
	}
	payload, err := jws.Verify([]byte(proof), jws.WithKey(jwa.ES256, holder))
	if err != nil {
		return nil, ErrRevocationPoP
	}
	var c revokeClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, ErrRevocationPoP
	}
	return &c, nil
}
