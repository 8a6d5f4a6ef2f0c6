// Package community runs communities — trusted compute cells: a community
// registers a manifest (purpose, rules for joining, what members share,
// how they leave and what is kept); a person joins with a persona for the
// community's scope after opting in to the manifest, at most once per
// person (the persona's pseudonym is unique per person and scope); members
// make anonymous, unlinkable statements, each with a per-topic nullifier
// (one vote per member per poll), verified by anyone (circuits/community);
// leaving removes the member's leaf from the membership tree.
package community

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	circuit "github.com/mustard-id/mustard/circuits/community"
	"github.com/mustard-id/mustard/internal/problem"
	"github.com/mustard-id/mustard/verifier"
	"github.com/mustard-id/mustard/zk"
)

// Manifest is a community's terms, shown to a person before they join.
type Manifest struct {
	Name           string   `json:"name"`
	Purpose        string   `json:"purpose"`
	Joining        string   `json:"joining"` // rules for joining
	Shares         string   `json:"shares"`  // what members share
	Leaving        string   `json:"leaving"` // how they leave, and what is kept
	MinGrade       string   `json:"min_grade,omitempty"`
	RequiredClaims []string `json:"required_claims,omitempty"` // e.g. age_over_18
}

// Hash is the manifest's digest: what a joining person consents to.
func (m *Manifest) Hash() string {
	b, _ := json.Marshal(m)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func (m *Manifest) check() error {
	if m.Name == "" || m.Purpose == "" || m.Joining == "" || m.Shares == "" || m.Leaving == "" {
		return fmt.Errorf("%w: a manifest states name, purpose, joining, shares and leaving", ErrManifest)
	}
	if len(m.Name) > 128 || len(m.Purpose)+len(m.Joining)+len(m.Shares)+len(m.Leaving) > 8<<10 || len(m.RequiredClaims) > 8 {
		return fmt.Errorf("%w: too large", ErrManifest)
	}
	if m.MinGrade != "" {
		if _, err := zk.ParseGrade(m.MinGrade); err != nil {
			return fmt.Errorf("%w: min_grade", ErrManifest)
		}
	}
	return nil
}

// Errors, each a stable problem type.
var (
	ErrManifest      = problem.New("invalid-community-manifest", http.StatusBadRequest, "The community manifest is incomplete or too large")
	ErrUnknown       = problem.New("unknown-community", http.StatusNotFound, "No such community")
	ErrExists        = problem.New("community-exists", http.StatusConflict, "A community with this id exists")
	ErrConsent       = problem.New("consent-required", http.StatusBadRequest, "The join does not consent to the community's current manifest")
	ErrAlreadyJoined = problem.New("already-member", http.StatusConflict, "This person is already a member of the community")
	ErrNotMember     = problem.New("not-a-member", http.StatusUnauthorized, "The membership token is unknown or the member has left")
	ErrStatement     = problem.New("invalid-statement", http.StatusBadRequest, "The statement is malformed, for an unknown tree root, or its proof does not verify")
	ErrNullifier     = problem.New("nullifier-used", http.StatusConflict, "This member already made a statement on this topic")
	ErrUnauthorized  = problem.New("unauthorized", http.StatusUnauthorized, "A valid administrator token is required")
	ErrFull          = problem.New("community-full", http.StatusConflict, "The community's membership tree is full")
)

// Schema is the service's tables, in types both SQLite and PostgreSQL
// take (the PostgreSQL store creates them in its migrations).
const Schema = `
CREATE TABLE IF NOT EXISTS community_groups (
	id         TEXT PRIMARY KEY,
	manifest   BYTEA NOT NULL,
	created_at BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS community_members (
	gid        TEXT NOT NULL,
	idx        BIGINT NOT NULL,
	pseudonym  TEXT NOT NULL,   -- the persona's pseudonym for the community's scope: one leaf per person
	leaf       BYTEA NOT NULL,  -- H(TagMember, memberSecret): a commitment
	token_hash BYTEA NOT NULL,  -- SHA-256 of the member's leave token
	left_at    BIGINT,
	PRIMARY KEY (gid, idx),
	UNIQUE (gid, pseudonym)
);
CREATE TABLE IF NOT EXISTS community_statements (
	gid        TEXT NOT NULL,
	topic      TEXT NOT NULL,
	nullifier  TEXT NOT NULL,
	message    TEXT NOT NULL,
	root       TEXT NOT NULL,
	proof      BYTEA NOT NULL,
	created_at BIGINT NOT NULL,
	PRIMARY KEY (gid, topic, nullifier)
);
`

// Nonces are the verifier's single-use join nonces.
type Nonces interface {
	CreateNonce(ctx context.Context, purpose, nonce string, expires time.Time) error
	ConsumeNonce(ctx context.Context, purpose, nonce string, now time.Time) error
}

// Config configures a Service.
type Config struct {
	Base       string   // the server's public URL
	DB         *sql.DB  // where communities live (Schema is applied)
	Keys       *zk.Keys // the community statement circuit's keys
	Verifier   *verifier.Verifier
	Nonces     Nonces
	AdminToken []byte // registers communities; none means registration is closed
	Now        func() time.Time
}

// Service runs communities.
type Service struct {
	cfg Config

	mu     sync.Mutex
	groups map[string]*group
}

type group struct {
	id       string
	manifest Manifest
	tree     *zk.Tree
	roots    []fr.Element // recent roots a statement may be proven against
}

// recentRoots is how many roots back a statement may be proven against:
// members join and leave while others prove.
const recentRoots = 16

var idRE = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{0,62}$`)

// New opens the service, loading every community's tree.
func New(ctx context.Context, cfg Config) (*Service, error) {
	if cfg.DB == nil || cfg.Keys == nil || cfg.Verifier == nil || cfg.Nonces == nil || cfg.Base == "" {
		return nil, errors.New("community: db, keys, verifier, nonces and base URL are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	for _, stmt := range strings.Split(Schema, ";") {
		if strings.TrimSpace(stmt) == "" {
			continue
		}
		if _, err := cfg.DB.ExecContext(ctx, stmt); err != nil {
			return nil, fmt.Errorf("community: migrate: %w", err)
		}
	}
	s := &Service{cfg: cfg, groups: map[string]*group{}}
	rows, err := cfg.DB.QueryContext(ctx, `SELECT id, manifest FROM community_groups`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var m []byte
		if err := rows.Scan(&id, &m); err != nil {
			return nil, err
		}
		g := &group{id: id, tree: zk.NewTree(circuit.Depth)}
		if err := json.Unmarshal(m, &g.manifest); err != nil {
			return nil, err
		}
		s.groups[id] = g
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, g := range s.groups {
		if err := s.loadTree(ctx, g); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (s *Service) loadTree(ctx context.Context, g *group) error {
	rows, err := s.cfg.DB.QueryContext(ctx, `SELECT leaf, left_at IS NOT NULL FROM community_members WHERE gid = ? ORDER BY idx`, g.id)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var leaf []byte
		var left bool
		if err := rows.Scan(&leaf, &left); err != nil {
			return err
		}
		var e fr.Element
		if !left {
			e.SetBytes(leaf)
		}
		if _, err := g.tree.Append(e); err != nil {
			return err
		}
	}
	g.roots = []fr.Element{g.tree.Root()}
	return rows.Err()
}

// Scope is the persona scope of a community: a person's pseudonym there
// is one per person.
func Scope(id string) string { return "community:" + id }

func (s *Service) audience(id string) string { return s.cfg.Base + "/v1/communities/" + id }

// Register creates a community.
func (s *Service) Register(ctx context.Context, id string, m Manifest) error {
	if !idRE.MatchString(id) {
		return fmt.Errorf("%w: the id is 1–63 lower-case letters, digits, dots and dashes", ErrManifest)
	}
	if err := m.check(); err != nil {
		return err
	}
	b, _ := json.Marshal(m)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.groups[id]; ok {
		return ErrExists
	}
	if err := insertOnce(ctx, s.cfg.DB, ErrExists, `INSERT INTO community_groups(id, manifest, created_at) VALUES(?, ?, ?) ON CONFLICT DO NOTHING`, id, b, s.cfg.Now().Unix()); err != nil {
		return err
	}
	g := &group{id: id, manifest: m, tree: zk.NewTree(circuit.Depth)}
	g.roots = []fr.Element{g.tree.Root()}
	s.groups[id] = g
	return nil
}

func (s *Service) group(id string) (*group, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.groups[id]
	if !ok {
		return nil, ErrUnknown
	}
	return g, nil
}

// JoinRequest is the presentation request a person answers to join.
func (s *Service) JoinRequest(ctx context.Context, id string) (*verifier.PresentationRequest, error) {
	g, err := s.group(id)
	if err != nil {
		return nil, err
	}
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	nonce := base64.RawURLEncoding.EncodeToString(b)
	exp := s.cfg.Now().Add(10 * time.Minute)
	if err := s.cfg.Nonces.CreateNonce(ctx, "community:"+id, nonce, exp); err != nil {
		return nil, err
	}
	req := &verifier.PresentationRequest{
		Type: verifier.RequestType, Audience: s.audience(id), Scope: Scope(id), Nonce: nonce,
		MinGrade: g.manifest.MinGrade, RequiredClaims: g.manifest.RequiredClaims,
		ResponseURI: s.audience(id) + "/members", ClientName: g.manifest.Name, ExpiresAt: exp.UTC(),
	}
	// What a new persona must prove for the claims: age_over_N by the
	// predicate age>=N, an attribute by disclosing it.
	for _, c := range g.manifest.RequiredClaims {
		if n, ok := strings.CutPrefix(c, "age_over_"); ok {
			req.Predicates = append(req.Predicates, "age>="+n)
		} else {
			req.Disclose = append(req.Disclose, c)
		}
	}
	return req, nil
}

// Join is a person's request to join.
type Join struct {
	Presentation string `json:"presentation"` // persona credential for Scope(id), key-bound to the join nonce
	Nonce        string `json:"nonce"`
	Leaf         string `json:"leaf"`    // hex member leaf H(TagMember, memberSecret)
	Consent      string `json:"consent"` // the manifest's Hash
}

// Joined is the answer: the member's index, the new root, and the token
// that lets the member leave.
type Joined struct {
	Index uint64 `json:"index"`
	Root  string `json:"root"`
	Token string `json:"token"`
}

// AddMember checks a join and adds the leaf: the persona must be for the
// community's scope, bound to the nonce, at the manifest's grade and
// claims; the person must not be a member already.
func (s *Service) AddMember(ctx context.Context, id string, j Join) (*Joined, error) {
	g, err := s.group(id)
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare([]byte(j.Consent), []byte(g.manifest.Hash())) != 1 {
		return nil, ErrConsent
	}
	leaf, err := zk.ParseHex(j.Leaf)
	if err != nil || leaf.IsZero() {
		return nil, fmt.Errorf("%w: leaf", ErrStatement)
	}
	pol := verifier.Policy{Audience: s.audience(id), Scope: Scope(id), Nonce: j.Nonce, RequiredClaims: g.manifest.RequiredClaims}
	if g.manifest.MinGrade != "" {
		pol.MinGrade, _ = zk.ParseGrade(g.manifest.MinGrade)
	}
	v, err := s.cfg.Verifier.Verify(ctx, j.Presentation, pol)
	if err != nil {
		return nil, err
	}
	if err := s.cfg.Nonces.ConsumeNonce(ctx, "community:"+id, j.Nonce, s.cfg.Now()); err != nil {
		return nil, verifier.ErrNonce
	}
	tb := make([]byte, 32)
	_, _ = rand.Read(tb)
	token := base64.RawURLEncoding.EncodeToString(tb)
	th := sha256.Sum256([]byte(token))
	s.mu.Lock()
	defer s.mu.Unlock()
	idx := g.tree.Len()
	if idx >= 1<<circuit.Depth {
		return nil, ErrFull
	}
	lb := leaf.Bytes()
	if err := insertOnce(ctx, s.cfg.DB, ErrAlreadyJoined, `INSERT INTO community_members(gid, idx, pseudonym, leaf, token_hash) VALUES(?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, id, idx, v.Pseudonym, lb[:], th[:]); err != nil {
		return nil, err
	}
	if _, err := g.tree.Append(leaf); err != nil {
		return nil, err
	}
	root := g.pushRoot()
	return &Joined{Index: idx, Root: zk.Hex(root), Token: token}, nil
}

