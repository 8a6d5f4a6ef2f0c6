package persona

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/mustard-id/mustard/circuits/persona"
	"github.com/mustard-id/mustard/coreid"
	"github.com/mustard-id/mustard/internal/keystore"
	"github.com/mustard-id/mustard/internal/trust"
	"github.com/mustard-id/mustard/issuer"
	"github.com/mustard-id/mustard/zk"
)

// Errors.
var (
	ErrNotEnrolled = errors.New("persona: the wallet holds no core credential: enroll first")
	ErrPredicate   = errors.New("persona: bad predicate")
)

// Wallet holds a sealed core secret and the core credential over it.
type Wallet struct {
	Sealer keystore.Sealer
	Sealed []byte // the core secret, sealed
	Core   *Core
	// Threshold is a k-of-n core credential (EnrollThreshold), when the
	// wallet holds one.
	Threshold *ThresholdCore
}

// Core is an enrolled core credential with what proving needs about its
// provider.
type Core struct {
	Credential  zk.CoreCredential
	Signature   []byte
	ProviderKey *zk.PublicKey
	MaxGrade    uint64
	ValidUntil  int64
}

// Create makes a new core secret and seals it under pin.
func Create(sealer keystore.Sealer, pin []byte) (*Wallet, error) {
	s, err := zk.RandomElement()
	if err != nil {
		return nil, err
	}
	b := s.Bytes()
	sealed, err := sealer.Seal(b[:], pin)
	if err != nil {
		return nil, fmt.Errorf("persona: seal core secret: %w", err)
	}
	return &Wallet{Sealer: sealer, Sealed: sealed}, nil
}

func (w *Wallet) secret(pin []byte) (fr.Element, error) {
	var s fr.Element
	b, err := w.Sealer.Unseal(w.Sealed, pin)
	if err != nil {
		return s, fmt.Errorf("persona: unseal core secret: %w", err)
	}
	defer clear(b)
	if err := s.SetBytesCanonical(b); err != nil {
		return s, fmt.Errorf("persona: sealed core secret is corrupt")
	}
	return s, nil
}

// Commitment returns C = H(T_HOLDER, s).
func (w *Wallet) Commitment(pin []byte) (fr.Element, error) {
	s, err := w.secret(pin)
	if err != nil {
		return fr.Element{}, err
	}
	return zk.Commit(s), nil
}

// DeviceKeyHash returns the hash of the keystore's device key, which the
// core credential commits to (zero when the keystore has none).
func (w *Wallet) DeviceKeyHash() fr.Element {
	pk, err := w.Sealer.DevicePublicKey()
	if err != nil || pk == nil {
		return fr.Element{}
	}
	return zk.DeviceKeyHash(pk)
}

// Accept checks an enrollment response against the wallet's commitment and
// the trust framework, and keeps the core credential.
func (w *Wallet) Accept(pin []byte, fw *trust.Document, e *coreid.EnrollmentJSON) error {
	cred, err := coreid.FromJSON(e.Credential)
	if err != nil {
		return err
	}
	c, err := w.Commitment(pin)
	if err != nil {
		return err
	}
	if cred.Commitment != c {
		return errors.New("persona: the provider signed another commitment")
	}
	entry, err := fw.Provider(e.ProviderKey)
	if err != nil {
		return fmt.Errorf("persona: the provider is not accredited: %w", err)
	}
	maxGrade, err := zk.ParseGrade(entry.MaxGrade)
	if err != nil {
		return err
	}
	kb, err := hex.DecodeString(e.ProviderKey)
	if err != nil {
		return err
	}
	pk, err := zk.ParsePublicKey(kb)
	if err != nil {
		return err
	}
	sig, err := hex.DecodeString(e.Signature)
	if err != nil {
		return err
	}
	if err := pk.Verify(cred.Message(), sig); err != nil {
		return fmt.Errorf("persona: core credential signature: %w", err)
	}
	w.Core = &Core{Credential: cred, Signature: sig, ProviderKey: pk, MaxGrade: maxGrade, ValidUntil: entry.ValidUntil}
	return nil
}

