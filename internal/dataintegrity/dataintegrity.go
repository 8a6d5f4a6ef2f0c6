package dataintegrity

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/mr-tron/base58"
	jsonld "github.com/piprate/json-gold/ld"
)

// The cryptosuites.
const (
	// EdDSA is eddsa-rdfc-2022: Ed25519 over SHA-256 hashes.
	EdDSA = "eddsa-rdfc-2022"
	// ECDSA is ecdsa-rdfc-2019: ECDSA on P-256 with SHA-256, or on P-384
	// with SHA-384, the curve being the key's.
	ECDSA = "ecdsa-rdfc-2019"
)

// ProofType is the type of a Data Integrity proof.
const ProofType = "DataIntegrityProof"

// Proof purposes (vc-data-integrity §2.2).
const (
	// PurposeAssertion is an issuer's: the proof asserts the document.
	PurposeAssertion = "assertionMethod"
	// PurposeAuthentication is a holder's: the proof authenticates the
	// presenter to a verifier (with its challenge and domain).
	PurposeAuthentication = "authentication"
)

// Embedded contexts.
const (
	// CredentialsV2Context is the W3C VC 2.0 base context (it defines
	// DataIntegrityProof and BitstringStatusListEntry).
	CredentialsV2Context = "https://www.w3.org/ns/credentials/v2"
	// PersonaContext is Mustard's context of persona credentials.
	PersonaContext = "https://w3id.org/mustard/persona/v1"
)

// Errors. A key resolver's errors are returned as they are.
var (
	// ErrMalformed: the document or its proof is not what the
	// cryptosuites accept (JSON-LD, contexts, proof fields, bounds).
	ErrMalformed = errors.New("dataintegrity: malformed document or proof")
	// ErrSignature: the proof's signature, purpose, cryptosuite, key,
	// challenge or domain does not verify.
	ErrSignature = errors.New("dataintegrity: the proof does not verify")
	// ErrExpired: the proof was created in the future or has expired.
	ErrExpired = errors.New("dataintegrity: the proof is not valid now")
	// ErrUnknownContext is a loader's refusal of a context it does not
	// hold.
	ErrUnknownContext = errors.New("dataintegrity: JSON-LD context is not one of the embedded contexts")
)

// Bounds on what is canonicalized. RDFC-1.0 is exponential in the worst
// case ("dataset poisoning", RDFC-1.0 §4.4): json-gold v0.4.2 takes 13 s
// on a clique of 8 indistinguishable blank nodes and 106 s on 9. A
// document whose blank nodes are not all told apart by their first-degree
// hashes is refused before the N-degree step could run, so
// canonicalization stays linear in the quads.
const (
	MaxQuads      = 2048
	MaxBlankNodes = 64
	// MaxDepth bounds the nesting of a document's JSON.
	MaxDepth = 16
	// skew is the clock skew allowed on created.
	skew = time.Minute
)

//go:embed contexts/*.jsonld
var contextFiles embed.FS

// Context returns an embedded context document by URL: the VC 2.0 base
// context and Mustard's persona context.
func Context(url string) ([]byte, bool) {
	file, ok := map[string]string{
		CredentialsV2Context: "contexts/credentials-v2.jsonld",
		PersonaContext:       "contexts/persona-v1.jsonld",
	}[url]
	if !ok {
		return nil, false
	}
	b, err := contextFiles.ReadFile(file)
	return b, err == nil
}

// Loader is an offline JSON-LD document loader: it serves the contexts it
// was built with and refuses every other URL (ErrUnknownContext).
type Loader struct {
	docs map[string]*jsonld.RemoteDocument
}

// NewLoader returns a loader of the embedded contexts plus extra
// (URL → context document).
func NewLoader(extra map[string][]byte) (*Loader, error) {
	l := &Loader{docs: map[string]*jsonld.RemoteDocument{}}
	all := map[string][]byte{}
	for _, u := range []string{CredentialsV2Context, PersonaContext} {
		all[u], _ = Context(u)
	}
	for u, b := range extra {
		all[u] = b
	}
	for u, b := range all {
		doc, err := jsonld.DocumentFromReader(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("dataintegrity: context %s: %w", u, err)
		}
		l.docs[u] = &jsonld.RemoteDocument{DocumentURL: u, Document: doc}
	}
	return l, nil
}

// LoadDocument implements json-gold's DocumentLoader.
func (l *Loader) LoadDocument(u string) (*jsonld.RemoteDocument, error) {
	if d, ok := l.docs[u]; ok {
		return d, nil
	}
	return nil, ErrUnknownContext
}

