package issuer

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/mustard-id/mustard/circuits/devicebound"
	"github.com/mustard-id/mustard/circuits/persona"
	"github.com/mustard-id/mustard/internal/sdjwt"
	"github.com/mustard-id/mustard/zk"
)

// NoncePurpose namespaces the issuer's nonces in a shared store.
const NoncePurpose = "issuer"

// Storage is what the issuer needs from a store.
type Storage interface {
	CreateNonce(ctx context.Context, purpose, nonce string, expires time.Time) error
	NonceValid(ctx context.Context, purpose, nonce string, now time.Time) (bool, error)
	ConsumeNonce(ctx context.Context, purpose, nonce string, now time.Time) error
	// RecordPersona stores an issuance with its grade and returns its
	// status index, a random free entry of the current list of listSize.
	RecordPersona(ctx context.Context, pseudonym []byte, vkID string, grade uint64, listSize int64, issued, expires time.Time) (int64, error)
	StatusStorage
	// ValidationByIndex and LatestByPseudonym answer the validation
	// service; unknown entries are errors Config.IsNotFound recognizes.
	ValidationByIndex(ctx context.Context, idx int64) (status uint8, grade uint64, expires time.Time, err error)
	LatestByPseudonym(ctx context.Context, pseudonym []byte) (int64, error)
}

// StatusStorage keeps the credentials' statuses (0 valid, 1 revoked, 2
// suspended, by status index) and a version per status list that every
// change bumps.
type StatusStorage interface {
	// SetStatus changes the status of the credential at idx (in list);
	// revocation is final. Unknown indexes and changes of a revoked
	// credential are errors that Config.IsNotFound and Config.IsFinal
	// recognize.
	SetStatus(ctx context.Context, idx, list int64, status uint8, now time.Time) error
	StatusVersion(ctx context.Context, list int64) (int64, error)
	// Statuses returns the non-valid statuses of indexes in [from, to).
	Statuses(ctx context.Context, from, to int64) (map[int64]uint8, error)
	LastStatusIndex(ctx context.Context) (int64, error)
}

// Config configures an Issuer.
type Config struct {
	ID             string            // issuer identifier: the iss of persona credentials (its URL)
	Key            jwk.Key           // current signing key (ES256 or EdDSA), kid set
	RetiredKeys    []RetiredKey      // earlier signing keys still published
	Keys           *zk.Keys          // persona circuit keys
	RegistryRoot   func() fr.Element // the trust framework's current registry root
	RevocationRoot func() fr.Element // the current revocation root
	CredentialTTL  time.Duration     // default 30 days
	NonceTTL       time.Duration     // default 5 minutes
	ClockSkew      time.Duration     // proof time vs. issuer clock; default 5 minutes
	Now            func() time.Time

	// BaseURL is the issuer's public base URL (scheme and host, no
	// trailing slash): status list URIs start with it. Required.
	BaseURL string
	// AdminToken is the bearer token of the provider-side status API
	// (revoke, suspend, reinstate); empty disables that API.
	AdminToken string
	// StatusTTL is the ttl of the status lists (how long relying parties
	// may cache them, and how often the issuer re-signs them); default 5
	// minutes. StatusValidity is their exp after iat; default 24 hours.
	StatusTTL, StatusValidity time.Duration
	// IsNotFound and IsFinal recognize the store's "unknown status index"
	// and "already revoked" errors.
	IsNotFound, IsFinal func(error) bool
	// DeviceBoundKeys, when set, are the device-bound circuit's keys
	// (circuits/devicebound): proofs under their verifying key, with the
	// request's DeviceR, are accepted too.
	DeviceBoundKeys *zk.Keys
	// Threshold, when set, lets the issuer accept k-of-n proofs
	// (circuits/threshold) and sets how many providers it requires.
	Threshold *Threshold
}

// Issuer is a transaction-identity provider.
type Issuer struct {
	cfg   Config
	store Storage
	lists listCache
	keys  keyring
}

// DefaultCredentialTTL is how long a persona credential is valid when
// Config.CredentialTTL is not set.
const DefaultCredentialTTL = 30 * 24 * time.Hour

// VCT is the SD-JWT VC type of a Mustard persona credential.
const VCT = "urn:mustard:vct:persona:1"