// Query is what a persona must prove.
type Query struct {
	Scope      string
	Nonce      string
	MinGrade   uint64
	Predicates []string // "age>=18", "nationality=NL", "residence_country in NL,DE,BE", "birth_date<=2000-01-01"
	Disclose   []string // schema attribute names
	Now        time.Time
}

// NewPersonaKey makes a fresh P-256 persona key: one per persona, so
// personas share nothing.
func NewPersonaKey() (jwk.Key, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	key, err := jwk.FromRaw(k)
	if err != nil {
		return nil, err
	}
	_ = jwk.AssignKeyID(key)
	return key, nil
}

// Statement builds the public and private inputs of a persona proof.
func (w *Wallet) Statement(pin []byte, fw *trust.Document, revoked []fr.Element, revRoot fr.Element, personaKey jwk.Key, q Query) (*persona.Public, *persona.Private, error) {
	if w.Core == nil {
		return nil, nil, ErrNotEnrolled
	}
	tree, err := zk.IndexedTreeFrom(coreid.RevocationDepth, revoked)
	if err != nil {
		return nil, nil, fmt.Errorf("persona: revocation snapshot: %w", err)
	}
	if tree.Root() != revRoot {
		return nil, nil, errors.New("persona: the revocation snapshot does not match its root")
	}
	return w.statement(pin, fw, tree, personaKey, q)
}

// statement is Statement against a revocation tree already built.
func (w *Wallet) statement(pin []byte, fw *trust.Document, tree *zk.IndexedTree, personaKey jwk.Key, q Query) (*persona.Public, *persona.Private, error) {
	if w.Core == nil {
		return nil, nil, ErrNotEnrolled
	}
	s, err := w.secret(pin)
	if err != nil {
		return nil, nil, err
	}
	reg, idx, err := fw.Registry()
	if err != nil {
		return nil, nil, err
	}
	keyHex := hex.EncodeToString(w.Core.ProviderKey.Bytes())
	leaf, ok := idx[keyHex]
	if !ok {
		return nil, nil, errors.New("persona: the credential's provider is no longer in the registry")
	}
	nm, err := tree.ProveAbsent(zk.RevocationEntry(w.Core.ProviderKey, w.Core.Credential.RevNonce))
	if err != nil {
		return nil, nil, errors.New("persona: this core credential has been revoked")
	}
	hb, err := issuer.HolderBinding(personaKey)
	if err != nil {
		return nil, nil, err
	}
	scope := zk.Scope(q.Scope)
	pub := &persona.Public{
		RegistryRoot:   reg.Root(),
		RevocationRoot: tree.Root(),
		Scope:          scope,
		Pseudonym:      zk.Pseudonym(s, scope),
		Now:            q.Now.Unix(),
		MinGrade:       q.MinGrade,
		HolderBinding:  hb,
		Nonce:          zk.Nonce(q.Nonce),
	}
	if len(q.Predicates) > persona.NumPredicates || len(q.Disclose) > persona.NumDisclosures {
		return nil, nil, fmt.Errorf("%w: at most %d predicates and %d disclosures", ErrPredicate, persona.NumPredicates, persona.NumDisclosures)
	}
	for i, p := range q.Predicates {
		if pub.Predicates[i], err = ParsePredicate(p, q.Now); err != nil {
			return nil, nil, err
		}
	}
	for i, name := range q.Disclose {
		a, ok := zk.AttrByName(name)
		if !ok {
			return nil, nil, fmt.Errorf("%w: unknown attribute %q", ErrPredicate, name)
		}
		if w.Core.Credential.Attrs[a.Index] == zk.Absent {
			return nil, nil, fmt.Errorf("%w: the core credential has no %s to disclose", ErrPredicate, name)
		}
		pub.Disclosures[i] = persona.Disclosure{Slot: persona.SlotOf(a.Index), Value: w.Core.Credential.Attrs[a.Index]}
	}
	priv := &persona.Private{
		Secret:      s,
		Credential:  w.Core.Credential,
		Signature:   w.Core.Signature,
		ProviderKey: w.Core.ProviderKey,
		MaxGrade:    w.Core.MaxGrade,
		ValidUntil:  w.Core.ValidUntil,
		Registry:    reg.Path(leaf),
		Revocation:  nm,
	}
	return pub, priv, nil
}

