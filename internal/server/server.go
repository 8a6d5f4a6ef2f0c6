// Package server is Mustard's one composition root: it opens the data
// directory (SQLite store, sealed keys, Groth16 keys, trust framework),
// builds the parties (coreid, issuer, verifier) and mounts their handlers
// behind one router with the middleware every endpoint gets: panic
// recovery, bounded bodies, problem+json errors, request logs without
// personal data.
package server

import (
	"cmp"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/lestrrat-go/jwx/v2/jwk"

	communitycircuit "github.com/mustard-id/mustard/circuits/community"
	"github.com/mustard-id/mustard/circuits/devicebound"
	"github.com/mustard-id/mustard/circuits/persona"
	"github.com/mustard-id/mustard/coreid"
	"github.com/mustard-id/mustard/internal/community"
	"github.com/mustard-id/mustard/internal/sdjwt"
	"github.com/mustard-id/mustard/internal/store"
	"github.com/mustard-id/mustard/internal/tlog"
	"github.com/mustard-id/mustard/internal/trust"
	"github.com/mustard-id/mustard/issuer"
	"github.com/mustard-id/mustard/oidc"
	"github.com/mustard-id/mustard/verifier"
	"github.com/mustard-id/mustard/zk"
)

// Options configure a Server.
type Options struct {
	DataDir string
	// Database is the store: "" or "sqlite" for the data directory's
	// mustard.db, or a postgres:// URL for a PostgreSQL database several
	// servers share (their data directories hold the same keys).
	Database string
	// Passphrase protects the keys at rest; empty means MUSTARD_PASSPHRASE,
	// and failing that a development passphrase kept in the data
	// directory (reported loudly).
	Passphrase string
	Progress   zk.Progress
	Now        func() time.Time
	// PublicURL is the base URL clients reach this server at: the OpenID
	// Provider's issuer identifier. Empty leaves the OpenID Provider out.
	PublicURL string
	// Federations are the identity providers this provider runs logins at
	// for federation enrollment (each must be a source of format oidc in
	// the framework).
	Federations []Federation
	// DevSources are added to a development framework when it is created
	// (a federation's IdP in tests and demos).
	DevSources []trust.Source
	// Governance pins the trust framework's governance: the threshold of
	// its keys that must sign the framework file. Nil means the
	// development model: the server's own governance key signs it alone.
	Governance *trust.Governance
	// RateLimit is each client's (IP address's) request rate per second,
	// with bursts of twice that; 0 means no limit.
	RateLimit float64
	// RegistrationToken is the initial access token for OIDC dynamic
	// client registration; empty means MUSTARD_OIDC_REGISTRATION_TOKEN,
	// and failing that a development token kept in the data directory.
	RegistrationToken string
	// AdminToken is the bearer token of the issuer's status API; empty
	// means MUSTARD_ADMIN_TOKEN, and failing that the API is disabled.
	AdminToken string
	// EKRoots is a PEM file of the TPM manufacturers' root CAs: when
	// set, a TPM attestation needs an EK certificate chaining to one of
	// them, in every framework (development ones included).
	EKRoots string
	// HTTPClient is what the server's verifier fetches status lists and
	// did:web documents with; nil means a client with a 10 s timeout.
	HTTPClient *http.Client
	// DeviceBound loads (or, the first time, sets up) the device-bound
	// circuit's keys (circuits/devicebound): the issuer then accepts
	// device-bound persona proofs, and /v1/zk/devicebound/files serves
	// the keys. A development setup takes about a minute on two cores.
	DeviceBound bool
	// Threshold K (2 to 16; 0 turns it off) loads (or, the first time,
	// sets up) the K-of-n circuit's keys (circuits/threshold): the issuer
	// and the verifier then accept K-of-n persona proofs, checked against
	// the framework's organisation registry and the framework-wide
	// revocation root (threshold.go), and /v1/zk/threshold-K/files serves
	// the keys. A development setup of K=2 takes about 12 CPU seconds.
	Threshold int
	// ThresholdRefresh is how often the other providers' revocation
	// snapshots are fetched for the framework-wide revocation root
	// (DefaultThresholdRefresh when 0); see revocationUnion for the
	// staleness bound.
	ThresholdRefresh time.Duration
}

