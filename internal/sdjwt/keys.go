package sdjwt

import (
	"bytes"
	"context"
	"crypto"
	"errors"
	"fmt"
	"strings"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
)

// minRSABits is the smallest RSA modulus accepted for verification
// (RFC 7518 §3.3: "A key of size 2048 bits or larger MUST be used").
const minRSABits = 2048

// defaultAlgorithms are the JWS algorithms Verify accepts when
// VerifyOptions.AllowedAlgs is empty, and the only ones Issue and Present
// sign with.
var defaultAlgorithms = []jwa.SignatureAlgorithm{jwa.ES256, jwa.EdDSA}

// KeyQuery describes the issuer key Verify needs. Its fields come from the
// not yet verified token: a resolver must return only a key that it trusts
// for Issuer, and Verify then checks the signature with it.
type KeyQuery struct {
	// Issuer is the iss claim of the Issuer-signed JWT.
	Issuer string
	// KeyID is the kid header; it may be empty.
	KeyID string
	// Algorithm is the alg header, already checked against the allowed
	// algorithms.
	Algorithm jwa.SignatureAlgorithm
}

// KeyResolver returns the public key of the issuer named in q. RFC 9901
// §7.1 step 2.3 requires the Verifier to "Validate the Issuer and that the
// signing key belongs to this Issuer": a resolver must only return keys
// bound to q.Issuer (from a trust framework, JWT VC Issuer Metadata, a DID
// document, ...). An error, or a nil key, is reported as ErrUnknownKey.
type KeyResolver func(ctx context.Context, q KeyQuery) (jwk.Key, error)

// StaticKeys returns a KeyResolver for a single issuer whose keys are in
// set. It selects the key by kid; a token without kid is accepted only if
// set holds exactly one key.
func StaticKeys(issuer string, set jwk.Set) KeyResolver {
	return func(_ context.Context, q KeyQuery) (jwk.Key, error) {
		if set == nil || q.Issuer != issuer {
			return nil, errors.New("issuer not configured")
		}
		if q.KeyID != "" {
			if k, ok := set.LookupKeyID(q.KeyID); ok {
				return k, nil
			}
			return nil, errors.New("no key with that kid")
		}
		if set.Len() == 1 {
			k, _ := set.Key(0)
			return k, nil
		}
		return nil, errors.New("token has no kid and the issuer has several keys")
	}
}

// refusedAlgorithm reports algorithms that are never acceptable, whatever
// the options say: "none" (RFC 9901 §7.1 step 2.1: "The none algorithm MUST
// NOT be accepted.") and the HMAC family, whose shared secret a Verifier
// cannot hold for an issuer (RFC 8725 §2.1, §3.1: algorithm confusion).
func refusedAlgorithm(alg string) bool {
	return alg == "" || strings.EqualFold(alg, string(jwa.NoSignature)) ||
		strings.HasPrefix(strings.ToUpper(alg), "HS")
}

// publicKey returns the public half of an asymmetric key; symmetric keys
// are refused.
func publicKey(key jwk.Key) (jwk.Key, error) {
	if key == nil {
		return nil, errors.New("no key")
	}
	if key.KeyType() == jwa.OctetSeq {
		return nil, errors.New("symmetric keys are not allowed")
	}
	return jwk.PublicKeyOf(key)
}

// keyAlgorithms returns the JWS algorithms a public key can verify. The
// algorithm is tied to the key type and curve, never taken from the token
// alone (RFC 8725 §3.1: "each key MUST be used with exactly one
// algorithm" where possible).
func keyAlgorithms(pub jwk.Key) []jwa.SignatureAlgorithm {
	switch k := pub.(type) {
	case jwk.ECDSAPublicKey:
		switch k.Crv() {
		case jwa.P256:
			return []jwa.SignatureAlgorithm{jwa.ES256}
		case jwa.P384:
			return []jwa.SignatureAlgorithm{jwa.ES384}
		case jwa.P521:
			return []jwa.SignatureAlgorithm{jwa.ES512}
		}
	case jwk.OKPPublicKey:
		if k.Crv() == jwa.Ed25519 {
			return []jwa.SignatureAlgorithm{jwa.EdDSA}
		}
	case jwk.RSAPublicKey:
		if len(bytes.TrimLeft(k.N(), "\x00"))*8 >= minRSABits {
			return []jwa.SignatureAlgorithm{jwa.RS256, jwa.RS384, jwa.RS512, jwa.PS256, jwa.PS384, jwa.PS512}
		}
	}
	return nil
}

// checkAlgorithm checks the alg header of a JWS against the allowed list
// and against the verification key. It returns the key to verify with.
func checkAlgorithm(alg string, key jwk.Key, allowed []jwa.SignatureAlgorithm) (jwk.Key, error) {
	if refusedAlgorithm(alg) || !algorithmIn(alg, allowed) {
		return nil, fmt.Errorf("%w: alg %q", ErrAlgorithm, alg)
	}
	pub, err := publicKey(key)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrAlgorithm, err)
	}
	if !algorithmIn(alg, keyAlgorithms(pub)) {
		return nil, fmt.Errorf("%w: alg %q does not match the key type", ErrAlgorithm, alg)
	}
	// A key that declares its algorithm or use is held to them (RFC 7517
	// §4.2, §4.4).
	if ka := pub.Algorithm(); ka != nil && ka.String() != "" && ka.String() != alg {
		return nil, fmt.Errorf("%w: the key is restricted to alg %q", ErrAlgorithm, ka.String())
	}
	if use := pub.KeyUsage(); use != "" && use != "sig" {
		return nil, fmt.Errorf("%w: the key is not a signing key", ErrAlgorithm)
	}
	return pub, nil
}

func algorithmIn(alg string, list []jwa.SignatureAlgorithm) bool {
	for _, a := range list {
		if string(a) == alg {
			return true
		}
	}
	return false
}

// signingAlgorithm returns the algorithm Issue and Present sign with: ES256
// for a P-256 private key, EdDSA for an Ed25519 private key.
func signingAlgorithm(key jwk.Key) (jwa.SignatureAlgorithm, error) {
	switch k := key.(type) {
	case jwk.ECDSAPrivateKey:
		if k.Crv() == jwa.P256 {
			return jwa.ES256, nil
		}
	case jwk.OKPPrivateKey:
		if k.Crv() == jwa.Ed25519 {
			return jwa.EdDSA, nil
		}
	case nil:
		return "", errors.New("no signing key")
	}
	return "", fmt.Errorf("%w: signing key must be a P-256 or Ed25519 private key", ErrAlgorithm)
}

// sameKey reports whether a and b are the same public key, by their RFC
// 7638 thumbprints.
func sameKey(a, b jwk.Key) bool {
	pa, err := publicKey(a)
	if err != nil {
		return false
	}
	pb, err := publicKey(b)
	if err != nil {
		return false
	}
	ta, err := pa.Thumbprint(crypto.SHA256)
	if err != nil {
		return false
	}
	tb, err := pb.Thumbprint(crypto.SHA256)
	return err == nil && bytes.Equal(ta, tb)
}
