package coreid

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/mustard-id/mustard/internal/trust"
	"github.com/mustard-id/mustard/zk"
)

// RevocationDepth is the revocation tree's depth (the persona circuit's).
const RevocationDepth = 32

// Storage is what the provider needs from a store.
type Storage interface {
	// CreateIdentity records a uniqueness tag once; a second time it fails
	// with an error for which IsDuplicate is true.
	CreateIdentity(ctx context.Context, tag, revNonce []byte, now time.Time) error
	AddRevocation(ctx context.Context, entry []byte, reason string, now time.Time) error
	Revocations(ctx context.Context) ([][]byte, error)
}

// Config configures a Provider.
type Config struct {
	Framework *trust.Document
	Key       *zk.PrivateKey // must be listed in the framework
	// TagKey keys the uniqueness tag (HMAC-SHA-256): at least 32 bytes,
	// secret, stable for the provider's lifetime.
	TagKey        []byte
	CredentialTTL time.Duration // default one year
	Now           func() time.Time
	// IsDuplicate recognizes the store's duplicate error.
	IsDuplicate func(error) bool
}

// Provider is a core-identity provider.
type Provider struct {
	cfg     Config
	store   Storage
	keyHex  string
	entry   *trust.Provider
	mu      sync.RWMutex
	revoked *zk.IndexedTree
	// sourceKeys holds each accredited source's keys, parsed once.
	sourceKeys sourceKeys
}

// New validates cfg and loads the revocation tree from store.
func New(ctx context.Context, cfg Config, store Storage) (*Provider, error) {
	if cfg.Framework == nil || cfg.Key == nil || store == nil {
		return nil, errors.New("coreid: framework, key and store are required")
	}
	if len(cfg.TagKey) < 32 {
		return nil, errors.New("coreid: tag key must be at least 32 bytes")
	}
	if cfg.CredentialTTL == 0 {
		cfg.CredentialTTL = 365 * 24 * time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.IsDuplicate == nil {
		cfg.IsDuplicate = func(error) bool { return false }
	}
	p := &Provider{cfg: cfg, store: store, keyHex: hex.EncodeToString(cfg.Key.Public().Bytes())}
	var err error
	if p.entry, err = cfg.Framework.Provider(p.keyHex); err != nil {
		return nil, fmt.Errorf("coreid: provider key is not accredited: %w", err)
	}
	if p.sourceKeys, err = parsedSourceKeys(cfg.Framework); err != nil {
		return nil, err
	}
	entries, err := store.Revocations(ctx)
	if err != nil {
		return nil, err
	}
	values := make([]fr.Element, len(entries))
	for i, b := range entries {
		if err := values[i].SetBytesCanonical(b); err != nil {
			return nil, fmt.Errorf("coreid: stored revocation entry: %w", err)
		}
	}
	if p.revoked, err = zk.IndexedTreeFrom(RevocationDepth, values); err != nil {
		return nil, fmt.Errorf("coreid: stored revocation entries: %w", err)
	}
	return p, nil
}

// Framework returns the trust framework the provider works under.
func (p *Provider) Framework() *trust.Document { return p.cfg.Framework }

// EnrollRequest asks for a core credential.
type EnrollRequest struct {
	Source        string     // a JWT-VC
	Commitment    fr.Element // C = H(T_HOLDER, s)
	DeviceKeyHash fr.Element // zk.KeyHash(TagDevice, ...) of the wallet's TPM device key
}

// Enrollment is a signed core credential.
type Enrollment struct {
	Credential  zk.CoreCredential
	Signature   []byte
	ProviderKey string // hex
	MaxGrade    uint64
	ValidUntil  int64
}

// Enroll verifies the source credential, enforces one core identity per
// person and signs the core credential.
func (p *Provider) Enroll(ctx context.Context, req EnrollRequest) (*Enrollment, error) {
	now := p.cfg.Now()
	src, err := verifyJWTVC(ctx, p.cfg.Framework, p.sourceKeys, req.Source, now)
	if err != nil {
		return nil, err
	}
	cred := zk.CoreCredential{Commitment: req.Commitment, DeviceKeyHash: req.DeviceKeyHash}
	for i := range cred.Attrs {
		cred.Attrs[i] = zk.Absent
	}
	for name, v := range src.Attrs {
		a, ok := zk.AttrByName(name)
		if !ok {
			return nil, fmt.Errorf("%w: unknown attribute in framework mapping", ErrSource)
		}
		if cred.Attrs[a.Index], err = a.Encode(v); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrSource, err)
		}
	}
	maxGrade, _ := zk.ParseGrade(p.entry.MaxGrade)
	cred.Grade = min(src.Grade, maxGrade)
	cred.Expiry = min(now.Add(p.cfg.CredentialTTL).Unix(), p.entry.ValidUntil)
	if cred.RevNonce, err = zk.RandomElement(); err != nil {
		return nil, err
	}
	sig, err := p.cfg.Key.Sign(cred.Message())
	if err != nil {
		return nil, err
	}
	rn := cred.RevNonce.Bytes()
	if err := p.store.CreateIdentity(ctx, p.Tag(src.Issuer.ID, src.Subject), rn[:], now); err != nil {
		if p.cfg.IsDuplicate(err) {
			return nil, ErrDuplicate
		}
		return nil, err
	}
	return &Enrollment{Credential: cred, Signature: sig, ProviderKey: p.keyHex, MaxGrade: maxGrade, ValidUntil: p.entry.ValidUntil}, nil
}

// Tag is the uniqueness tag of a source subject: HMAC-SHA-256 under the
// provider's tag key of the issuer and subject identifiers. Without the
// key, a stored tag says nothing about who it belongs to.
func (p *Provider) Tag(issuer, subject string) []byte {
	m := hmac.New(sha256.New, p.cfg.TagKey)
	m.Write([]byte(issuer))
	m.Write([]byte{0})
	m.Write([]byte(subject))
	return m.Sum(nil)
}

// Revoke adds the entry for a credential (provider key, revocation nonce)
// to the revocation tree, with a reason class (holder, provider, source).
func (p *Provider) Revoke(ctx context.Context, revNonce fr.Element, reason string) error {
	x := zk.RevocationEntry(p.cfg.Key.Public(), revNonce)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.revoked.Contains(x) {
		return nil
	}
	b := x.Bytes()
	if err := p.store.AddRevocation(ctx, b[:], reason, p.cfg.Now()); err != nil {
		return err
	}
	return p.revoked.Insert(x)
}

// Snapshot is the whole revocation tree: its root and its entries in
// insertion order, from which a wallet rebuilds the same tree.
type Snapshot struct {
	Root    fr.Element
	Entries []fr.Element
}

// Revocations returns the current snapshot.
func (p *Provider) Revocations() Snapshot {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return Snapshot{Root: p.revoked.Root(), Entries: p.revoked.Values()}
}

// RevocationRoot returns the current revocation root.
func (p *Provider) RevocationRoot() fr.Element {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.revoked.Root()
}