// Federation is this provider's client registration at a federation's
// identity provider.
type Federation struct {
	Issuer       string `yaml:"issuer"`
	ClientID     string `yaml:"client_id"`
	ClientSecret string `yaml:"client_secret"`
}

// SampleSourceID is the issuer identifier of the sample government issuer
// that a development framework accredits.
const SampleSourceID = "https://gov.sample.mustard.example"

// Server is an open data directory with every party built.
type Server struct {
	Store      store.Store
	Keys       *zk.Keys
	Framework  *trust.Document
	Signed     []byte  // the signed framework
	Governance jwk.Set // its public governance keys
	Provider   *coreid.Provider
	Issuer     *issuer.Issuer
	Verifier   *verifier.Verifier
	// BaseURL is the server's public base URL: PublicURL, or
	// http://127.0.0.1:8080 without one. Status list URIs start with it.
	BaseURL string
	OIDC    *oidc.Provider // nil without a PublicURL
	// Communities runs communities; CommunityKeys are its statement
	// circuit's keys.
	Communities   *community.Service
	CommunityKeys *zk.Keys
	// DeviceBoundKeys are the device-bound circuit's keys (nil unless
	// Options.DeviceBound).
	DeviceBoundKeys *zk.Keys
	// ThresholdKeys are the K-of-n circuit's keys by K (nil unless
	// Options.Threshold).
	ThresholdKeys map[int]*zk.Keys
	// Federations runs federation enrollments (nil without any).
	Federations *coreid.Federations
	Log         *tlog.Log
	// LogKey is the verifier key of the log's checkpoints, which auditors pin.
	LogKey string
	// RegistrationToken is the OIDC initial access token in force.
	RegistrationToken string
	// SampleSource is the sample government issuer's private key
	// (development frameworks only): the demo uses it to issue source
	// credentials.
	SampleSource jwk.Key
	handler      http.Handler
	metrics      *metrics
	zkDir        string
	rateLimit    float64
	// governanceThreshold is the pinned council's threshold (0: the
	// development model, one key).
	governanceThreshold int
	// issuerKeys follows issuer key rotations (issuerkeys.go).
	issuerKeys issuerKeyState
}

// secrets is the sealed key bundle.
type secrets struct {
	Provider     []byte          `json:"provider"`               // EdDSA (BN254) core-credential key
	TagKey       []byte          `json:"tag_key"`                // uniqueness-tag HMAC key
	Issuer       json.RawMessage `json:"issuer"`                 // ES256 persona-credential key (JWK)
	Governance   json.RawMessage `json:"governance"`             // Ed25519 framework key (JWK)
	SampleSource json.RawMessage `json:"sample_source"`          // ES256 sample government issuer (JWK)
	OIDC         json.RawMessage `json:"oidc,omitempty"`         // ES256 ID token key (JWK)
	OIDCSecret   []byte          `json:"oidc_secret,omitempty"`  // HMAC key of codes and tokens
	OIDCRetired  []retiredKey    `json:"oidc_retired,omitempty"` // earlier ID token keys, still published
	LogKey       string          `json:"log_key,omitempty"`      // transparency log checkpoint signer (note key)
	LogOrigin    string          `json:"log_origin,omitempty"`   // the log's name in its checkpoints
	LogVKey      string          `json:"log_vkey,omitempty"`     // its verifier key (public)
	// IssuerRetired are earlier issuer keys, still published.
	IssuerRetired []issuerRetired `json:"issuer_retired,omitempty"`
}

// retiredKey is a signing key taken out of service at a time; it stays
// published until what it signed has expired.
type retiredKey struct {
	Key       json.RawMessage `json:"key"`
	RetiredAt int64           `json:"retired_at"`
}

