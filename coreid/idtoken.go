package coreid

import (
	"context"
	"crypto/subtle"
	"errors"
	"slices"
	"time"

	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/mustard-id/mustard/internal/trust"
)

// Bounds on an id_token's issue time: IDTokenSkew for clocks ahead of the
// provider's, IDTokenMaxAge for a login this old at the most.
const (
	IDTokenSkew   = time.Minute
	IDTokenMaxAge = 10 * time.Minute
)

// verifyIDToken verifies an OpenID Connect id_token from a federation
// identity provider registered in the framework (format "oidc"): the
// signature under the IdP's JWKS in the framework (never one fetched at
// verification time), iss, aud containing this provider's client id at
// that IdP (and azp equal to it when there are several audiences), exp,
// iat within IDTokenSkew ahead and IDTokenMaxAge behind, and a nonce equal
// to the provider-issued one (which the caller then consumes once).
func verifyIDToken(ctx context.Context, fw *trust.Document, keysOf sourceKeys, clientIDs map[string]string, raw, nonce string, now time.Time) (*Source, error) {
	src, err := jwtSource(fw, raw, trust.FormatOIDC)
	if err != nil {
		return nil, err
	}
	clientID := clientIDs[src.ID]
	if clientID == "" {
		// The provider has no client registration at this IdP: no token
		// can have been issued for it.
		return nil, ErrAudience
	}
	keys, err := keysOf(src)
	if err != nil {
		return nil, ErrUnknownIssuer
	}
	tok, err := jwt.ParseString(raw,
		jwt.WithKeySet(keys, jws.WithRequireKid(false), jws.WithInferAlgorithmFromKey(false)),
		jwt.WithValidate(false),
	)
	if err != nil {
		return nil, ErrSignature
	}
	err = jwt.Validate(tok,
		jwt.WithClock(jwt.ClockFunc(func() time.Time { return now })),
		jwt.WithAcceptableSkew(IDTokenSkew),
		jwt.WithIssuer(src.ID),
		jwt.WithRequiredClaim(jwt.ExpirationKey),
		jwt.WithRequiredClaim(jwt.IssuedAtKey),
		jwt.WithRequiredClaim(jwt.SubjectKey),
	)
	switch {
	case errors.Is(err, jwt.ErrTokenExpired()), errors.Is(err, jwt.ErrTokenNotYetValid()), errors.Is(err, jwt.ErrInvalidIssuedAt()):
		return nil, ErrExpired
	case err != nil:
		return nil, ErrSource
	}
	if now.Sub(tok.IssuedAt()) > IDTokenMaxAge {
		return nil, ErrExpired
	}
	aud := tok.Audience()
	if !slices.Contains(aud, clientID) {
		return nil, ErrAudience
	}
	if len(aud) > 1 {
		azp, _ := tok.Get("azp")
		if s, _ := azp.(string); s != clientID {
			return nil, ErrAudience
		}
	}
	got, _ := tok.Get("nonce")
	gotNonce, _ := got.(string)
	if nonce == "" || subtle.ConstantTimeCompare([]byte(gotNonce), []byte(nonce)) != 1 {
		return nil, ErrNonce
	}
	claims, err := tok.AsMap(ctx)
	if err != nil {
		return nil, ErrSource
	}
	out, err := fromClaims(src, trust.FormatOIDC, tok.Subject(), claims)
	if err != nil {
		return nil, err
	}
	out.IssuedAt = tok.IssuedAt()
	out.Nonce = nonce
	return out, nil
}
