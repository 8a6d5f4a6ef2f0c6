package oid4vci

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/json"
	"fmt"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// KeyProof is a verified jwt key proof: the key whose possession it
// proves and the c_nonce it was made for.
type KeyProof struct {
	Key      jwk.Key // the public key from the header's jwk
	Nonce    string
	IssuedAt time.Time
}

type keyProofClaims struct {
	Aud   json.RawMessage `json:"aud"`
	Iat   *float64        `json:"iat"`
	Nonce string          `json:"nonce"`
	Exp   *float64        `json:"exp,omitempty"`
}

// ParseKeyProof verifies a jwt key proof (Appendix F.1) for the credential
// issuer aud at time now: typ openid4vci-proof+jwt, alg ES256, the key in
// the jwk header (a public P-256 key; kid and x5c are refused, as the
// issuer only binds to jwk), aud the issuer, iat within skew of now, a
// nonce present. Whether the nonce is a live c_nonce is the caller's
// check. Every failure is ErrInvalidProof.
func ParseKeyProof(s, aud string, now time.Time, skew time.Duration) (*KeyProof, error) {
	if len(s) > MaxKeyProof {
		return nil, ErrInvalidProof.With("The key proof is too large")
	}
	msg, err := jws.Parse([]byte(s), jws.WithCompact())
	if err != nil || len(msg.Signatures()) != 1 {
		return nil, ErrInvalidProof.With("The key proof is not a compact JWS")
	}
	h := msg.Signatures()[0].ProtectedHeaders()
	if h.Type() != ProofTypeJWT {
		return nil, ErrInvalidProof.With("The key proof's typ must be " + ProofTypeJWT)
	}
	if h.Algorithm() != jwa.ES256 {
		return nil, ErrInvalidProof.With("The key proof's alg must be ES256")
	}
	if h.KeyID() != "" || (h.X509CertChain() != nil && h.X509CertChain().Len() > 0) || h.X509URL() != "" {
		return nil, ErrInvalidProof.With("The key proof must name its key by jwk only")
	}
	key := h.JWK()
	if key == nil {
		return nil, ErrInvalidProof.With("The key proof has no jwk header")
	}
	if _, ok := key.(jwk.ECDSAPublicKey); !ok {
		return nil, ErrInvalidProof.With("The key proof's jwk must be a public EC key")
	}
	var raw ecdsa.PublicKey
	if err := key.Raw(&raw); err != nil || raw.Curve != elliptic.P256() {
		return nil, ErrInvalidProof.With("The key proof's jwk must be a P-256 key")
	}
	if _, err := raw.ECDH(); err != nil {
		return nil, ErrInvalidProof.With("The key proof's jwk is not a valid P-256 point")
	}
	payload, err := jws.Verify([]byte(s), jws.WithKey(jwa.ES256, key))
	if err != nil {
		return nil, ErrInvalidProof.With("The key proof's signature does not verify with its jwk")
	}
	var c keyProofClaims
	if err := decodeOne(payload, &c); err != nil {
		return nil, ErrInvalidProof.With("The key proof's claims are not a JSON object")
	}
	if !audienceIs(c.Aud, aud) {
		return nil, ErrInvalidProof.With("The key proof's aud must be the credential issuer " + aud)
	}
	if c.Iat == nil {
		return nil, ErrInvalidProof.With("The key proof has no iat")
	}
	iat := time.Unix(int64(*c.Iat), 0)
	if d := iat.Sub(now); d > skew || d < -skew {
		return nil, ErrInvalidProof.With(fmt.Sprintf("The key proof's iat is more than %s from the issuer's clock", skew))
	}
	if c.Exp != nil && !now.Before(time.Unix(int64(*c.Exp), 0)) {
		return nil, ErrInvalidProof.With("The key proof has expired")
	}
	if c.Nonce == "" || len(c.Nonce) > 256 {
		return nil, ErrInvalidNonce.With("The key proof has no c_nonce: get one from the nonce endpoint")
	}
	pub, err := key.PublicKey()
	if err != nil {
		return nil, ErrInvalidProof
	}
	return &KeyProof{Key: pub, Nonce: c.Nonce, IssuedAt: iat}, nil
}

// audienceIs reports whether a JWT aud (a string or an array of strings)
// is exactly want.
func audienceIs(raw json.RawMessage, want string) bool {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s == want
	}
	var list []string
	if json.Unmarshal(raw, &list) == nil && len(list) == 1 {
		return list[0] == want
	}
	return false
}

// SignKeyProof makes a jwt key proof (Appendix F.1) with the private P-256
// key for the credential issuer aud and the c_nonce: typ
// openid4vci-proof+jwt, alg ES256, the public key in the jwk header, no iss
// (anonymous pre-authorized access).
func SignKeyProof(key jwk.Key, aud, nonce string, iat time.Time) (string, error) {
	pub, err := key.PublicKey()
	if err != nil {
		return "", err
	}
	hdr := jws.NewHeaders()
	_ = hdr.Set(jws.TypeKey, ProofTypeJWT)
	_ = hdr.Set(jws.JWKKey, pub)
	payload, err := json.Marshal(map[string]any{"aud": aud, "iat": iat.Unix(), "nonce": nonce})
	if err != nil {
		return "", err
	}
	var priv ecdsa.PrivateKey // the raw key: jwx would copy a jwk's kid into the header
	if err := key.Raw(&priv); err != nil {
		return "", fmt.Errorf("oid4vci: key proofs are signed with a P-256 private key: %w", err)
	}
	b, err := jws.Sign(payload, jws.WithKey(jwa.ES256, &priv, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		return "", fmt.Errorf("oid4vci: sign key proof: %w", err)
	}
	return string(b), nil
}
