package coreid

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/mustard-id/mustard/zk"
)

// Media types of the provider's signed statements.
const (
	// RootMediaType is the typ of a signed revocation root.
	RootMediaType = "mustard-revocation-root+jwt"
	// NoticeMediaType is the typ of a source's revocation notice.
	NoticeMediaType = "mustard-revocation-notice+jwt"
)

// MaxNoticeAge is how old a source's revocation notice may be.
const MaxNoticeAge = 24 * time.Hour

// revoke adds entry x with reason, once: the store records the time and
// reason class only, and the tree gains the entry in the same order as
// the store.
func (p *Provider) revoke(ctx context.Context, x fr.Element, reason string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.treeErr(); err != nil {
		return err
	}
	if p.feed != nil {
		// Others' revocations first: the tree follows the store's order.
		if err := p.catchUpLocked(ctx); err != nil {
			return err
		}
	}
	if p.revoked.Contains(x) {
		return nil
	}
	b := x.Bytes()
	if err := p.store.AddRevocation(ctx, b[:], reason, p.cfg.Now()); err != nil {
		if p.feed != nil && p.catchUpLocked(ctx) == nil && p.revoked.Contains(x) {
			return nil // another server revoked it meanwhile
		}
		return err
	}
	if p.feed != nil {
		return p.catchUpLocked(ctx)
	}
	return p.revoked.Insert(x)
}

// Revoke adds the entry for a credential (provider key, revocation nonce)
// to the revocation tree, with a reason class (holder, provider, source);
// a k-of-n credential's nonce (zk.IsThresholdNonce) is revoked with
// RevokeCredential.
func (p *Provider) Revoke(ctx context.Context, revNonce fr.Element, reason string) error {
	if zk.IsThresholdNonce(revNonce) {
		return p.RevokeCredential(ctx, revNonce, reason)
	}
	return p.revoke(ctx, zk.RevocationEntry(p.cfg.Key.Public(), revNonce), reason)
}

// HolderRevocation is a holder's request to revoke its own core
// credential (a device it no longer trusts): the credential and the
// provider's signature on it, the device public key the credential commits
// to, a revocation nonce from the provider, and the device key's ECDSA
// signature (ASN.1 DER, what keystore.SignDevice returns) over
// HolderRevocationDigest. The provider learns nothing it did not sign.
type HolderRevocation struct {
	Credential zk.CoreCredential
	Signature  []byte // the provider's signature on Credential
	DeviceKey  *ecdsa.PublicKey
	Nonce      string
	Proof      []byte
	// Opening is the core secret, for a credential without a device key
	// (DeviceKeyHash zero): its commitment must be the credential's.
	Opening *fr.Element
}

// HolderRevocationDigest is what the device key signs to revoke a
// credential: SHA-256 over a domain tag, the provider key, the revocation
// nonce and the provider-issued nonce.
func HolderRevocationDigest(providerKey string, revNonce fr.Element, nonce string) []byte {
	h := sha256.New()
	h.Write([]byte("mustard/coreid/holder-revocation/v1\x00"))
	h.Write([]byte(providerKey))
	h.Write([]byte{0})
	h.Write([]byte(zk.Hex(revNonce)))
	h.Write([]byte{0})
	h.Write([]byte(nonce))
	return h.Sum(nil)
}

// deviceHolder reports whether a request speaks for the device a
// credential is bound to: the credential is one this provider signed,
// bound to a device key (not zero) whose hash is deviceKey's, and proof is
// deviceKey's P-256 signature over digest.
func (p *Provider) deviceHolder(cred zk.CoreCredential, sig []byte, deviceKey *ecdsa.PublicKey, digest, proof []byte) bool {
	if deviceKey == nil || deviceKey.Curve != elliptic.P256() || len(proof) > 256 {
		return false
	}
	if err := p.cfg.Key.Public().Verify(cred.Message(), sig); err != nil {
		return false
	}
	h := zk.DeviceKeyHash(deviceKey)
	return !cred.DeviceKeyHash.IsZero() && h.Equal(&cred.DeviceKeyHash) && ecdsa.VerifyASN1(deviceKey, digest, proof)
}

