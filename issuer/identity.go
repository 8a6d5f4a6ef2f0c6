package issuer

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
)

// RetiredKey is a signing key no longer used to sign, still published
// until Until, when the last credential it signed has expired.
type RetiredKey struct {
	Key   jwk.Key // the private key or its public half
	Until time.Time
}

// keyring is the issuer's current signing key and its retired keys.
type keyring struct {
	mu      sync.RWMutex
	current jwk.Key
	retired []RetiredKey
}

func (k *keyring) signer() jwk.Key {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.current
}

// checkSigningKey accepts a P-256 or Ed25519 private key with a kid:
// credentials name their key by kid, so that verifiers pick the right one
// across a rotation.
func checkSigningKey(key jwk.Key) error {
	if key == nil || key.KeyID() == "" {
		return errors.New("issuer: the signing key needs a kid")
	}
	switch k := key.(type) {
	case jwk.ECDSAPrivateKey:
		if k.Crv() == jwa.P256 {
			return nil
		}
	case jwk.OKPPrivateKey:
		if k.Crv() == jwa.Ed25519 {
			return nil
		}
	}
	return errors.New("issuer: the signing key must be a P-256 or Ed25519 private key")
}

// Rotate makes key the signing key. The previous key is retired: it signs
// nothing more but stays in the JWKS and the DID document until every
// credential it signed has expired (now + CredentialTTL), so credentials
// already issued keep verifying. Status lists are re-signed with the new
// key at their next request.
func (i *Issuer) Rotate(key jwk.Key) error {
	if err := checkSigningKey(key); err != nil {
		return err
	}
	now := i.cfg.Now()
	i.keys.mu.Lock()
	if key.KeyID() == i.keys.current.KeyID() || i.retiredKID(key.KeyID()) {
		i.keys.mu.Unlock()
		return errors.New("issuer: that kid is already in use")
	}
	i.keys.retired = append(i.keys.retired, RetiredKey{Key: i.keys.current, Until: now.Add(i.cfg.CredentialTTL)})
	i.keys.current = key
	i.keys.mu.Unlock()
	i.lists.mu.Lock()
	clear(i.lists.lists)
	i.lists.mu.Unlock()
	return nil
}

// SetKeys replaces the signing key and the retired keys at once, as a
// server does when another process rotated the key bundle it shares
// (mustard issuer rotate-key): current signs from now on, every retired
// key stays published until its Until. Status lists are re-signed with
// current at their next request.
func (i *Issuer) SetKeys(current jwk.Key, retired []RetiredKey) error {
	if err := checkSigningKey(current); err != nil {
		return err
	}
	for _, r := range retired {
		if r.Key == nil || r.Key.KeyID() == "" || r.Key.KeyID() == current.KeyID() {
			return errors.New("issuer: a retired key needs its own kid")
		}
	}
	i.keys.mu.Lock()
	changed := i.keys.current.KeyID() != current.KeyID()
	i.keys.current = current
	i.keys.retired = slices.Clone(retired)
	i.keys.mu.Unlock()
	if changed {
		i.lists.mu.Lock()
		clear(i.lists.lists)
		i.lists.mu.Unlock()
	}
	return nil
}

// CurrentKeyID is the kid of the signing key.
func (i *Issuer) CurrentKeyID() string { return i.keys.signer().KeyID() }

func (i *Issuer) retiredKID(kid string) bool {
	for _, r := range i.keys.retired {
		if r.Key.KeyID() == kid {
			return true
		}
	}
	return false
}

// RetiredKeys returns the retired keys still published, for an operator
// to persist across restarts (Config.RetiredKeys).
func (i *Issuer) RetiredKeys() []RetiredKey {
	now := i.cfg.Now()
	i.keys.mu.RLock()
	defer i.keys.mu.RUnlock()
	var out []RetiredKey
	for _, r := range i.keys.retired {
		if now.Before(r.Until) {
			out = append(out, r)
		}
	}
	return out
}

// PublicKeys returns the issuer's public JWK set: the current key, then
// the retired keys whose credentials may still be unexpired.
func (i *Issuer) PublicKeys() (jwk.Set, error) {
	i.keys.mu.RLock()
	keys := []jwk.Key{i.keys.current}
	i.keys.mu.RUnlock()
	for _, r := range i.RetiredKeys() {
		keys = append(keys, r.Key)
	}
	set := jwk.NewSet()
	for _, k := range keys {
		pub, err := k.PublicKey()
		if err != nil {
			return nil, err
		}
		if err := set.AddKey(pub); err != nil {
			return nil, err
		}
	}
	return set, nil
}