// Has reports whether the loader holds the context u.
func (l *Loader) Has(u string) bool { _, ok := l.docs[u]; return ok }

// Options are a proof's options (vc-data-integrity §2.1).
type Options struct {
	// VerificationMethod names the key (a DID URL or URL). Required.
	VerificationMethod string
	// Purpose is the proof purpose; default PurposeAssertion.
	Purpose string
	// Created is the proof's creation time; zero leaves it out.
	Created time.Time
	// Expires, when set, ends the proof's validity.
	Expires time.Time
	// Challenge and Domain, when set, bind an authentication proof to one
	// verifier's request (§2.1: "challenge", "domain").
	Challenge, Domain string
}

// Sign returns doc with a DataIntegrityProof under key: cryptosuite
// eddsa-rdfc-2022 for an ed25519.PrivateKey, ecdsa-rdfc-2019 for an
// *ecdsa.PrivateKey on P-256 or P-384 (any crypto.Signer with such a
// public key, e.g. a TPM's). doc is not modified; the result carries the
// proof, its values as encoding/json decodes them (what a verifier
// canonicalizes). Contexts are loaded only through loader.
func Sign(doc map[string]any, key crypto.Signer, loader jsonld.DocumentLoader, opts Options) (map[string]any, error) {
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("dataintegrity: sign: %w", err)
	}
	doc = nil
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("dataintegrity: sign: %w", err)
	}
	if _, ok := doc["proof"]; ok {
		return nil, fmt.Errorf("%w: the document already has a proof", ErrMalformed)
	}
	if opts.VerificationMethod == "" {
		return nil, fmt.Errorf("%w: no verification method", ErrMalformed)
	}
	suite := EdDSA
	if _, ok := key.Public().(*ecdsa.PublicKey); ok {
		suite = ECDSA
	}
	newHash, err := suiteHash(suite, key.Public())
	if err != nil {
		return nil, err
	}
	proof := map[string]any{
		"type":               ProofType,
		"cryptosuite":        suite,
		"verificationMethod": opts.VerificationMethod,
		"proofPurpose":       cmpOr(opts.Purpose, PurposeAssertion),
	}
	if !opts.Created.IsZero() {
		proof["created"] = opts.Created.UTC().Format(time.RFC3339)
	}
	if !opts.Expires.IsZero() {
		proof["expires"] = opts.Expires.UTC().Format(time.RFC3339)
	}
	if opts.Challenge != "" {
		proof["challenge"] = opts.Challenge
	}
	if opts.Domain != "" {
		proof["domain"] = opts.Domain
	}
	hashData, err := HashData(doc, proof, loader, newHash)
	if err != nil {
		return nil, err
	}
	var sig []byte
	switch k := key.Public().(type) {
	case ed25519.PublicKey:
		if sig, err = key.Sign(rand.Reader, hashData, crypto.Hash(0)); err != nil {
			return nil, fmt.Errorf("dataintegrity: sign: %w", err)
		}
	case *ecdsa.PublicKey:
		h := newHash()
		h.Write(hashData)
		var r, s *big.Int
		if ek, ok := key.(*ecdsa.PrivateKey); ok {
			r, s, err = ecdsa.Sign(rand.Reader, ek, h.Sum(nil))
		} else {
			r, s, err = signASN1(key, h.Sum(nil))
		}
		if err != nil {
			return nil, fmt.Errorf("dataintegrity: sign: %w", err)
		}
		n := (k.Curve.Params().BitSize + 7) / 8
		sig = make([]byte, 2*n)
		r.FillBytes(sig[:n])
		s.FillBytes(sig[n:])
	default:
		return nil, fmt.Errorf("%w: unsupported key %T", ErrSignature, k)
	}
	proof["proofValue"] = "z" + base58.Encode(sig)
	doc["proof"] = proof
	return doc, nil
}

