package threshold

import (
	"errors"
	"fmt"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	tedwards "github.com/consensys/gnark-crypto/ecc/twistededwards"

	"github.com/mustard-id/mustard/circuits/persona"
	"github.com/mustard-id/mustard/zk"
)

// Public is the statement's public inputs: exactly the persona circuit's,
// so the wire form (persona.Encode, persona.Decode) carries both profiles.
// The threshold K is not an input: the verifying key fixes it.
type Public = persona.Public

// Endorsement is one provider's signature on the core credential, with
// what the wallet needs to prove the provider accredited: its key, its
// organisation registry leaf's fields (zk.ProviderOrgLeaf) and its path in
// that tree (trust.Document.OrgRegistry).
type Endorsement struct {
	Key        *zk.PublicKey
	Signature  []byte
	MaxGrade   uint64
	ValidUntil int64
	Org        fr.Element // zk.OrgID of the key's organisation
	Registry   zk.Path
}

// Private is the prover's secret witness: the persona circuit's, with K
// endorsements of one credential in place of one signature, and the
// credential's own revocation entry (zk.CredentialRevocationEntry) proven
// absent.
type Private struct {
	Secret       fr.Element
	Credential   zk.CoreCredential
	Endorsements []Endorsement
	Revocation   zk.NonMembership
}

// Errors for a statement the witness does not satisfy, found natively
// before proving so that the wallet can say what is wrong.
var (
	ErrStatement = errors.New("threshold circuit: statement does not hold")
	ErrShape     = errors.New("threshold circuit: malformed statement")
)

func attr(c *zk.CoreCredential, slot int) fr.Element {
	if slot == persona.NoAttr {
		return fr.Element{}
	}
	return c.Attrs[slot-1]
}

// checkEndorsement evaluates signer i's part of the statement natively.
func checkEndorsement(pub *Public, c *zk.CoreCredential, m fr.Element, e *Endorsement) string {
	if e.Key == nil || e.Key.Verify(m, e.Signature) != nil {
		return "the signature does not verify"
	}
	leaf := zk.ProviderOrgLeaf(e.Key, e.MaxGrade, e.ValidUntil, e.Org)
	if len(e.Registry.Siblings) != RegistryDepth || e.Registry.Index>>RegistryDepth != 0 || e.Registry.Root(leaf) != pub.RegistryRoot {
		return "the key is not in the registry"
	}
	if e.MaxGrade >= 1<<GradeBits || c.Grade > e.MaxGrade {
		return "the grade is above the provider's maximum"
	}
	if e.ValidUntil < pub.Now || e.ValidUntil >= 1<<TimeBits {
		return "the provider key is no longer valid"
	}
	return ""
}

// Check evaluates the whole statement for threshold k natively. It returns
// nil exactly when Assign's witness satisfies New(k), and otherwise says
// which part fails.
func Check(k int, pub *Public, priv *Private) error {
	if k < 1 || k > MaxK {
		return ErrThreshold
	}
	if err := pub.Validate(); err != nil {
		return fmt.Errorf("%w: %v", ErrShape, err)
	}
	if len(priv.Endorsements) != k {
		return fmt.Errorf("%w: %d endorsements for a threshold of %d", ErrShape, len(priv.Endorsements), k)
	}
	c := &priv.Credential
	fail := func(what string) error { return fmt.Errorf("%w: %s", ErrStatement, what) }
	if zk.Commit(priv.Secret) != c.Commitment {
		return fail("the secret does not open the credential's commitment")
	}
	if c.Grade >= 1<<GradeBits || c.Grade < pub.MinGrade {
		return fail("the grade is below the minimum")
	}
	if c.Expiry < pub.Now || c.Expiry >= 1<<TimeBits {
		return fail("the core credential has expired")
	}
	m := c.Message()
	for i := range priv.Endorsements {
		e := &priv.Endorsements[i]
		if why := checkEndorsement(pub, c, m, e); why != "" {
			return fail(fmt.Sprintf("signer %d: %s", i, why))
		}
		for j := range i {
			if priv.Endorsements[j].Key.A.X == e.Key.A.X {
				return fail(fmt.Sprintf("signers %d and %d are the same provider key", j, i))
			}
			if priv.Endorsements[j].Org == e.Org {
				return fail(fmt.Sprintf("signers %d and %d are keys of one organisation", j, i))
			}
		}
	}
	x := zk.CredentialRevocationEntry(c.RevNonce)
	if len(priv.Revocation.Path.Siblings) != RevocationDepth || priv.Revocation.Path.Index>>RevocationDepth != 0 || !priv.Revocation.Verify(pub.RevocationRoot, x) {
		return fail("the core credential is revoked (or the revocation witness is stale)")
	}
	if zk.Pseudonym(priv.Secret, pub.Scope) != pub.Pseudonym {
		return fail("the pseudonym is not H(secret, scope)")
	}
	for i, q := range pub.Predicates {
		if q.Op == persona.OpIn && q.Set == nil {
			return fail(fmt.Sprintf("predicate %d: in-set needs its set", i))
		}
		if !q.Holds(attr(c, q.Slot)) {
			return fail(fmt.Sprintf("predicate %d does not hold", i))
		}
	}
	for i, d := range pub.Disclosures {
		if attr(c, d.Slot) != d.Value {
			return fail(fmt.Sprintf("disclosure %d does not match the credential", i))
		}
	}
	return nil
}