// RevokeByHolder checks a holder revocation and revokes the credential.
// The credential must be one this provider signed, with a device key hash
// equal to the presented key's; the proof must verify under that key over
// a nonce that is then consumed (so a request cannot be replayed).
func (p *Provider) RevokeByHolder(ctx context.Context, r HolderRevocation) error {
	if r.Opening != nil {
		if err := p.cfg.Key.Public().Verify(r.Credential.Message(), r.Signature); err != nil {
			return ErrUnauthorized
		}
		c := zk.Commit(*r.Opening)
		// A credential bound to a device key is revoked with that key only:
		// the secret alone (copied off a device) must not be enough.
		if !r.Credential.DeviceKeyHash.IsZero() || !c.Equal(&r.Credential.Commitment) {
			return ErrUnauthorized
		}
		return p.Revoke(ctx, r.Credential.RevNonce, ReasonHolder)
	}
	if !p.deviceHolder(r.Credential, r.Signature, r.DeviceKey, HolderRevocationDigest(p.keyHex, r.Credential.RevNonce, r.Nonce), r.Proof) {
		return ErrUnauthorized
	}
	if err := p.store.ConsumeNonce(ctx, NonceRevoke, r.Nonce, p.cfg.Now()); err != nil {
		return ErrNonce
	}
	return p.Revoke(ctx, r.Credential.RevNonce, ReasonHolder)
}

// RevokeBySource acts on a source's revocation notice: a JWT (typ
// NoticeMediaType) signed by an accredited source, whose sub is the
// person's identifier there (the SubjectClaim value where the framework
// declares one), at most MaxNoticeAge old. The core credential held under
// that person's tag is revoked. A notice for nobody enrolled is
// ErrNotEnrolled; repeating a notice changes nothing.
func (p *Provider) RevokeBySource(ctx context.Context, notice string) error {
	if len(notice) == 0 || len(notice) > MaxSourceSize {
		return ErrSource
	}
	msg, err := jws.ParseString(notice)
	if err != nil || len(msg.Signatures()) != 1 {
		return ErrSource
	}
	hdr := msg.Signatures()[0].ProtectedHeaders()
	if !slices.Contains(allowedAlgs, hdr.Algorithm()) {
		return ErrSignature
	}
	if hdr.Type() != NoticeMediaType {
		return fmt.Errorf("%w: typ", ErrSource)
	}
	unverified, err := jwt.ParseString(notice, jwt.WithVerify(false), jwt.WithValidate(false))
	if err != nil {
		return ErrSource
	}
	src, err := p.cfg.Framework.Source(unverified.Issuer())
	if err != nil {
		return ErrUnknownIssuer
	}
	keys, err := p.sourceKeys(src)
	if err != nil {
		return ErrUnknownIssuer
	}
	now := p.cfg.Now()
	tok, err := jwt.ParseString(notice,
		jwt.WithKeySet(keys, jws.WithRequireKid(false), jws.WithInferAlgorithmFromKey(false)),
		jwt.WithValidate(true),
		jwt.WithClock(jwt.ClockFunc(func() time.Time { return now })),
		jwt.WithAcceptableSkew(time.Minute),
		jwt.WithIssuer(src.ID),
		jwt.WithRequiredClaim(jwt.IssuedAtKey),
		jwt.WithRequiredClaim(jwt.SubjectKey),
	)
	if err != nil {
		return ErrSignature
	}
	if now.Sub(tok.IssuedAt()) > MaxNoticeAge {
		return ErrExpired
	}
	rn, _, err := p.store.Identity(ctx, p.sourceTag(src, tok.Subject()))
	if p.cfg.IsNotFound(err) {
		return ErrNotEnrolled
	}
	if err != nil {
		return err
	}
	var nonce fr.Element
	if err := nonce.SetBytesCanonical(rn); err != nil {
		return err
	}
	return p.Revoke(ctx, nonce, ReasonSource)
}

