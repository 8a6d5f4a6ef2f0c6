package coreid

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"golang.org/x/crypto/hkdf"

	"github.com/mustard-id/mustard/internal/trust"
	"github.com/mustard-id/mustard/zk"
)

// RevocationDepth is the revocation tree's depth (the persona circuit's).
const RevocationDepth = 32

// MaxSources bounds the source credentials combined in one enrollment.
const MaxSources = 4

// NonceTTL is how long a provider-issued nonce stays usable.
const NonceTTL = 10 * time.Minute

// Nonce purposes: an enrollment nonce binds an id_token or an SD-JWT Key
// Binding JWT; a revocation nonce binds a holder's revocation request.
const (
	NonceEnroll = "coreid-enroll"
	NonceRevoke = "coreid-revoke"
)

// Reason classes recorded with each revocation (and nothing else).
const (
	ReasonHolder       = "holder"       // the holder asked, with its device key
	ReasonProvider     = "provider"     // the provider's operator decided
	ReasonSource       = "source"       // the source withdrew the credential
	ReasonReenrollment = "reenrollment" // replaced by a re-enrollment after loss
)

// Storage is what the provider needs from a store.
type Storage interface {
	// EnrollIdentity records one new identity under all its tags at once;
	// if any tag is held it writes nothing and fails with an error for
	// which Config.IsDuplicate is true.
	EnrollIdentity(ctx context.Context, tags [][]byte, revNonce []byte, now time.Time) error
	// Identity returns the revocation nonce held under tag and since when;
	// an absent tag is an error for which Config.IsNotFound is true.
	Identity(ctx context.Context, tag []byte) (revNonce []byte, since time.Time, err error)
	// ReplaceIdentity moves tags from oldRevNonce to newRevNonce and
	// records revEntry as revoked for reason, in one transaction.
	ReplaceIdentity(ctx context.Context, tags [][]byte, oldRevNonce, newRevNonce, revEntry []byte, reason string, now time.Time) error
	AddRevocation(ctx context.Context, entry []byte, reason string, now time.Time) error
	Revocations(ctx context.Context) ([][]byte, error)
	CreateNonce(ctx context.Context, purpose, nonce string, expires time.Time) error
	ConsumeNonce(ctx context.Context, purpose, nonce string, now time.Time) error
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
	// IsNotFound recognizes the store's not-found error.
	IsNotFound func(error) bool
	// ClientIDs maps a federation identity provider (its issuer) to this
	// provider's OIDC client id there: the audience its id_tokens must
	// carry. An IdP without an entry is refused.
	ClientIDs map[string]string
	// AdminToken, when set (at least 32 bytes), authorizes provider
	// revocations over HTTP; empty disables them.
	AdminToken []byte
	// RootKey signs revocation roots (an Ed25519 JWK). Nil derives one
	// from Key with HKDF, so it needs no key material of its own.
	RootKey jwk.Key
	// TrustEK decides whether a TPM endorsement key is a genuine TPM's
	// (an allowlist, or a check of its EK certificate done by the
	// caller); nil trusts none, so no attestation succeeds. With EKRoots
	// set it is an additional check (a denylist, say), after the
	// certificate's.
	TrustEK func(*ecdsa.PublicKey) bool
	// EKRoots, when set, are the TPM manufacturers' root CAs: an
	// attestation must carry the EK's certificate, chaining to one of
	// them, or it is refused (ErrUntrustedTPM).
	EKRoots *x509.CertPool
	// UnattestedMaxGrade, when non-zero, caps the grade of an enrollment
	// without a TPM attestation ticket (a software keystore, or a TPM the
	// provider could not check): zk.GradeSubstantial in a deployment that
	// reserves "high" for keys proven to live in a TPM.
	UnattestedMaxGrade uint64
	// RevocationRefresh bounds how long the revocation tree may lag behind
	// revocations other servers on the same database committed (with a
	// store that is a RevocationFeed); 0 means DefaultRevocationRefresh.
	RevocationRefresh time.Duration
}

// Provider is a core-identity provider.
type Provider struct {
	cfg     Config
	store   Storage
	keyHex  string
	entry   *trust.Provider
	loader  *DocumentLoader
	rootKey jwk.Key
	rootPub jwk.Set
	pend    PendingStorage // flows across requests: the store's, or in memory
	mu      sync.RWMutex   // guards revoked, and orders store and tree updates
	revoked *zk.IndexedTree
	// sourceKeys holds each accredited source's keys, parsed once.
	sourceKeys sourceKeys
	// feed, when the store has one, is where the tree comes from: lastSeq
	// is the last store entry in the tree, lastCatchUp when it was read.
	feed        RevocationFeed
	lastSeq     int64
	lastCatchUp time.Time
	loadErr     error // why the tree could not be loaded (p.revoked nil)
	loaded      atomic.Bool
}