// Choose picks k of a wallet's endorsements of one credential that can be
// proven together under pub: each verifies, is in the registry, allows the
// credential's grade and is valid at pub.Now, and no key or organisation
// repeats. It keeps the wallet's order and fails with ErrStatement when
// fewer than k qualify.
func Choose(k int, pub *Public, cred *zk.CoreCredential, all []Endorsement) ([]Endorsement, error) {
	if k < 1 || k > MaxK {
		return nil, ErrThreshold
	}
	m := cred.Message()
	var out []Endorsement
	seen, orgs := map[fr.Element]bool{}, map[fr.Element]bool{}
	for i := range all {
		e := &all[i]
		if checkEndorsement(pub, cred, m, e) != "" || seen[e.Key.A.X] || orgs[e.Org] {
			continue
		}
		seen[e.Key.A.X], orgs[e.Org] = true, true
		out = append(out, *e)
		if len(out) == k {
			return out, nil
		}
	}
	return nil, fmt.Errorf("%w: %d usable endorsements from distinct accredited organisations, %d needed", ErrStatement, len(out), k)
}

// Assign returns the full witness assignment for New(len(priv.Endorsements)).
// Call Check first for a clear error; Assign itself only fails on malformed
// input.
func Assign(pub *Public, priv *Private) (*Circuit, error) {
	k := len(priv.Endorsements)
	if k < 1 || k > MaxK {
		return nil, ErrThreshold
	}
	for i := range priv.Endorsements {
		e := &priv.Endorsements[i]
		if e.Key == nil || len(e.Signature) != 64 || len(e.Registry.Siblings) != RegistryDepth {
			return nil, fmt.Errorf("%w: endorsement %d: key, signature or path missing", ErrShape, i)
		}
	}
	// The persona circuit's witness builder fills every part the two
	// statements share (the credential, the revocation path, the in-set
	// paths); the first endorsement only satisfies its shape checks.
	e0 := &priv.Endorsements[0]
	pw, err := persona.Assign(pub, &persona.Private{
		Secret:      priv.Secret,
		Credential:  priv.Credential,
		Signature:   e0.Signature,
		ProviderKey: e0.Key,
		MaxGrade:    e0.MaxGrade,
		ValidUntil:  e0.ValidUntil,
		Registry:    e0.Registry,
		Revocation:  priv.Revocation,
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrShape, err)
	}
	w := fromPersona(k, pw)
	w.Secret, w.Attrs, w.Grade, w.Expiry = pw.Secret, pw.Attrs, pw.Grade, pw.Expiry
	w.RevNonce, w.DeviceKeyHash = pw.RevNonce, pw.DeviceKeyHash
	w.RevLowValue, w.RevLowNext, w.RevIndex, w.RevPath = pw.RevLowValue, pw.RevLowNext, pw.RevIndex, pw.RevPath
	w.SetIndex, w.SetPath = pw.SetIndex, pw.SetPath
	for i := range priv.Endorsements {
		e, s := &priv.Endorsements[i], &w.Signers[i]
		s.Key.Assign(tedwards.BN254, e.Key.Bytes())
		s.Signature.Assign(tedwards.BN254, e.Signature)
		s.MaxGrade = e.MaxGrade
		s.ValidUntil = e.ValidUntil
		s.Org = e.Org
		s.RegistryIndex = e.Registry.Index
		for j, sib := range e.Registry.Siblings {
			s.RegistryPath[j] = sib
		}
	}
	return w, nil
}

// PublicAssignment returns the assignment of the public inputs only, as a
// verifier of New(k) builds it.
func PublicAssignment(k int, pub *Public) *Circuit {
	return fromPersona(k, persona.PublicAssignment(pub))
}

func fromPersona(k int, pw *persona.Circuit) *Circuit {
	w := New(k)
	w.RegistryRoot, w.RevocationRoot, w.Scope, w.Pseudonym = pw.RegistryRoot, pw.RevocationRoot, pw.Scope, pw.Pseudonym
	w.Now, w.MinGrade, w.HolderBinding, w.Nonce = pw.Now, pw.MinGrade, pw.HolderBinding, pw.Nonce
	w.Predicates, w.Disclosures = pw.Predicates, pw.Disclosures
	return w
}
