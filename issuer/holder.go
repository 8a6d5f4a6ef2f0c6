package issuer

import (
	"crypto/ecdsa"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/mustard-id/mustard/zk"
)

// HolderBinding is the persona circuit's commitment to a persona key: the
// P-256 public key's coordinates hashed under zk.TagHolderKey.
func HolderBinding(key jwk.Key) (fr.Element, error) {
	var raw ecdsa.PublicKey
	pub, err := key.PublicKey()
	if err != nil {
		return fr.Element{}, err
	}
	if err := pub.Raw(&raw); err != nil {
		return fr.Element{}, errors.New("issuer: persona keys are P-256")
	}
	return zk.HolderKeyHash(&raw)
}

// popClaims is the payload of the persona key's proof of possession.
type popClaims struct {
	Nonce string `json:"nonce"`
	Aud   string `json:"aud"`
}

// SignPossession signs the proof of possession of a persona key for the
// issuer aud and nonce (an ES256 JWS with typ "mustard-pop+jwt").
func SignPossession(key jwk.Key, aud, nonce string) (string, error) {
	payload, _ := json.Marshal(popClaims{Nonce: nonce, Aud: aud})
	hdr := jws.NewHeaders()
	_ = hdr.Set(jws.TypeKey, "mustard-pop+jwt")
	b, err := jws.Sign(payload, jws.WithKey(jwa.ES256, key, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		return "", fmt.Errorf("issuer: sign possession: %w", err)
	}
	return string(b), nil
}

func verifyPossession(key jwk.Key, pop, aud, nonce string) error {
	if len(pop) > 4096 {
		return ErrHolderBinding
	}
	msg, err := jws.Parse([]byte(pop))
	if err != nil || len(msg.Signatures()) != 1 || msg.Signatures()[0].ProtectedHeaders().Type() != "mustard-pop+jwt" {
		return ErrHolderBinding
	}
	payload, err := jws.Verify([]byte(pop), jws.WithKey(jwa.ES256, key))
	if err != nil {
		return ErrHolderBinding
	}
	var c popClaims
	if err := json.Unmarshal(payload, &c); err != nil || c.Aud != aud || subtle.ConstantTimeCompare([]byte(c.Nonce), []byte(nonce)) != 1 {
		return ErrHolderBinding
	}
	return nil
}