// signASN1 signs digest with an opaque ECDSA crypto.Signer (ASN.1 DER
// output) and returns r, s.
func signASN1(key crypto.Signer, digest []byte) (*big.Int, *big.Int, error) {
	der, err := key.Sign(rand.Reader, digest, crypto.Hash(0))
	if err != nil {
		return nil, nil, err
	}
	var sig struct{ R, S *big.Int }
	if _, err := asn1Unmarshal(der, &sig); err != nil {
		return nil, nil, err
	}
	return sig.R, sig.S, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// KeyResolver returns the public key a verification method names, of a
// type the cryptosuite uses (ed25519.PublicKey for eddsa-rdfc-2022,
// *ecdsa.PublicKey on P-256 or P-384 for ecdsa-rdfc-2019). Its errors
// are returned by Verify as they are.
type KeyResolver func(verificationMethod, cryptosuite string) (crypto.PublicKey, error)

// VerifyOptions are what a verifier expects of a proof.
type VerifyOptions struct {
	// Purpose is the required proof purpose; default PurposeAssertion.
	Purpose string
	// Challenge and Domain, when set, must be the proof's (compared in
	// constant time); when empty, the proof may carry none.
	Challenge, Domain string
	Now               time.Time
}

// Proof is a verified proof's configuration.
type Proof struct {
	Cryptosuite        string
	VerificationMethod string
	Purpose            string
	Challenge, Domain  string
	Created            time.Time // zero when the proof does not say
	Expires            time.Time // zero when the proof does not say
}

// Verify verifies doc's embedded DataIntegrityProof (vc-data-integrity
// §4.4, the cryptosuites' "Verify Proof"): one proof object of type
// DataIntegrityProof, a supported cryptosuite, the expected purpose,
// challenge and domain, created not in the future, expires not past, a
// key from resolve that fits the cryptosuite, and the signature over
// hashData. Contexts are loaded only through loader. doc is not modified.
func Verify(doc map[string]any, loader jsonld.DocumentLoader, resolve KeyResolver, opts VerifyOptions) (*Proof, error) {
	proof, ok := doc["proof"].(map[string]any)
	if !ok {
		// Absent, or a proof set / chain (an array): one proof per
		// document.
		return nil, fmt.Errorf("%w: exactly one proof object", ErrMalformed)
	}
	for _, k := range []string{"type", "cryptosuite", "proofPurpose", "verificationMethod", "proofValue"} {
		if _, ok := proof[k].(string); !ok {
			return nil, fmt.Errorf("%w: proof.%s must be a string", ErrMalformed, k)
		}
	}
	for _, k := range []string{"challenge", "domain"} {
		if v, ok := proof[k]; ok {
			if _, ok := v.(string); !ok {
				return nil, fmt.Errorf("%w: proof.%s must be a string", ErrMalformed, k)
			}
		}
	}
	str := func(k string) string { s, _ := proof[k].(string); return s }
	out := &Proof{
		Cryptosuite: str("cryptosuite"), VerificationMethod: str("verificationMethod"), Purpose: str("proofPurpose"),
		Challenge: str("challenge"), Domain: str("domain"),
	}
	if str("type") != ProofType || (out.Cryptosuite != EdDSA && out.Cryptosuite != ECDSA) {
		return nil, fmt.Errorf("%w: unsupported proof type or cryptosuite", ErrSignature)
	}
	if out.Purpose != cmpOr(opts.Purpose, PurposeAssertion) {
		return nil, fmt.Errorf("%w: proof purpose must be %s", ErrSignature, cmpOr(opts.Purpose, PurposeAssertion))
	}
	// vc-data-integrity §4.4 step 5-7: a verifier that sent a challenge or
	// names its domain requires them.
	if opts.Challenge != "" && subtle.ConstantTimeCompare([]byte(out.Challenge), []byte(opts.Challenge)) != 1 {
		return nil, fmt.Errorf("%w: wrong challenge", ErrSignature)
	}
	if opts.Domain != "" && out.Domain != opts.Domain {
		return nil, fmt.Errorf("%w: wrong domain", ErrSignature)
	}
	var err error
	if out.Created, err = OptionalTime(proof, "created"); err != nil {
		return nil, err
	}
	if out.Expires, err = OptionalTime(proof, "expires"); err != nil {
		return nil, err
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	if !out.Created.IsZero() && out.Created.After(now.Add(skew)) {
		return nil, fmt.Errorf("%w: proof created in the future", ErrExpired)
	}
	if !out.Expires.IsZero() && !now.Before(out.Expires) {
		return nil, fmt.Errorf("%w: proof expired", ErrExpired)
	}
	sig, err := DecodeMultibase(str("proofValue"))
	if err != nil {
		return nil, fmt.Errorf("%w: proofValue: %v", ErrSignature, err)
	}
	key, err := resolve(out.VerificationMethod, out.Cryptosuite)
	if err != nil {
		return nil, err
	}
	newHash, err := suiteHash(out.Cryptosuite, key)
	if err != nil {
		return nil, err
	}
	hashData, err := HashData(doc, proof, loader, newHash)
	if err != nil {
		return nil, err
	}
	if !verifySig(key, newHash, hashData, sig) {
		return nil, ErrSignature
	}
	return out, nil
}

// HashData computes hashData = H(canon(proofConfig)) ‖ H(canon(doc
// without proof)), with proofConfig the proof without proofValue under
// the document's @context (vc-di-eddsa / vc-di-ecdsa §3.3.4-3.3.5).
func HashData(doc, proof map[string]any, loader jsonld.DocumentLoader, newHash func() hash.Hash) ([]byte, error) {
	unsecured := make(map[string]any, len(doc))
	for k, v := range doc {
		if k != "proof" {
			unsecured[k] = v
		}
	}
	config := make(map[string]any, len(proof)+1)
	for k, v := range proof {
		if k != "proofValue" {
			config[k] = v
		}
	}
	if pc, ok := proof["@context"]; ok {
		// A proof's own context must be the document's (vc-data-integrity
		// §4.4 step 5): it is replaced by it below.
		a, _ := json.Marshal(pc)
		b, _ := json.Marshal(doc["@context"])
		if !bytes.Equal(a, b) {
			return nil, fmt.Errorf("%w: proof @context differs from the document's", ErrMalformed)
		}
	}
	config["@context"] = doc["@context"]
	canonConfig, err := Canonicalize(config, loader)
	if err != nil {
		return nil, err
	}
	canonDoc, err := Canonicalize(unsecured, loader)
	if err != nil {
		return nil, err
	}
	h := newHash()
	h.Write(canonConfig)
	out := h.Sum(nil)
	h = newHash()
	h.Write(canonDoc)
	return h.Sum(out), nil
}

// Canonicalize returns the RDFC-1.0 (URDNA2015) canonical N-Quads of a
// JSON-LD document, loading contexts only through loader, refusing
// datasets that would need the N-degree hashing step or exceed the
// bounds.
func Canonicalize(doc map[string]any, loader jsonld.DocumentLoader) (_ []byte, err error) {
	defer func() {
		// json-gold expects encoding/json's types and panics on some
		// inputs; no panic reaches a caller.
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: JSON-LD processing failed", ErrMalformed)
		}
	}()
	dataset, opts, err := boundedDataset(doc, loader)
	if err != nil {
		return nil, err
	}
	opts.Algorithm = "URDNA2015"
	opts.Format = "application/n-quads"
	out, err := jsonld.NewJsonLdApi().Normalize(dataset, opts)
	if err != nil {
		return nil, fmt.Errorf("%w: JSON-LD: %v", ErrMalformed, err)
	}
	s, ok := out.(string)
	if !ok || s == "" {
		return nil, fmt.Errorf("%w: the document has no RDF statements", ErrMalformed)
	}
	return []byte(s), nil
}

// CheckCanonicalizable refuses a document whose canonicalization would
// take more than linear work, before another signature suite (aries' VC
// 1.1 suites) canonicalizes it.
func CheckCanonicalizable(doc map[string]any, loader jsonld.DocumentLoader) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: JSON-LD processing failed", ErrMalformed)
		}
	}()
	_, _, err = boundedDataset(doc, loader)
	return err
}