func (g *group) pushRoot() fr.Element {
	r := g.tree.Root()
	g.roots = append(g.roots, r)
	if len(g.roots) > recentRoots {
		g.roots = g.roots[len(g.roots)-recentRoots:]
	}
	return r
}

// Leave removes the member holding token: its leaf becomes empty, so no
// proof against a later root can use it. Its statements stay, anonymous,
// as the manifest says.
func (s *Service) Leave(ctx context.Context, id, token string) error {
	g, err := s.group(id)
	if err != nil {
		return err
	}
	th := sha256.Sum256([]byte(token))
	s.mu.Lock()
	defer s.mu.Unlock()
	var idx uint64
	err = s.cfg.DB.QueryRowContext(ctx, `SELECT idx FROM community_members WHERE gid = ? AND token_hash = ? AND left_at IS NULL`, id, th[:]).Scan(&idx)
	if err != nil {
		return ErrNotMember
	}
	if _, err := s.cfg.DB.ExecContext(ctx, `UPDATE community_members SET left_at = ? WHERE gid = ? AND idx = ?`, s.cfg.Now().Unix(), id, idx); err != nil {
		return err
	}
	if err := g.tree.Set(idx, fr.Element{}); err != nil {
		return err
	}
	// Roots from before the leave would still admit the leaver's proofs.
	g.roots = []fr.Element{g.tree.Root()}
	return nil
}