// New validates cfg and loads the revocation tree from store.
func New(ctx context.Context, cfg Config, store Storage) (*Provider, error) {
	if cfg.Framework == nil || cfg.Key == nil || store == nil {
		return nil, errors.New("coreid: framework, key and store are required")
	}
	if len(cfg.TagKey) < 32 {
		return nil, errors.New("coreid: tag key must be at least 32 bytes")
	}
	if len(cfg.AdminToken) > 0 && len(cfg.AdminToken) < 32 {
		return nil, errors.New("coreid: admin token must be at least 32 bytes")
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
	if cfg.IsNotFound == nil {
		cfg.IsNotFound = func(error) bool { return false }
	}
	p := &Provider{cfg: cfg, store: store, keyHex: hex.EncodeToString(cfg.Key.Public().Bytes())}
	var err error
	if p.entry, err = cfg.Framework.Provider(p.keyHex); err != nil {
		return nil, fmt.Errorf("coreid: provider key is not accredited: %w", err)
	}
	if p.sourceKeys, err = parsedSourceKeys(cfg.Framework); err != nil {
		return nil, err
	}
	if p.loader, err = NewDocumentLoader(); err != nil {
		return nil, err
	}
	if err := p.initRootKey(); err != nil {
		return nil, err
	}
	if cfg.RevocationRefresh == 0 {
		p.cfg.RevocationRefresh = DefaultRevocationRefresh
	}
	p.pend = &memPending{}
	if ps, ok := store.(PendingStorage); ok {
		p.pend = ps
	}
	if feed, ok := store.(RevocationFeed); ok {
		// The tree builds in the background (a million entries take
		// seconds): the provider serves enrollments at once, and whatever
		// needs the tree waits on p.mu, locked until it is built.
		p.feed = feed
		p.mu.Lock()
		go func() {
			defer p.mu.Unlock()
			if err := p.loadFeed(context.WithoutCancel(ctx)); err != nil {
				p.loadErr = err
				slog.Error("coreid: the revocation tree could not be loaded", "err", err.Error())
				return
			}
			p.loaded.Store(true)
		}()
		return p, nil
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
	p.loaded.Store(true)
	return p, nil
}

func (p *Provider) initRootKey() error {
	k := p.cfg.RootKey
	if k == nil {
		seed := make([]byte, ed25519.SeedSize)
		if _, err := io.ReadFull(hkdf.New(sha256.New, p.cfg.Key.Bytes(), nil, []byte("mustard/coreid/revocation-root-key/v1")), seed); err != nil {
			return err
		}
		var err error
		if k, err = jwk.FromRaw(ed25519.NewKeyFromSeed(seed)); err != nil {
			return err
		}
	}
	if err := jwk.AssignKeyID(k); err != nil {
		return err
	}
	alg, err := rootAlg(k)
	if err != nil {
		return err
	}
	if err := k.Set(jwk.AlgorithmKey, alg); err != nil {
		return err
	}
	pub, err := k.PublicKey()
	if err != nil {
		return err
	}
	p.rootKey, p.rootPub = k, jwk.NewSet()
	return p.rootPub.AddKey(pub)
}

// Framework returns the trust framework the provider works under.
func (p *Provider) Framework() *trust.Document { return p.cfg.Framework }

// ID is the provider's identifier in the framework: the audience of the
// holder bindings it checks.
func (p *Provider) ID() string { return p.entry.ID }

// SourceCredential is one source credential and its format (a
// trust.Format constant; empty means JWT-VC).
type SourceCredential struct {
	Format     string
	Credential string
}

// EnrollRequest asks for a core credential.
type EnrollRequest struct {
	Source string // a JWT-VC; shorthand for one entry in Sources
	// Sources are the source credentials, at most MaxSources, each from a
	// different source issuer; their grades combine by the framework's
	// grade rule and their attributes must agree.
	Sources []SourceCredential
	// Nonce is the provider-issued enrollment nonce (NewNonce) that an
	// id_token or an SD-JWT Key Binding JWT carries; consumed once.
	Nonce         string
	Commitment    fr.Element // C = H(T_HOLDER, s)
	DeviceKeyHash fr.Element // zk.KeyHash(TagDevice, ...) of the wallet's TPM device key
	// Attestation is a ticket from VerifyAttestation for DeviceKeyHash;
	// empty means the device key is not attested (UnattestedMaxGrade).
	Attestation string
	// Reenroll replaces the person's current core credential (lost device)
	// and revokes it. Every source credential must have been issued after
	// the current credential was.
	Reenroll bool
}

// Enrollment is a signed core credential.
type Enrollment struct {
	Credential  zk.CoreCredential
	Signature   []byte
	ProviderKey string // hex
	MaxGrade    uint64
	ValidUntil  int64
	// Replaced reports that a re-enrollment revoked an earlier credential.
	Replaced bool
}

// NewNonce issues a single-use nonce for purpose (NonceEnroll or
// NonceRevoke), valid for NonceTTL.
func (p *Provider) NewNonce(ctx context.Context, purpose string) (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	n := base64.RawURLEncoding.EncodeToString(b)
	if err := p.store.CreateNonce(ctx, purpose, n, p.cfg.Now().Add(NonceTTL)); err != nil {
		return "", err
	}
	return n, nil
}

// VerifySource verifies one source credential in its format.
func (p *Provider) VerifySource(ctx context.Context, c SourceCredential, nonce string) (*Source, error) {
	now := p.cfg.Now()
	switch c.Format {
	case "", trust.FormatJWTVC:
		return verifyJWTVC(ctx, p.cfg.Framework, p.sourceKeys, c.Credential, now)
	case trust.FormatSDJWTVC:
		return verifySDJWTVC(ctx, p.cfg.Framework, p.sourceKeys, c.Credential, p.entry.ID, nonce, now)
	case trust.FormatOIDC:
		return verifyIDToken(ctx, p.cfg.Framework, p.sourceKeys, p.cfg.ClientIDs, c.Credential, nonce, now)
	case trust.FormatLDPVC:
		return verifyLDPVC(p.cfg.Framework, p.sourceKeys, p.loader, c.Credential, now)
	}
	return nil, ErrFormat
}

// derive verifies the source credentials of req (consuming its nonce and
// redeeming its attestation ticket) and fills in the core credential they
// earn from this provider: commitment, attributes, grade, expiry and
// device-key hash; the revocation nonce is left for the caller.
func (p *Provider) derive(ctx context.Context, req EnrollRequest, now time.Time) (cred zk.CoreCredential, srcs []*Source, maxGrade uint64, err error) {
	creds := req.Sources
	if req.Source != "" {
		creds = append([]SourceCredential{{Format: trust.FormatJWTVC, Credential: req.Source}}, creds...)
	}
	if len(creds) == 0 || len(creds) > MaxSources {
		return cred, nil, 0, fmt.Errorf("%w: between 1 and %d source credentials", ErrSource, MaxSources)
	}
	srcs = make([]*Source, 0, len(creds))
	bound := false
	for _, c := range creds {
		s, err := p.VerifySource(ctx, c, req.Nonce)
		if err != nil {
			return cred, nil, 0, err
		}
		bound = bound || s.Nonce != ""
		srcs = append(srcs, s)
	}
	combined, err := Combine(p.cfg.Framework, srcs)
	if err != nil {
		return cred, nil, 0, err
	}
	if req.Attestation != "" {
		if err := p.redeem(req.Attestation, req.DeviceKeyHash); err != nil {
			return cred, nil, 0, err
		}
	} else if p.cfg.UnattestedMaxGrade > 0 {
		combined.Grade = min(combined.Grade, p.cfg.UnattestedMaxGrade)
	}
	if bound {
		if err := p.store.ConsumeNonce(ctx, NonceEnroll, req.Nonce, now); err != nil {
			return cred, nil, 0, ErrNonce
		}
	}
	cred = zk.CoreCredential{Commitment: req.Commitment, DeviceKeyHash: req.DeviceKeyHash}
	for i := range cred.Attrs {
		cred.Attrs[i] = zk.Absent
	}
	for name, v := range combined.Attrs {
		a, ok := zk.AttrByName(name)
		if !ok {
			return cred, nil, 0, fmt.Errorf("%w: unknown attribute in framework mapping", ErrSource)
		}
		if cred.Attrs[a.Index], err = a.Encode(v); err != nil {
			return cred, nil, 0, fmt.Errorf("%w: %v", ErrSource, err)
		}
	}
	maxGrade, _ = zk.ParseGrade(p.entry.MaxGrade)
	cred.Grade = min(combined.Grade, maxGrade)
	cred.Expiry = min(now.Add(p.cfg.CredentialTTL).Unix(), p.entry.ValidUntil)
	return cred, srcs, maxGrade, nil
}

// Enroll verifies the source credentials, enforces one core identity per
// person and signs the core credential.
func (p *Provider) Enroll(ctx context.Context, req EnrollRequest) (*Enrollment, error) {
	now := p.cfg.Now()
	cred, srcs, maxGrade, err := p.derive(ctx, req, now)
	if err != nil {
		return nil, err
	}
	if cred.RevNonce, err = zk.RevocationNonce(); err != nil {
		return nil, err
	}
	sig, err := p.cfg.Key.Sign(cred.Message())
	if err != nil {
		return nil, err
	}
	tags := p.tags(srcs)
	rn := cred.RevNonce.Bytes()
	out := &Enrollment{Credential: cred, Signature: sig, ProviderKey: p.keyHex, MaxGrade: maxGrade, ValidUntil: p.entry.ValidUntil}
	if req.Reenroll {
		if err := p.replace(ctx, tags, srcs, rn[:], now); err != nil {
			return nil, err
		}
		out.Replaced = true
		return out, nil
	}
	if err := p.store.EnrollIdentity(ctx, tags, rn[:], now); err != nil {
		if p.cfg.IsDuplicate(err) {
			return nil, ErrDuplicate
		}
		return nil, err
	}
	return out, nil
}

// replace is a re-enrollment: the sources must name one existing identity
// and all be newer than it; the old credential is revoked in the same
// store transaction that moves the identity to the new one.
func (p *Provider) replace(ctx context.Context, tags [][]byte, srcs []*Source, newRevNonce []byte, now time.Time) error {
	var old []byte
	var since time.Time
	for _, tag := range tags {
		rn, at, err := p.store.Identity(ctx, tag)
		if p.cfg.IsNotFound(err) {
			continue
		}
		if err != nil {
			return err
		}
		if old != nil && !hmac.Equal(old, rn) {
			return ErrInconsistent
		}
		old, since = rn, at
	}
	if old == nil {
		return ErrNotEnrolled
	}
	for _, s := range srcs {
		if !s.IssuedAt.After(since) {
			return ErrStaleSource
		}
	}
	var oldNonce fr.Element
	if err := oldNonce.SetBytesCanonical(old); err != nil {
		return err
	}
	if err := p.replaceLocked(ctx, tags, old, newRevNonce, oldNonce, now); err != nil {
		return err
	}
	if zk.IsThresholdNonce(oldNonce) {
		// A k-of-n credential replaced by a single-provider one: its
		// credential-wide entries too.
		return p.RevokeCredential(ctx, oldNonce, ReasonReenrollment)
	}
	return nil
}

// replaceLocked moves the identity and revokes the old credential's entry
// in the store and the tree, in that order, under the tree's lock.
func (p *Provider) replaceLocked(ctx context.Context, tags [][]byte, old, newRevNonce []byte, oldNonce fr.Element, now time.Time) error {
	x := zk.RevocationEntry(p.cfg.Key.Public(), oldNonce)
	xb := x.Bytes()
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.treeErr(); err != nil {
		return err
	}
	if err := p.store.ReplaceIdentity(ctx, tags, old, newRevNonce, xb[:], ReasonReenrollment, now); err != nil {
		if p.cfg.IsDuplicate(err) {
			// Another re-enrollment of this person won the race.
			return ErrDuplicate
		}
		return err
	}
	if p.feed != nil {
		return p.catchUpLocked(ctx)
	}
	if p.revoked.Contains(x) {
		return nil
	}
	return p.revoked.Insert(x)
}

// tags are the uniqueness tags of the sources, without repeats.
func (p *Provider) tags(srcs []*Source) [][]byte {
	var out [][]byte
	seen := map[string]bool{}
	for _, s := range srcs {
		t := p.sourceTag(s.Issuer, s.Subject)
		if !seen[string(t)] {
			seen[string(t)] = true
			out = append(out, t)
		}
	}
	return out
}

// sourceTag is the tag of a person at src: per scheme when the framework
// declares a shared identifier scheme, else per source issuer.
func (p *Provider) sourceTag(src *trust.Source, subject string) []byte {
	if src.SubjectScheme != "" {
		return p.Tag("scheme:"+src.SubjectScheme, subject)
	}
	return p.Tag(src.ID, subject)
}

// Tag is the uniqueness tag of a source subject: HMAC-SHA-256 under the
// provider's tag key of the issuer (or "scheme:" and the framework's
// identifier scheme) and subject identifiers. Without the key, a stored
// tag says nothing about who it belongs to.
func (p *Provider) Tag(issuer, subject string) []byte {
	m := hmac.New(sha256.New, p.cfg.TagKey)
	m.Write([]byte(issuer))
	m.Write([]byte{0})
	m.Write([]byte(subject))
	return m.Sum(nil)
}