// boundedDataset converts doc to RDF through loader and checks the
// canonicalization bound.
func boundedDataset(doc map[string]any, loader jsonld.DocumentLoader) (*jsonld.RDFDataset, *jsonld.JsonLdOptions, error) {
	if err := checkDepth(doc, 0); err != nil {
		return nil, nil, err
	}
	opts := jsonld.NewJsonLdOptions("")
	opts.ProcessingMode = jsonld.JsonLd_1_1
	opts.DocumentLoader = loader
	rdf, err := jsonld.NewJsonLdProcessor().ToRDF(doc, opts)
	if err != nil {
		var jerr *jsonld.JsonLdError
		if errors.As(err, &jerr) && (jerr.Code == jsonld.LoadingRemoteContextFailed || jerr.Code == jsonld.LoadingDocumentFailed) {
			return nil, nil, fmt.Errorf("%w: unknown JSON-LD context", ErrMalformed)
		}
		return nil, nil, fmt.Errorf("%w: JSON-LD: %v", ErrMalformed, err)
	}
	dataset, ok := rdf.(*jsonld.RDFDataset)
	if !ok {
		return nil, nil, fmt.Errorf("%w: JSON-LD processing failed", ErrMalformed)
	}
	if err := boundCanonicalization(dataset); err != nil {
		return nil, nil, err
	}
	return dataset, opts, nil
}