// Statement is an anonymous member statement.
type Statement struct {
	Topic     string `json:"topic"`
	Message   string `json:"message"`
	Root      string `json:"root"`
	Nullifier string `json:"nullifier"`
	Proof     string `json:"proof"` // base64url Groth16 proof
}

func (st *Statement) public() (*circuit.Public, []byte, error) {
	if st.Topic == "" || len(st.Topic) > 256 || len(st.Message) > 4<<10 || len(st.Proof) > 1024 {
		return nil, nil, ErrStatement
	}
	root, err1 := zk.ParseHex(st.Root)
	null, err2 := zk.ParseHex(st.Nullifier)
	proof, err3 := base64.RawURLEncoding.DecodeString(st.Proof)
	if err1 != nil || err2 != nil || err3 != nil {
		return nil, nil, ErrStatement
	}
	return &circuit.Public{Root: root, Topic: circuit.Topic(st.Topic), Nullifier: null, Signal: circuit.Signal(st.Message)}, proof, nil
}

// Say checks a statement (a recent root, a valid proof, a fresh nullifier
// for its topic) and records it.
func (s *Service) Say(ctx context.Context, id string, st Statement) error {
	g, err := s.group(id)
	if err != nil {
		return err
	}
	pub, proof, err := st.public()
	if err != nil {
		return err
	}
	s.mu.Lock()
	recent := slices.Contains(g.roots, pub.Root)
	s.mu.Unlock()
	if !recent {
		return fmt.Errorf("%w: not a recent root of the membership tree", ErrStatement)
	}
	if err := s.cfg.Keys.Verify(proof, circuit.PublicAssignment(pub)); err != nil {
		return ErrStatement
	}
	return insertOnce(ctx, s.cfg.DB, ErrNullifier, `INSERT INTO community_statements(gid, topic, nullifier, message, root, proof, created_at) VALUES(?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		id, st.Topic, st.Nullifier, st.Message, st.Root, proof, s.cfg.Now().Unix())
}

// insertOnce runs an INSERT … ON CONFLICT DO NOTHING: a row that exists
// already is conflict, any other failure is the database's.
func insertOnce(ctx context.Context, db *sql.DB, conflict error, query string, args ...any) error {
	res, err := db.ExecContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("community: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return conflict
	}
	return nil
}

// Statements lists a topic's statements, with their proofs: anyone can
// check each against the root it names and count one per nullifier.
func (s *Service) Statements(ctx context.Context, id, topic string) ([]Statement, error) {
	if _, err := s.group(id); err != nil {
		return nil, err
	}
	rows, err := s.cfg.DB.QueryContext(ctx, `SELECT topic, message, root, nullifier, proof FROM community_statements WHERE gid = ? AND topic = ? ORDER BY created_at LIMIT 1000`, id, topic)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Statement{}
	for rows.Next() {
		var st Statement
		var proof []byte
		if err := rows.Scan(&st.Topic, &st.Message, &st.Root, &st.Nullifier, &proof); err != nil {
			return nil, err
		}
		st.Proof = base64.RawURLEncoding.EncodeToString(proof)
		out = append(out, st)
	}
	return out, rows.Err()
}

// Info is a community's public state.
type Info struct {
	ID           string   `json:"id"`
	Manifest     Manifest `json:"manifest"`
	ManifestHash string   `json:"manifest_hash"`
	Root         string   `json:"root"`
	Leaves       []string `json:"leaves"`     // hex member leaves ("0" for left members): members build their paths from them
	CircuitVK    string   `json:"circuit_vk"` // the statement circuit's verifying key id
}

// Info returns a community's manifest, root and leaves.
func (s *Service) Info(id string) (*Info, error) {
	g, err := s.group(id)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	info := &Info{ID: id, Manifest: g.manifest, ManifestHash: g.manifest.Hash(), Root: zk.Hex(g.tree.Root()), Leaves: make([]string, 0, g.tree.Len()), CircuitVK: s.cfg.Keys.VKID}
	for i := range g.tree.Len() {
		l, _ := g.tree.Leaf(i)
		info.Leaves = append(info.Leaves, zk.Hex(l))
	}
	return info, nil
}