// New validates cfg.
func New(cfg Config, store Storage) (*Issuer, error) {
	if cfg.ID == "" || cfg.Key == nil || (cfg.Keys == nil && cfg.Threshold == nil) || cfg.RegistryRoot == nil || cfg.RevocationRoot == nil || store == nil {
		return nil, errors.New("issuer: id, key, circuit keys, roots and store are required")
	}
	if u, err := url.Parse(cfg.BaseURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(cfg.BaseURL, "/") {
		return nil, errors.New("issuer: the base URL must be an http(s) URL without a query or a trailing slash")
	}
	if cfg.StatusTTL == 0 {
		cfg.StatusTTL = 5 * time.Minute
	}
	if cfg.StatusValidity == 0 {
		cfg.StatusValidity = 24 * time.Hour
	}
	if cfg.StatusValidity <= cfg.StatusTTL {
		return nil, errors.New("issuer: status lists must stay valid longer than their ttl")
	}
	if cfg.IsNotFound == nil {
		cfg.IsNotFound = func(error) bool { return false }
	}
	if cfg.IsFinal == nil {
		cfg.IsFinal = func(error) bool { return false }
	}
	if err := checkSigningKey(cfg.Key); err != nil {
		return nil, err
	}
	if cfg.CredentialTTL == 0 {
		cfg.CredentialTTL = DefaultCredentialTTL
	}
	if cfg.NonceTTL == 0 {
		cfg.NonceTTL = 5 * time.Minute
	}
	if cfg.ClockSkew == 0 {
		cfg.ClockSkew = 5 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Issuer{cfg: cfg, store: store, keys: keyring{current: cfg.Key, retired: cfg.RetiredKeys}}, nil
}

// ID is the issuer identifier.
func (i *Issuer) ID() string { return i.cfg.ID }

// Nonce issues a nonce for one persona request for scope. The nonce names
// the scope (a hash of it after a dot), so a proof for any other scope is
// refused as such.
func (i *Issuer) Nonce(ctx context.Context, scope string) (string, time.Time, error) {
	if scope == "" || len(scope) > persona.MaxScopeLen {
		return "", time.Time{}, ErrStatement
	}
	exp := i.cfg.Now().Add(i.cfg.NonceTTL)
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", exp, err
	}
	n := base64.RawURLEncoding.EncodeToString(b) + "." + scopeTag(scope)
	if err := i.store.CreateNonce(ctx, NoncePurpose, n, exp); err != nil {
		return "", exp, err
	}
	return n, exp, nil
}

func scopeTag(scope string) string {
	h := sha256.Sum256([]byte(scope))
	return hex.EncodeToString(h[:8])
}

// Request asks for a persona credential.
type Request struct {
	Proof     persona.ProofJSON
	HolderKey jwk.Key // the persona's public key
	PoP       string  // SignPossession(personaKey, issuer ID, nonce)
	// Format is the credential format: FormatSDJWT (the default),
	// FormatVC2, FormatVC11, FormatLDPVC or FormatLDPVC11.
	Format string
	// DeviceR is a device-bound proof's device_r (devicebound.ProofJSON);
	// empty for a persona-circuit proof.
	DeviceR string
}

// Issued is a persona credential.
type Issued struct {
	Credential  string    // SD-JWT VC "<jwt>~<disclosure>~...~", a VC JWT, or a JSON-LD VC
	Format      string    // FormatSDJWT, FormatVC2, FormatVC11, FormatLDPVC or FormatLDPVC11
	StatusIndex int64     // the issuer's index of the credential (the admin API's)
	Status      StatusRef // where its status is published
	Pseudonym   string
	Expiry      time.Time
}

// Issue checks the request and issues the credential. Nothing is stored
// (and the nonce is not consumed) unless every check passes.
func (i *Issuer) Issue(ctx context.Context, req Request) (*Issued, error) {
	now := i.cfg.Now()
	st, format, err := i.admit(ctx, admission{
		proof: &req.Proof, deviceR: req.DeviceR, format: req.Format, holder: req.HolderKey, purpose: NoncePurpose, scoped: true,
		possession: func(st *persona.Statement) error {
			return verifyPossession(req.HolderKey, req.PoP, i.cfg.ID, st.Nonce)
		},
		commit: func(ctx context.Context, nonce string) error {
			if err := i.store.ConsumeNonce(ctx, NoncePurpose, nonce, now); err != nil {
				return ErrNonce
			}
			return nil
		},
	}, now)
	if err != nil {
		return nil, err
	}
	return i.issue(ctx, st, req.HolderKey, format, now)
}

// admission is one way to ask for a persona credential: the persona
// API (Issue) or OpenID4VCI (oid4vci.go). Both go through admit.
type admission struct {
	proof   *persona.ProofJSON
	deviceR string // a device-bound proof's device_r; empty for a persona-circuit proof
	format  string
	holder  jwk.Key // the persona key
	// possession checks the holder's proof of possession of the key for
	// the statement's nonce.
	possession func(st *persona.Statement) error
	purpose    string // the store namespace of the statement's nonce
	scoped     bool   // the nonce names its scope (Nonce)
	// live says the caller has just checked that the nonce is live
	// (OpenID4VCI's credential endpoint, for the key proof's c_nonce).
	live bool
	// commit consumes the single-use state (the nonce, and for OpenID4VCI
	// the access token) once every check passed.
	commit func(ctx context.Context, nonce string) error
}

// admit runs every issuance check on a persona request, cheapest first
// and the Groth16 verification last, then commits it. It returns the
// checked statement and the credential format.
func (i *Issuer) admit(ctx context.Context, a admission, now time.Time) (*persona.Statement, string, error) {
	format := a.format
	if format == "" {
		format = FormatSDJWT
	}
	if format != FormatSDJWT && format != FormatVC2 && format != FormatVC11 && !isLDP(format) {
		return nil, "", ErrFormat
	}
	st, err := persona.Decode(a.proof)
	if err != nil {
		return nil, "", fmt.Errorf("%w: %v", ErrStatement, err)
	}
	pub := &st.Public
	if pub.MinGrade < zk.GradeLow || pub.MinGrade > zk.GradeHigh {
		return nil, "", fmt.Errorf("%w: minimum grade must be low, substantial or high", ErrStatement)
	}
	pk, err := i.profile(st.VK)
	if err != nil {
		return nil, "", err
	}
	var binding *devicebound.Binding
	if pk.deviceBound {
		if _, binding, err = devicebound.Decode(&devicebound.ProofJSON{ProofJSON: *a.proof, DeviceR: a.deviceR}); err != nil {
			return nil, "", fmt.Errorf("%w: %v", ErrStatement, err)
		}
	}
	if pub.RegistryRoot != pk.registryRoot() {
		return nil, "", ErrRegistryRoot
	}
	if pub.RevocationRoot != pk.revocationRoot() {
		return nil, "", ErrRevocation
	}
	if d := time.Unix(pub.Now, 0).Sub(now); d > i.cfg.ClockSkew || d < -i.cfg.ClockSkew {
		return nil, "", ErrClock
	}
	if a.holder == nil {
		return nil, "", ErrHolderBinding
	}
	hb, err := HolderBinding(a.holder)
	if err != nil || hb != pub.HolderBinding {
		return nil, "", ErrHolderBinding
	}
	if err := a.possession(st); err != nil {
		return nil, "", err
	}
	if a.scoped {
		if _, tag, _ := strings.Cut(st.Nonce, "."); tag != scopeTag(st.Scope) {
			return nil, "", ErrScope
		}
	}
	if !a.live {
		if ok, err := i.store.NonceValid(ctx, a.purpose, st.Nonce, now); err != nil {
			return nil, "", err
		} else if !ok {
			return nil, "", ErrNonce
		}
	}
	if pk.deviceBound {
		if err := devicebound.Verify(pk.keys, st, binding); err != nil {
			return nil, "", ErrProof
		}
	} else if err := pk.verify(st.Proof, pub); err != nil {
		return nil, "", ErrProof
	}
	if err := a.commit(ctx, st.Nonce); err != nil {
		return nil, "", err
	}
	return st, format, nil
}

// issue records and signs the credential for a statement whose proof,
// nonce and holder binding were checked.
func (i *Issuer) issue(ctx context.Context, st *persona.Statement, holder jwk.Key, format string, now time.Time) (*Issued, error) {
	pub := &st.Public
	exp := now.Add(i.cfg.CredentialTTL)
	ps := pub.Pseudonym.Bytes()
	idx, err := i.store.RecordPersona(ctx, ps[:], st.VK, pub.MinGrade, ListSize, now, exp)
	if err != nil {
		return nil, err
	}
	visible, disclosable := persona.Claims(st)
	visible["persona_proof_vk"] = st.VK
	ref := i.StatusRef(idx)
	if format != FormatSDJWT {
		cred, err := i.signVC(format, visible, disclosable, holder, ref, now, exp)
		if err != nil {
			return nil, err
		}
		return &Issued{Credential: cred, Format: format, StatusIndex: idx, Status: ref, Pseudonym: zk.Hex(pub.Pseudonym), Expiry: exp}, nil
	}
	cred, err := sdjwt.Issue(sdjwt.IssueRequest{
		Issuer:      i.cfg.ID,
		VCT:         VCT,
		IssuedAt:    now,
		Expiry:      exp,
		Status:      ref.Claim(),
		Claims:      visible,
		Disclosable: disclosable,
		HolderKey:   holder,
	}, i.keys.signer())
	if err != nil {
		return nil, fmt.Errorf("issuer: %w", err)
	}
	return &Issued{Credential: cred, Format: format, StatusIndex: idx, Status: ref, Pseudonym: zk.Hex(pub.Pseudonym), Expiry: exp}, nil
}