// SignNotice issues a revocation notice, as a source does; for tests and
// the sample source.
func SignNotice(key jwk.Key, iss, sub string, iat time.Time) (string, error) {
	tok := jwt.New()
	_ = tok.Set(jwt.IssuerKey, iss)
	_ = tok.Set(jwt.SubjectKey, sub)
	_ = tok.Set(jwt.IssuedAtKey, iat)
	hdr := jws.NewHeaders()
	_ = hdr.Set(jws.TypeKey, NoticeMediaType)
	alg := jwa.ES256
	if key.KeyType() == jwa.OKP {
		alg = jwa.EdDSA
	}
	b, err := jwt.Sign(tok, jwt.WithKey(alg, key, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		return "", fmt.Errorf("coreid: sign notice: %w", err)
	}
	return string(b), nil
}

// Snapshot is the whole revocation tree: its root and its entries in
// insertion order, from which a wallet rebuilds the same tree.
type Snapshot struct {
	Root    fr.Element
	Entries []fr.Element
}

// Revocations returns the current snapshot.
func (p *Provider) Revocations() Snapshot {
	p.fresh()
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.revoked == nil {
		return Snapshot{}
	}
	return Snapshot{Root: p.revoked.Root(), Entries: p.revoked.Values()}
}

// Update is the revocation entries after the first Since, with the tree's
// size and root after them all, for a wallet that holds the first Since.
type Update struct {
	Since   int
	Size    int
	Root    fr.Element
	Entries []fr.Element
}

// RevocationsSince returns the entries added after the first since ones.
func (p *Provider) RevocationsSince(since int) (Update, error) {
	return p.RevocationsPage(since, -1)
}

// RevocationsPage is RevocationsSince with at most limit entries (limit
// < 0: all); Size and Root are the whole tree's.
func (p *Provider) RevocationsPage(since, limit int) (Update, error) {
	p.fresh()
	p.mu.RLock()
	defer p.mu.RUnlock()
	if err := p.treeErr(); err != nil {
		return Update{}, err
	}
	n := p.revoked.Len()
	if since < 0 || since > n {
		return Update{}, ErrSince
	}
	to := n
	if limit >= 0 {
		to = min(n, since+limit)
	}
	return Update{Since: since, Size: n, Root: p.revoked.Root(), Entries: p.revoked.ValuesRange(since, to)}, nil
}

// RevocationRoot returns the current revocation root.
func (p *Provider) RevocationRoot() fr.Element {
	p.fresh()
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.revoked == nil {
		return fr.Element{} // no proof is for it: they are refused until the tree is there
	}
	return p.revoked.Root()
}

// RootStatement is the payload of a signed revocation root.
type RootStatement struct {
	Provider string `json:"provider"` // hex provider key
	Root     string `json:"root"`     // hex field element
	Size     int    `json:"size"`     // number of revoked entries
	Time     int64  `json:"time"`     // Unix seconds when signed
}

// SignedRoot returns the current root, size and time as a compact JWS
// (typ RootMediaType) under the provider's root key (RootKeys).
func (p *Provider) SignedRoot() (string, error) {
	p.fresh()
	p.mu.RLock()
	if err := p.treeErr(); err != nil {
		p.mu.RUnlock()
		return "", err
	}
	st := RootStatement{Provider: p.keyHex, Root: zk.Hex(p.revoked.Root()), Size: p.revoked.Len(), Time: p.cfg.Now().Unix()}
	p.mu.RUnlock()
	payload, err := json.Marshal(st)
	if err != nil {
		return "", err
	}
	alg, _ := rootAlg(p.rootKey)
	hdr := jws.NewHeaders()
	_ = hdr.Set(jws.TypeKey, RootMediaType)
	_ = hdr.Set(jws.KeyIDKey, p.rootKey.KeyID())
	b, err := jws.Sign(payload, jws.WithKey(alg, p.rootKey, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		return "", fmt.Errorf("coreid: sign root: %w", err)
	}
	return string(b), nil
}

// RootKeys is the public key set that verifies signed roots.
func (p *Provider) RootKeys() jwk.Set { return p.rootPub }

// VerifyRoot verifies a signed revocation root under keys.
func VerifyRoot(signed string, keys jwk.Set) (*RootStatement, error) {
	msg, err := jws.ParseString(signed)
	if err != nil || len(msg.Signatures()) != 1 || msg.Signatures()[0].ProtectedHeaders().Type() != RootMediaType {
		return nil, ErrSource
	}
	alg := msg.Signatures()[0].ProtectedHeaders().Algorithm()
	if alg != jwa.EdDSA && alg != jwa.ES256 {
		return nil, ErrSignature
	}
	payload, err := jws.Verify([]byte(signed), jws.WithKeySet(keys, jws.WithRequireKid(false)))
	if err != nil {
		return nil, ErrSignature
	}
	var st RootStatement
	if err := json.Unmarshal(payload, &st); err != nil {
		return nil, ErrSource
	}
	return &st, nil
}

func rootAlg(k jwk.Key) (jwa.SignatureAlgorithm, error) {
	switch k.KeyType() {
	case jwa.OKP:
		return jwa.EdDSA, nil
	case jwa.EC:
		return jwa.ES256, nil
	}
	return "", fmt.Errorf("coreid: root key type %s is not supported", k.KeyType())
}

// RevocationEntry is the revocation tree's entry for the credential with
// revNonce under this provider's key: what Revoke adds.
func (p *Provider) RevocationEntry(revNonce fr.Element) fr.Element {
	return zk.RevocationEntry(p.cfg.Key.Public(), revNonce)
}
