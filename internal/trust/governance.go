package trust

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// Governance is who may change the framework: any Threshold of Keys
// (m-of-n). A relying party pins it; a document states the governance of
// its successor, so the set can rotate, always by m of the current keys.
type Governance struct {
	Threshold int             `json:"threshold"`
	Keys      json.RawMessage `json:"keys"` // a JWKS of public keys
}

// ErrThreshold is a document with fewer distinct governance signatures
// than the threshold.
var ErrThreshold = errors.New("trust: fewer governance signatures than the threshold")

// ErrSuccession is an update that does not follow the current document:
// not a higher version, or not chained to it.
var ErrSuccession = errors.New("trust: the update does not succeed the current framework")

var base64URL = base64.RawURLEncoding

// MaxGovernanceKeys bounds a governance set.
const MaxGovernanceKeys = 32

// keySet parses and checks a governance set.
func (g *Governance) keySet() (jwk.Set, error) {
	set, err := KeySet(g.Keys)
	if err != nil {
		return nil, fmt.Errorf("%w: governance keys: %v", ErrMalformed, err)
	}
	if set.Len() == 0 || set.Len() > MaxGovernanceKeys || g.Threshold < 1 || g.Threshold > set.Len() {
		return nil, fmt.Errorf("%w: governance needs 1 <= threshold <= keys <= %d", ErrMalformed, MaxGovernanceKeys)
	}
	return set, nil
}

// SealBy signs the document with every key given, as a JWS in the general
// JSON serialization (one signature per governance key, each with its
// kid). With one key it is the compact form Seal makes.
func SealBy(d *Document, keys ...jwk.Key) ([]byte, error) {
	if len(keys) == 1 {
		return Seal(d, keys[0])
	}
	if len(keys) == 0 {
		return nil, errors.New("trust: no governance key")
	}
	payload, err := d.payload()
	if err != nil {
		return nil, err
	}
	var opts []jws.SignOption
	for _, k := range keys {
		alg, err := algFor(k)
		if err != nil {
			return nil, err
		}
		hdr := jws.NewHeaders()
		_ = hdr.Set(jws.TypeKey, MediaType)
		_ = hdr.Set(jws.KeyIDKey, k.KeyID())
		opts = append(opts, jws.WithKey(alg, k, jws.WithProtectedHeaders(hdr)))
	}
	out, err := jws.Sign(payload, append(opts, jws.WithJSON())...)
	if err != nil {
		return nil, fmt.Errorf("trust: sign: %w", err)
	}
	return out, nil
}

// ParseGoverned verifies a framework document under a pinned governance:
// at least Threshold distinct keys of the set must each have signed it (a
// key that signed twice counts once; signatures by keys outside the set
// count for nothing).
func ParseGoverned(signed []byte, g Governance) (*Document, error) {
	set, err := g.keySet()
	if err != nil {
		return nil, err
	}
	if len(signed) == 0 || len(signed) > MaxDocumentSize {
		return nil, fmt.Errorf("%w: size", ErrMalformed)
	}
	msg, err := jws.Parse(signed)
	if err != nil || len(msg.Signatures()) == 0 || len(msg.Signatures()) > MaxGovernanceKeys {
		return nil, fmt.Errorf("%w: not a JWS", ErrMalformed)
	}
	for _, sig := range msg.Signatures() {
		if sig.ProtectedHeaders().Type() != MediaType {
			return nil, fmt.Errorf("%w: typ", ErrMalformed)
		}
	}
	// Count keys, not signatures: each pinned key verifies (against any
	// of the signatures) or it does not.
	var payload []byte
	signers := 0
	for i := range set.Len() {
		k, _ := set.Key(i)
		alg, err := algFor(k)
		if err != nil {
			continue
		}
		p, err := jws.Verify(signed, jws.WithKey(alg, k))
		if err != nil {
			continue
		}
		if payload != nil && !bytes.Equal(p, payload) {
			return nil, fmt.Errorf("%w: signatures over different payloads", ErrMalformed)
		}
		payload = p
		signers++
	}
	if signers < g.Threshold {
		if signers == 0 {
			return nil, ErrSignature
		}
		return nil, fmt.Errorf("%w: %d of %d", ErrThreshold, signers, g.Threshold)
	}
	return decode(payload)
}

// Digest is a signed document's identity: its SHA-256, hex. A successor
// names its predecessor by it, and the transparency log records it.
func Digest(signed []byte) string {
	h := sha256.Sum256(signed)
	return hex.EncodeToString(h[:])
}

// Succeed verifies next as the successor of current (whose signed form is
// currentSigned): signed by the threshold of the governance current
// states (or, if current states none, of pinned), a higher version, and
// chained to current by Previous. It returns next's document.
func Succeed(current *Document, currentSigned []byte, next []byte, pinned Governance) (*Document, error) {
	g := pinned
	if current.Governance != nil {
		g = *current.Governance
	}
	d, err := ParseGoverned(next, g)
	if err != nil {
		return nil, err
	}
	if d.ID != current.ID || d.Version <= current.Version || d.Previous != Digest(currentSigned) {
		return nil, ErrSuccession
	}
	return d, nil
}

// jwsJSON is a JWS in the general JSON serialization.
type jwsJSON struct {
	Payload    string         `json:"payload"`
	Signatures []jwsSignature `json:"signatures"`
}

type jwsSignature struct {
	Protected string `json:"protected"`
	Signature string `json:"signature"`
}

// toGeneral reads a compact, flattened or general JWS.
func toGeneral(signed []byte) (*jwsJSON, error) {
	signed = bytes.TrimSpace(signed)
	if len(signed) > MaxDocumentSize {
		return nil, fmt.Errorf("%w: size", ErrMalformed)
	}
	if len(signed) > 0 && signed[0] != '{' {
		parts := bytes.Split(signed, []byte("."))
		if len(parts) != 3 {
			return nil, fmt.Errorf("%w: not a JWS", ErrMalformed)
		}
		return &jwsJSON{Payload: string(parts[1]), Signatures: []jwsSignature{{string(parts[0]), string(parts[2])}}}, nil
	}
	var g struct {
		jwsJSON
		jwsSignature
	}
	if err := json.Unmarshal(signed, &g); err != nil {
		return nil, fmt.Errorf("%w: not a JWS", ErrMalformed)
	}
	if g.jwsSignature.Signature != "" {
		g.Signatures = append(g.Signatures, g.jwsSignature)
	}
	return &g.jwsJSON, nil
}

// AddSignature adds one governance member's signature to a framework
// document signed by others (compact or JSON), in the general JSON
// serialization: members sign one after another, each with their own key,
// without ever holding each other's.
func AddSignature(signed []byte, key jwk.Key) ([]byte, error) {
	g, err := toGeneral(signed)
	if err != nil {
		return nil, err
	}
	payload, err := base64URL.DecodeString(g.Payload)
	if err != nil {
		return nil, fmt.Errorf("%w: payload", ErrMalformed)
	}
	alg, err := algFor(key)
	if err != nil {
		return nil, err
	}
	hdr := jws.NewHeaders()
	_ = hdr.Set(jws.TypeKey, MediaType)
	_ = hdr.Set(jws.KeyIDKey, key.KeyID())
	one, err := jws.Sign(payload, jws.WithKey(alg, key, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		return nil, fmt.Errorf("trust: sign: %w", err)
	}
	parts := bytes.Split(one, []byte("."))
	g.Signatures = append(g.Signatures, jwsSignature{string(parts[0]), string(parts[2])})
	return json.Marshal(g)
}
