package coreid

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/mustard-id/mustard/internal/sdjwt"
	"github.com/mustard-id/mustard/internal/trust"
)

// verifySDJWTVC verifies an SD-JWT VC from an accredited source: the
// issuer-signed JWT under the source's keys, every disclosure against its
// digest, the vct among the source's accepted types, and, when the
// credential is holder-bound (cnf), a Key Binding JWT whose aud is this
// provider and whose nonce is the one the provider issued.
func verifySDJWTVC(ctx context.Context, fw *trust.Document, keysOf sourceKeys, raw, audience, nonce string, now time.Time) (*Source, error) {
	if len(raw) == 0 || len(raw) > MaxSourceSize {
		return nil, ErrSource
	}
	var src *trust.Source
	resolve := func(ctx context.Context, q sdjwt.KeyQuery) (jwk.Key, error) {
		s, err := fw.Source(q.Issuer)
		if err != nil || !s.Accepts(trust.FormatSDJWTVC) {
			return nil, ErrUnknownIssuer
		}
		set, err := keysOf(s)
		if err != nil {
			return nil, ErrUnknownIssuer
		}
		src = s
		return sdjwt.StaticKeys(s.ID, set)(ctx, q)
	}
	opts := sdjwt.VerifyOptions{IssuerKeys: resolve, Now: now, Skew: time.Minute, Audience: audience, Nonce: nonce}
	v, err := sdjwt.Verify(ctx, raw, opts)
	if err == nil && v.HolderKey != nil && !v.KeyBound {
		// A holder-bound credential is only accepted from its holder: the
		// Key Binding JWT over this provider's nonce is required.
		err = sdjwt.ErrKeyBinding
	}
	if err != nil {
		return nil, sdjwtError(err)
	}
	if src == nil || v.Issuer != src.ID {
		return nil, ErrUnknownIssuer
	}
	if !slices.Contains(src.Types, v.VCT) {
		return nil, fmt.Errorf("%w: type not accepted", ErrSource)
	}
	sub, _ := v.Claims["sub"].(string)
	out, err := fromClaims(src, trust.FormatSDJWTVC, sub, v.Claims)
	if err != nil {
		return nil, err
	}
	out.IssuedAt = v.IssuedAt
	if v.KeyBound {
		out.Nonce = nonce
	}
	return out, nil
}

// sdjwtError maps the sdjwt package's sentinels to the provider's
// problem types.
func sdjwtError(err error) error {
	switch {
	case errors.Is(err, ErrUnknownIssuer), errors.Is(err, sdjwt.ErrUnknownKey):
		return ErrUnknownIssuer
	case errors.Is(err, sdjwt.ErrSignature), errors.Is(err, sdjwt.ErrAlgorithm):
		return ErrSignature
	case errors.Is(err, sdjwt.ErrExpired), errors.Is(err, sdjwt.ErrNotYetValid):
		return ErrExpired
	case errors.Is(err, sdjwt.ErrKeyBinding), errors.Is(err, sdjwt.ErrAudience), errors.Is(err, sdjwt.ErrNonce), errors.Is(err, sdjwt.ErrStale):
		return ErrHolderBinding
	case errors.Is(err, sdjwt.ErrDisclosure):
		return fmt.Errorf("%w: a disclosure does not match the issuer-signed digests", ErrSource)
	}
	return ErrSource
}
