package verifier

import (
	"crypto/ecdsa"
	"crypto/subtle"
	"encoding/json"
	"errors"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/mustard-id/mustard/zk"
)

// TypePossession is the typ of a persona key's proof of possession, the
// same JWS the issuer takes at issuance (issuer.SignPossession): ES256
// over {"nonce", "aud"}.
const TypePossession = "mustard-pop+jwt"

// holderBinding is the persona circuit's commitment to a P-256 persona
// key: its coordinates hashed under zk.TagHolderKey.
func holderBinding(key jwk.Key) (fr.Element, error) {
	var raw ecdsa.PublicKey
	pub, err := key.PublicKey()
	if err != nil {
		return fr.Element{}, err
	}
	if err := pub.Raw(&raw); err != nil {
		return fr.Element{}, errors.New("verifier: persona keys are P-256")
	}
	return zk.HolderKeyHash(&raw)
}

// checkHolder checks that key is the persona key a proof commits to
// (binding) and that pop, signed by it, names this audience and nonce:
// the self-issued proof is then bound to the relying party, as a
// key-binding JWT binds an SD-JWT VC.
func checkHolder(key jwk.Key, pop string, binding fr.Element, aud, nonce string) error {
	hb, err := holderBinding(key)
	if err != nil || hb != binding || len(pop) > 4096 {
		return ErrHolderBinding
	}
	msg, err := jws.Parse([]byte(pop))
	if err != nil || len(msg.Signatures()) != 1 || msg.Signatures()[0].ProtectedHeaders().Type() != TypePossession {
		return ErrHolderBinding
	}
	payload, err := jws.Verify([]byte(pop), jws.WithKey(jwa.ES256, key))
	if err != nil {
		return ErrHolderBinding
	}
	var c struct {
		Nonce string `json:"nonce"`
		Aud   string `json:"aud"`
	}
	if json.Unmarshal(payload, &c) != nil || c.Aud != aud || subtle.ConstantTimeCompare([]byte(c.Nonce), []byte(nonce)) != 1 {
		return ErrHolderBinding
	}
	return nil
}