// DIDWeb returns the did:web identifier of a base URL (did:web method
// §3.1: the host, a port percent-encoded as %3A, path segments after
// colons): https://issuer.example → did:web:issuer.example.
func DIDWeb(baseURL string) (string, error) {
	u, err := url.Parse(baseURL)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("issuer: not a base URL: %q", baseURL)
	}
	id := "did:web:" + strings.ReplaceAll(u.Host, ":", "%3A")
	for _, seg := range strings.Split(strings.Trim(u.Path, "/"), "/") {
		if seg != "" {
			id += ":" + url.PathEscape(seg)
		}
	}
	return id, nil
}

// Multicodec codes of did:key public keys (multicodec table).
const (
	codeP256    = 0x1200
	codeEd25519 = 0xed
)

// DIDKey returns the did:key identifier of a P-256 or Ed25519 public key
// (did:key method: "did:key:" + multibase base58btc("z") of the
// multicodec varint and the key; P-256 keys compressed).
func DIDKey(key jwk.Key) (string, error) {
	pub, err := jwk.PublicKeyOf(key)
	if err != nil {
		return "", err
	}
	var code uint64
	var raw []byte
	switch k := pub.(type) {
	case jwk.ECDSAPublicKey:
		if k.Crv() != jwa.P256 {
			return "", errors.New("issuer: did:key: unsupported curve")
		}
		var ek ecdsa.PublicKey
		if err := k.Raw(&ek); err != nil {
			return "", err
		}
		code, raw = codeP256, elliptic.MarshalCompressed(elliptic.P256(), ek.X, ek.Y)
	case jwk.OKPPublicKey:
		if k.Crv() != jwa.Ed25519 {
			return "", errors.New("issuer: did:key: unsupported curve")
		}
		code, raw = codeEd25519, k.X()
	default:
		return "", errors.New("issuer: did:key: unsupported key type")
	}
	buf := binary.AppendUvarint(nil, code)
	return "did:key:z" + base58(append(buf, raw...)), nil
}

const base58Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

// base58 is the Bitcoin base58 encoding (multibase base58btc).
func base58(b []byte) string {
	n := new(big.Int).SetBytes(b)
	var out []byte
	mod, radix := new(big.Int), big.NewInt(58)
	for n.Sign() > 0 {
		n.DivMod(n, radix, mod)
		out = append(out, base58Alphabet[mod.Int64()])
	}
	for _, c := range b {
		if c != 0 {
			break
		}
		out = append(out, '1')
	}
	for l, r := 0, len(out)-1; l < r; l, r = l+1, r-1 {
		out[l], out[r] = out[r], out[l]
	}
	return string(out)
}

// DIDDocument is a DID document (DID Core §5) listing the issuer's keys
// as JsonWebKey2020 verification methods.
type DIDDocument struct {
	Context            []string             `json:"@context"`
	ID                 string               `json:"id"`
	AlsoKnownAs        []string             `json:"alsoKnownAs,omitempty"`
	VerificationMethod []VerificationMethod `json:"verificationMethod"`
	AssertionMethod    []string             `json:"assertionMethod"`
}

// VerificationMethod is one key of a DID document.
type VerificationMethod struct {
	ID           string  `json:"id"`
	Type         string  `json:"type"`
	Controller   string  `json:"controller"`
	PublicKeyJWK jwk.Key `json:"publicKeyJwk"`
}

// DIDDocument returns the issuer's did:web document: every published key
// (current and retired) as a JsonWebKey2020 method "<did>#<kid>" for
// assertions, and the did:key of the current key and the configured
// issuer ID (when it is not the did:web) as alsoKnownAs.
func (i *Issuer) DIDDocument() (*DIDDocument, error) {
	did, err := DIDWeb(i.cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	set, err := i.PublicKeys()
	if err != nil {
		return nil, err
	}
	doc := &DIDDocument{
		Context: []string{"https://www.w3.org/ns/did/v1", "https://w3id.org/security/suites/jws-2020/v1"},
		ID:      did,
	}
	if dk, err := DIDKey(i.keys.signer()); err == nil {
		doc.AlsoKnownAs = append(doc.AlsoKnownAs, dk)
	}
	if i.cfg.ID != did {
		doc.AlsoKnownAs = append(doc.AlsoKnownAs, i.cfg.ID)
	}
	for n := range set.Len() {
		k, _ := set.Key(n)
		vm := VerificationMethod{ID: did + "#" + k.KeyID(), Type: "JsonWebKey2020", Controller: did, PublicKeyJWK: k}
		doc.VerificationMethod = append(doc.VerificationMethod, vm)
		doc.AssertionMethod = append(doc.AssertionMethod, vm.ID)
	}
	return doc, nil
}