func checkDepth(v any, depth int) error {
	if depth > MaxDepth {
		return fmt.Errorf("%w: nested too deeply", ErrMalformed)
	}
	switch x := v.(type) {
	case map[string]any:
		for _, e := range x {
			if err := checkDepth(e, depth+1); err != nil {
				return err
			}
		}
	case []any:
		for _, e := range x {
			if err := checkDepth(e, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// boundCanonicalization refuses a dataset with too many quads or blank
// nodes, or with two blank nodes sharing RDFC-1.0's first-degree hash
// (§4.6: the quads mentioning the node, itself written _:a and every other
// blank node _:z): only then does RDFC-1.0 run its exponential N-degree
// step. A credential's blank nodes (its proof graph, objects without id)
// are told apart by their properties.
func boundCanonicalization(ds *jsonld.RDFDataset) error {
	type mention struct {
		q     *jsonld.Quad
		graph jsonld.Node
	}
	mentions := map[string][]mention{}
	quads := 0
	for name, qs := range ds.Graphs {
		var graph jsonld.Node
		if strings.HasPrefix(name, "_:") {
			graph = jsonld.NewBlankNode(name)
		} else if name != "@default" {
			graph = jsonld.NewIRI(name)
		}
		for _, q := range qs {
			quads++
			seen := map[string]bool{}
			for _, n := range []jsonld.Node{q.Subject, q.Object, graph} {
				if b, ok := n.(*jsonld.BlankNode); ok && !seen[b.Attribute] {
					seen[b.Attribute] = true
					mentions[b.Attribute] = append(mentions[b.Attribute], mention{q, graph})
				}
			}
		}
	}
	if quads > MaxQuads || len(mentions) > MaxBlankNodes {
		return fmt.Errorf("%w: too many RDF statements or blank nodes", ErrMalformed)
	}
	term := func(n jsonld.Node, self string) string {
		switch t := n.(type) {
		case nil:
			return ""
		case *jsonld.BlankNode:
			if t.Attribute == self {
				return "_:a"
			}
			return "_:z"
		case *jsonld.Literal:
			return fmt.Sprintf("%q^^<%s>@%s", t.Value, t.Datatype, t.Language)
		default:
			return "<" + n.GetValue() + ">"
		}
	}
	hashes := make(map[[sha256.Size]byte]bool, len(mentions))
	for b, ms := range mentions {
		lines := make([]string, len(ms))
		for i, m := range ms {
			lines[i] = term(m.q.Subject, b) + " " + term(m.q.Predicate, b) + " " + term(m.q.Object, b) + " " + term(m.graph, b)
		}
		slices.Sort(lines)
		h := sha256.Sum256([]byte(strings.Join(lines, "\n")))
		if hashes[h] {
			return fmt.Errorf("%w: indistinguishable blank nodes", ErrMalformed)
		}
		hashes[h] = true
	}
	return nil
}

// suiteHash is the cryptosuite's hash for key: SHA-256 for Ed25519 and
// P-256, SHA-384 for P-384 (vc-di-ecdsa §3.3.4).
func suiteHash(cryptosuite string, key crypto.PublicKey) (func() hash.Hash, error) {
	switch k := key.(type) {
	case ed25519.PublicKey:
		if cryptosuite == EdDSA {
			return sha256.New, nil
		}
	case *ecdsa.PublicKey:
		if cryptosuite != ECDSA {
			break
		}
		switch k.Curve {
		case elliptic.P256():
			return sha256.New, nil
		case elliptic.P384():
			return sha512.New384, nil
		}
	}
	return nil, fmt.Errorf("%w: the key does not fit the cryptosuite", ErrSignature)
}

// verifySig checks sig over hashData: Ed25519 (64 bytes) or ECDSA over
// H(hashData) with r ‖ s of the curve's size (IEEE P1363).
func verifySig(key crypto.PublicKey, newHash func() hash.Hash, hashData, sig []byte) bool {
	switch k := key.(type) {
	case ed25519.PublicKey:
		return len(sig) == ed25519.SignatureSize && ed25519.Verify(k, hashData, sig)
	case *ecdsa.PublicKey:
		n := (k.Curve.Params().BitSize + 7) / 8
		if len(sig) != 2*n {
			return false
		}
		h := newHash()
		h.Write(hashData)
		r, s := new(big.Int).SetBytes(sig[:n]), new(big.Int).SetBytes(sig[n:])
		return ecdsa.Verify(k, h.Sum(nil), r, s)
	}
	return false
}

// OptionalTime reads an XML Schema dateTimeStamp (RFC 3339, with a time
// zone) from m[k], zero when absent.
func OptionalTime(m map[string]any, k string) (time.Time, error) {
	v, ok := m[k]
	if !ok {
		return time.Time{}, nil
	}
	s, ok := v.(string)
	if !ok {
		return time.Time{}, fmt.Errorf("%w: %s must be a dateTimeStamp", ErrMalformed, k)
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: %s must be a dateTimeStamp", ErrMalformed, k)
	}
	return t, nil
}