// Open opens (creating on first start) the data directory.
func Open(ctx context.Context, opts Options) (*Server, error) {
	if opts.Progress == nil {
		opts.Progress = func(string) {}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if err := os.MkdirAll(opts.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("server: data directory: %w", err)
	}
	st, err := openStore(ctx, opts)
	if err != nil {
		return nil, err
	}
	s := &Server{Store: st, rateLimit: opts.RateLimit}
	if opts.Governance != nil {
		s.governanceThreshold = opts.Governance.Threshold
	}
	if err := s.open(ctx, opts); err != nil {
		st.Close()
		return nil, err
	}
	return s, nil
}

func (s *Server) open(ctx context.Context, opts Options) error {
	s.BaseURL = strings.TrimRight(cmp.Or(opts.PublicURL, "http://127.0.0.1:8080"), "/")
	ekRoots, nRoots, err := loadEKRoots(opts.EKRoots)
	if err != nil {
		return err
	}
	if ekRoots != nil {
		opts.Progress(fmt.Sprintf("TPM endorsement keys need a certificate from one of the %d manufacturer roots in %s", nRoots, opts.EKRoots))
	}
	pass, err := passphrase(opts)
	if err != nil {
		return err
	}
	sec, err := s.loadSecrets(ctx, pass, opts.Progress)
	if err != nil {
		return err
	}
	provKey, err := zk.ParsePrivateKey(sec.Provider)
	if err != nil {
		return err
	}
	issKey, err := jwk.ParseKey(sec.Issuer)
	if err != nil {
		return err
	}
	govKey, err := jwk.ParseKey(sec.Governance)
	if err != nil {
		return err
	}
	if s.SampleSource, err = jwk.ParseKey(sec.SampleSource); err != nil {
		return err
	}
	issuerID, err := DIDJWK(issKey)
	if err != nil {
		return err
	}
	if err := s.openLog(ctx, opts, pass, sec); err != nil {
		return err
	}
	didWeb := issuerDIDWeb(opts.PublicURL)
	if err := s.loadFramework(opts, govKey, provKey, issKey, cmp.Or(didWeb, issuerID)); err != nil {
		return err
	}
	// The issuer is its did:web where the framework lists it (rotatable
	// keys), else its key's did:jwk (issuerkeys.go).
	if iss, err := s.Framework.Issuer(didWeb); didWeb != "" && err == nil && listedWithoutKeys(iss) {
		issuerID = didWeb
		s.issuerKeys = issuerKeyState{pass: pass, did: didWeb, now: opts.Now}
		if blob, err := s.Store.Secret(ctx, "keys"); err == nil {
			s.issuerKeys.digest = sha256.Sum256(blob)
		}
		s.issuerKeys.checked = opts.Now()
	} else if didWeb != "" {
		opts.Progress("the trust framework does not list " + didWeb + " without pinned keys: the issuer is " + issuerID + " and its key cannot rotate")
	}
	issRetired, err := retiredIssuerKeys(sec.IssuerRetired, opts.Now())
	if err != nil {
		return err
	}
	s.zkDir = filepath.Join(opts.DataDir, "zk")
	if s.Keys, err = zk.LoadOrSetup(s.zkDir, "persona", &persona.Circuit{}, opts.Progress); err != nil {
		return err
	}
	if s.Provider, err = coreid.New(ctx, coreid.Config{
		Framework:   s.Framework,
		Key:         provKey,
		TagKey:      sec.TagKey,
		Now:         opts.Now,
		IsDuplicate: func(err error) bool { return errors.Is(err, store.ErrDuplicate) },
		IsNotFound:  func(err error) bool { return errors.Is(err, store.ErrNotFound) },
		AdminToken:  []byte(os.Getenv("MUSTARD_ADMIN_TOKEN")),
		ClientIDs:   clientIDs(opts.Federations),
		// Without a TPM attestation an enrollment is at most substantial:
		// a core secret in software can be copied.
		UnattestedMaxGrade: zk.GradeSubstantial,
		TrustEK:            trustEK(s.Framework, ekRoots, opts.Progress),
		EKRoots:            ekRoots,
	}, s.Store); err != nil {
		return err
	}
	if len(opts.Federations) > 0 && opts.PublicURL != "" {
		var cfgs []coreid.LoginConfig
		for _, f := range opts.Federations {
			cfgs = append(cfgs, coreid.LoginConfig{Issuer: f.Issuer, ClientID: f.ClientID, ClientSecret: f.ClientSecret})
		}
		s.Federations = s.Provider.NewFederations(strings.TrimRight(opts.PublicURL, "/"), cfgs)
	}
	root, err := s.Framework.Root()
	if err != nil {
		return err
	}
	if opts.DeviceBound {
		if s.DeviceBoundKeys, err = zk.LoadOrSetup(s.zkDir, "devicebound", &devicebound.Circuit{}, opts.Progress); err != nil {
			return err
		}
	}
	var thresholdCfg *issuer.Threshold
	var thresholdReg, thresholdRev func() fr.Element
	if opts.Threshold != 0 {
		if err := s.setupThreshold(opts); err != nil {
			return err
		}
		if thresholdReg, thresholdRev, err = s.thresholdRoots(opts, hexKey(provKey)); err != nil {
			return err
		}
		thresholdCfg = &issuer.Threshold{Keys: s.ThresholdKeys, RegistryRoot: thresholdReg, RevocationRoot: thresholdRev, MinProviders: 1}
	}
	if s.Issuer, err = issuer.New(issuer.Config{
		ID:             issuerID,
		Key:            issKey,
		RetiredKeys:    issRetired,
		Keys:           s.Keys,
		RegistryRoot:   func() fr.Element { return root },
		RevocationRoot: s.Provider.RevocationRoot,
		Now:            opts.Now,
		BaseURL:        s.BaseURL,
		AdminToken:     cmp.Or(opts.AdminToken, os.Getenv("MUSTARD_ADMIN_TOKEN")),
		IsNotFound:     func(err error) bool { return errors.Is(err, store.ErrNotFound) },
		IsFinal:        func(err error) bool { return errors.Is(err, store.ErrFinal) },

		DeviceBoundKeys: s.DeviceBoundKeys,
		Threshold:       thresholdCfg,
	}, s.Store); err != nil {
		return err
	}
	issuers, err := frameworkIssuers(s.Framework)
	if err != nil {
		return err
	}
	if s.issuerKeys.did != "" {
		// This server's own did:web issuer: its live keyring, current and
		// retired keys, no fetch from itself.
		others := issuers
		issuers = func(ctx context.Context, q sdjwt.KeyQuery) (jwk.Key, error) {
			if q.Issuer == s.issuerKeys.did {
				return s.ownIssuerKeys(ctx, q)
			}
			return others(ctx, q)
		}
	}
	if s.Verifier, err = verifier.New(verifier.Config{
		Issuers: issuers, Now: opts.Now, HTTPClient: opts.HTTPClient,
		ZK: s.Keys, RegistryRoot: func() fr.Element { return root }, RevocationRoot: s.Provider.RevocationRoot,
		DeviceBoundZK: s.DeviceBoundKeys,
		ThresholdZK:   s.ThresholdKeys, ThresholdRegistryRoot: thresholdReg, ThresholdRevocationRoot: thresholdRev,
	}); err != nil {
		return err
	}
	if opts.PublicURL != "" {
		if err := s.openOIDC(ctx, opts, pass, sec); err != nil {
			return err
		}
	}
	if s.CommunityKeys, err = zk.LoadOrSetup(s.zkDir, "community", &communitycircuit.Circuit{}, opts.Progress); err != nil {
		return err
	}
	if s.Communities, err = community.New(ctx, community.Config{
		Base: s.BaseURL, DB: s.Store.DB(), Keys: s.CommunityKeys, Verifier: s.Verifier, Nonces: s.Store,
		AdminToken: []byte(cmp.Or(opts.AdminToken, os.Getenv("MUSTARD_ADMIN_TOKEN"))), Now: opts.Now,
	}); err != nil {
		return err
	}
	s.handler = s.routes()
	return nil
}

// trustEK decides which TPM endorsement keys count as genuine TPMs
// beside their certificates. With manufacturer roots (Options.EKRoots)
// the certificate alone decides. Without, a development framework
// accepts any EK (the TPM simulator has no endorsement certificate) and
// any other none, so that enrollments there stay at most substantial
// (docs/threat-model.md).
func trustEK(fw *trust.Document, roots *x509.CertPool, progress zk.Progress) func(*ecdsa.PublicKey) bool {
	if roots != nil || fw.ID != "urn:mustard:framework:development" {
		return nil
	}
	progress("development framework: any TPM endorsement key is trusted (simulators have no EK certificate)")
	return func(*ecdsa.PublicKey) bool { return true }
}

func clientIDs(fs []Federation) map[string]string {
	m := map[string]string{}
	for _, f := range fs {
		m[f.Issuer] = f.ClientID
	}
	return m
}

// frameworkIssuers resolves persona-credential issuers' keys from the
// trust framework (only accredited issuers verify), with every key set
// parsed once here rather than on each verification.
func frameworkIssuers(fw *trust.Document) (_ sdjwt.KeyResolver, err error) {
	byIssuer := make(map[string]sdjwt.KeyResolver, len(fw.Issuers))
	for _, iss := range fw.Issuers {
		if strings.HasPrefix(iss.ID, "did:web:") && listedWithoutKeys(&iss) {
			// Keys from its DID document over TLS (issuerkeys.go).
			if byIssuer[iss.ID], err = didWebIssuers(fw); err != nil {
				return nil, err
			}
			continue
		}
		set, err := trust.KeySet(iss.JWKS)
		if err != nil {
			return nil, fmt.Errorf("server: issuer %s: %w", iss.ID, err)
		}
		byIssuer[iss.ID] = sdjwt.StaticKeys(iss.ID, set)
	}
	return func(ctx context.Context, q sdjwt.KeyQuery) (jwk.Key, error) {
		r, ok := byIssuer[q.Issuer]
		if !ok {
			return nil, trust.ErrUnknown
		}
		return r(ctx, q)
	}, nil
}

// Close closes the store.
func (s *Server) Close() error { return s.Store.Close() }

// Handler is the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

func passphrase(opts Options) ([]byte, error) {
	if opts.Passphrase != "" {
		return []byte(opts.Passphrase), nil
	}
	if p := os.Getenv("MUSTARD_PASSPHRASE"); p != "" {
		return []byte(p), nil
	}
	path := filepath.Join(opts.DataDir, "dev-passphrase")
	if b, err := os.ReadFile(path); err == nil {
		opts.Progress("WARNING: keys are sealed with the development passphrase in " + path + "; set MUSTARD_PASSPHRASE in production")
		return b, nil
	}
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	p := []byte(base64.RawURLEncoding.EncodeToString(b))
	if err := os.WriteFile(path, p, 0o600); err != nil {
		return nil, err
	}
	opts.Progress("WARNING: no MUSTARD_PASSPHRASE: keys are sealed with a development passphrase kept in " + path)
	return p, nil
}

func (s *Server) loadSecrets(ctx context.Context, pass []byte, progress zk.Progress) (*secrets, error) {
	var sec secrets
	blob, err := s.Store.Secret(ctx, "keys")
	if err == nil {
		sealedDEK, err := s.Store.Secret(ctx, "keys.dek")
		if err != nil {
			return nil, err
		}
		dek, err := unsealDEK(sealedDEK, pass)
		if err != nil {
			return nil, fmt.Errorf("server: unseal keys (wrong MUSTARD_PASSPHRASE?): %w", err)
		}
		defer clear(dek)
		b, err := openBox(dek, blob)
		if err != nil {
			return nil, fmt.Errorf("server: sealed keys are corrupt")
		}
		defer clear(b)
		if err := json.Unmarshal(b, &sec); err != nil {
			return nil, fmt.Errorf("server: sealed keys are corrupt")
		}
		return &sec, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	progress("creating provider, issuer and governance keys")
	pk, err := zk.GenerateKey(nil)
	if err != nil {
		return nil, err
	}
	sec.Provider = pk.Bytes()
	sec.TagKey = make([]byte, 32)
	if _, err := rand.Read(sec.TagKey); err != nil {
		return nil, err
	}
	if sec.Issuer, err = newECKey(); err != nil {
		return nil, err
	}
	if sec.SampleSource, err = newECKey(); err != nil {
		return nil, err
	}
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	gk, err := jwk.FromRaw(ed)
	if err != nil {
		return nil, err
	}
	_ = jwk.AssignKeyID(gk)
	_ = gk.Set(jwk.AlgorithmKey, "EdDSA")
	if sec.Governance, err = json.Marshal(gk); err != nil {
		return nil, err
	}
	if err := s.sealSecrets(ctx, pass, &sec); err != nil {
		return nil, err
	}
	return &sec, nil
}

// sealSecrets writes the key bundle, envelope-encrypted.
func (s *Server) sealSecrets(ctx context.Context, pass []byte, sec *secrets) error {
	plain, err := json.Marshal(sec)
	if err != nil {
		return err
	}
	defer clear(plain)
	// Envelope: a random data key sealed by the keystore encrypts the bundle.
	dek := make([]byte, 32)
	if _, err := rand.Read(dek); err != nil {
		return err
	}
	defer clear(dek)
	sealedDEK, _, err := sealDEK(dek, pass)
	if err != nil {
		return err
	}
	box, err := sealBox(dek, plain)
	if err != nil {
		return err
	}
	if err := s.Store.PutSecret(ctx, "keys.dek", sealedDEK); err != nil {
		return err
	}
	return s.Store.PutSecret(ctx, "keys", box)
}

func newECKey() (json.RawMessage, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	key, err := jwk.FromRaw(k)
	if err != nil {
		return nil, err
	}
	_ = jwk.AssignKeyID(key)
	_ = key.Set(jwk.AlgorithmKey, "ES256")
	return json.Marshal(key)
}

func publicSet(keys ...jwk.Key) (jwk.Set, json.RawMessage, error) {
	set := jwk.NewSet()
	for _, k := range keys {
		pub, err := k.PublicKey()
		if err != nil {
			return nil, nil, err
		}
		if err := set.AddKey(pub); err != nil {
			return nil, nil, err
		}
	}
	raw, err := json.Marshal(set)
	return set, raw, err
}

// DIDJWK returns the did:jwk identifier of a key's public half.
func DIDJWK(k jwk.Key) (string, error) {
	pub, err := k.PublicKey()
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(pub)
	if err != nil {
		return "", err
	}
	return "did:jwk:" + base64.RawURLEncoding.EncodeToString(b), nil
}

// loadFramework loads the signed framework from the data directory, or on
// first start writes a development framework that accredits this server's
// provider and issuer keys and the sample government issuer.
func (s *Server) loadFramework(opts Options, gov jwk.Key, prov *zk.PrivateKey, iss jwk.Key, issuerID string) error {
	govSet, _, err := publicSet(gov)
	if err != nil {
		return err
	}
	s.Governance = govSet
	path := filepath.Join(opts.DataDir, "trust-framework.jws")
	if b, err := os.ReadFile(path); err == nil {
		if opts.Governance != nil {
			// A governed framework: m-of-n of the pinned keys.
			if s.Framework, err = trust.ParseGoverned(b, *opts.Governance); err != nil {
				return fmt.Errorf("server: %s: %w", path, err)
			}
			if s.Governance, err = trust.KeySet(opts.Governance.Keys); err != nil {
				return err
			}
		} else if s.Framework, err = trust.Parse(b, govSet); err != nil {
			return fmt.Errorf("server: %s: %w (a framework signed by a governance council needs --governance-keys and --governance-threshold)", path, err)
		}
		s.Signed = b
		return nil
	}
	if opts.Governance != nil {
		return fmt.Errorf("server: no trust framework at %s: install the council's signed framework with `mustard framework install`", path)
	}
	opts.Progress("writing a DEVELOPMENT trust framework (sample government issuer at grade high)")
	_, srcJWKS, err := publicSet(s.SampleSource)
	if err != nil {
		return err
	}
	_, issJWKS, err := publicSet(iss)
	if err != nil {
		return err
	}
	now := opts.Now()
	doc := &trust.Document{
		ID:       "urn:mustard:framework:development",
		Version:  1,
		IssuedAt: now.Unix(),
		Sources: []trust.Source{{
			ID: SampleSourceID, Name: "Sample Government (development only)", Kind: "jwt-vc", Grade: "high",
			Types: []string{"PersonIdentificationData"}, JWKS: srcJWKS, SubjectClaim: "personal_number",
			Claims: map[string]string{"birthdate": "birth_date", "nationality": "nationality", "family_name": "family_name", "given_name": "given_name", "resident_country": "residence_country"},
		}},
		Providers: []trust.Provider{{ID: "urn:mustard:provider:local", Key: hexKey(prov), MaxGrade: "high", ValidUntil: now.AddDate(2, 0, 0).Unix()}},
		Issuers:   []trust.Issuer{devIssuer(issuerID, issJWKS)},
	}
	doc.Sources = append(doc.Sources, opts.DevSources...)
	signed, err := trust.Seal(doc, gov)
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, signed, 0o644); err != nil {
		return err
	}
	h := sha256.Sum256(signed)
	if err := s.Store.AppendLog(context.Background(), tlog.NewEntry(tlog.KindFramework, now, map[string]string{"document": hex.EncodeToString(h[:])})); err != nil {
		return err
	}
	s.Framework, s.Signed = doc, signed
	return nil
}

func hexKey(k *zk.PrivateKey) string { return fmt.Sprintf("%x", k.Public().Bytes()) }