// Derive proves a persona for q and returns the wire form of the proof.
func (w *Wallet) Derive(ctx context.Context, keys *zk.Keys, pin []byte, fw *trust.Document, snap coreid.Snapshot, personaKey jwk.Key, q Query) (*persona.ProofJSON, error) {
	pub, priv, err := w.Statement(pin, fw, snap.Entries, snap.Root, personaKey, q)
	if err != nil {
		return nil, err
	}
	return w.prove(keys, pub, priv, q)
}

// prove checks, assigns and proves a statement.
func (w *Wallet) prove(keys *zk.Keys, pub *persona.Public, priv *persona.Private, q Query) (*persona.ProofJSON, error) {
	if err := persona.Check(pub, priv); err != nil {
		return nil, err
	}
	a, err := persona.Assign(pub, priv)
	if err != nil {
		return nil, err
	}
	proof, err := keys.Prove(a)
	if err != nil {
		return nil, err
	}
	j := persona.Encode(keys.VKID, q.Scope, q.Nonce, pub, proof)
	return &j, nil
}

// ParsePredicate parses a predicate: "age>=N" (birth_date <= today - N
// years), or "<attr><op><value>" with op one of = != <= >= and values as
// the schema normalizes them, or "<attr> in v1,v2,...".
func ParsePredicate(s string, now time.Time) (persona.Predicate, error) {
	bad := func(why string) (persona.Predicate, error) {
		return persona.Predicate{}, fmt.Errorf("%w %q: %s", ErrPredicate, s, why)
	}
	if rest, ok := strings.CutPrefix(s, "age>="); ok {
		n, err := strconv.Atoi(rest)
		if err != nil || n < 0 || n > 150 {
			return bad("age must be a whole number of years")
		}
		birth, _ := zk.AttrByName("birth_date")
		cutoff := zk.Days(now.UTC().AddDate(-n, 0, 0))
		return persona.Predicate{Slot: persona.SlotOf(birth.Index), Op: persona.OpLe, Value: zk.Int64(cutoff)}, nil
	}
	if name, list, ok := strings.Cut(s, " in "); ok {
		a, found := zk.AttrByName(strings.TrimSpace(name))
		if !found {
			return bad("unknown attribute")
		}
		var set []fr.Element
		for _, v := range strings.Split(list, ",") {
			e, err := a.Encode(strings.TrimSpace(v))
			if err != nil {
				return bad(err.Error())
			}
			set = append(set, e)
		}
		if len(set) > 1<<persona.SetDepth {
			return bad(fmt.Sprintf("at most %d values", 1<<persona.SetDepth))
		}
		t, err := zk.SetTree(persona.SetDepth, set)
		if err != nil {
			return bad(err.Error())
		}
		return persona.Predicate{Slot: persona.SlotOf(a.Index), Op: persona.OpIn, Value: t.Root(), Set: set}, nil
	}
	for _, op := range []string{"!=", "<=", ">=", "="} {
		name, v, ok := strings.Cut(s, op)
		if !ok {
			continue
		}
		a, found := zk.AttrByName(strings.TrimSpace(name))
		if !found {
			return bad("unknown attribute")
		}
		o, _ := persona.ParseOp(op)
		if (o == persona.OpLe || o == persona.OpGe) && !a.Comparable() {
			return bad("only dates and numbers can be compared")
		}
		e, err := a.Encode(strings.TrimSpace(v))
		if err != nil {
			return bad(err.Error())
		}
		return persona.Predicate{Slot: persona.SlotOf(a.Index), Op: o, Value: e}, nil
	}
	return bad("expected age>=N, attr<op>value or attr in a,b,c")
}
