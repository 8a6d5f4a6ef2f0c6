package coreid

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"math/big"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/mr-tron/base58"
	jsonld "github.com/piprate/json-gold/ld"

	"github.com/mustard-id/mustard/internal/trust"
)

// W3C Verifiable Credentials Data Model 2.0 secured with Data Integrity
// proofs (W3C vc-data-integrity, vc-di-eddsa, vc-di-ecdsa). aries v0.3.2
// knows neither the 2.0 base context nor the DataIntegrityProof
// cryptosuites, so they are verified here: RDF Dataset Canonicalization
// (RDFC-1.0, json-gold's URDNA2015) of the proof configuration and of the
// credential without its proof, each hashed, hashData = H(proofConfig) ‖
// H(document), and the signature checked over hashData.

// CredentialsV2Context is the base context of a W3C VC 2.0 credential,
// embedded with the provider (coreid/contexts/credentials-v2.jsonld).
const CredentialsV2Context = "https://www.w3.org/ns/credentials/v2"

// The Data Integrity cryptosuites Mustard verifies.
const (
	// CryptosuiteEdDSA is eddsa-rdfc-2022: Ed25519 over SHA-256 hashes.
	CryptosuiteEdDSA = "eddsa-rdfc-2022"
	// CryptosuiteECDSA is ecdsa-rdfc-2019: ECDSA on P-256 with SHA-256,
	// or on P-384 with SHA-384, the curve being the key's.
	CryptosuiteECDSA = "ecdsa-rdfc-2019"
)

const (
	diProofType    = "DataIntegrityProof"
	diProofPurpose = "assertionMethod"
	// diSkew is the clock skew allowed on created and validFrom.
	diSkew = time.Minute
	// diMaxDepth bounds the nesting of a credential's JSON.
	diMaxDepth = 16
)

// newDILoader is the offline document loader of VC 2.0 credentials: the
// VC 2.0 context (which defines DataIntegrityProof itself) and Mustard's
// PID context, nothing else, and no network.
func newDILoader() (*DocumentLoader, error) {
	l := &DocumentLoader{docs: map[string]*jsonld.RemoteDocument{}}
	for url, file := range map[string]string{
		CredentialsV2Context: "contexts/credentials-v2.jsonld",
		PIDContext:           "contexts/pid-v1.jsonld",
	} {
		b, err := contextFiles.ReadFile(file)
		if err != nil {
			return nil, err
		}
		doc, err := jsonld.DocumentFromReader(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("coreid: context %s: %w", url, err)
		}
		l.docs[url] = &jsonld.RemoteDocument{DocumentURL: url, Document: doc}
	}
	return l, nil
}

// diLoader is built once: its documents are never modified.
var diLoader = sync.OnceValues(newDILoader)

// DIProof is a verified Data Integrity proof's configuration.
type DIProof struct {
	Cryptosuite        string
	VerificationMethod string
	Created            time.Time // zero when the proof does not say
	Expires            time.Time // zero when the proof does not say
}

// diKeyResolver returns the public key a verification method names, of a
// type the cryptosuite uses (ed25519.PublicKey for eddsa-rdfc-2022,
// *ecdsa.PublicKey on P-256 or P-384 for ecdsa-rdfc-2019).
type diKeyResolver func(verificationMethod, cryptosuite string) (crypto.PublicKey, error)

// verifyDataIntegrity verifies doc's embedded DataIntegrityProof
// (vc-data-integrity §4.4, the cryptosuites' "Verify Proof"): one proof
// object of type DataIntegrityProof, a supported cryptosuite, proof
// purpose assertionMethod, created not in the future, expires not past, a
// key from resolve, and the signature over hashData. Contexts are loaded
// only through loader. doc is not modified.
func verifyDataIntegrity(doc map[string]any, loader jsonld.DocumentLoader, resolve diKeyResolver, now time.Time) (*DIProof, error) {
	proof, ok := doc["proof"].(map[string]any)
	if !ok {
		// Absent, or a proof set / chain (an array): Mustard verifies one
		// proof per credential.
		return nil, fmt.Errorf("%w: exactly one proof object", ErrSource)
	}
	str := func(k string) string { s, _ := proof[k].(string); return s }
	for _, k := range []string{"type", "cryptosuite", "proofPurpose", "verificationMethod", "proofValue"} {
		if _, ok := proof[k].(string); !ok {
			return nil, fmt.Errorf("%w: proof.%s must be a string", ErrSource, k)
		}
	}
	out := &DIProof{Cryptosuite: str("cryptosuite"), VerificationMethod: str("verificationMethod")}
	if str("type") != diProofType || (out.Cryptosuite != CryptosuiteEdDSA && out.Cryptosuite != CryptosuiteECDSA) {
		return nil, fmt.Errorf("%w: unsupported proof type or cryptosuite", ErrSignature)
	}
	if str("proofPurpose") != diProofPurpose {
		return nil, fmt.Errorf("%w: proof purpose must be assertionMethod", ErrSignature)
	}
	var err error
	if out.Created, err = optionalTime(proof, "created"); err != nil {
		return nil, err
	}
	if out.Expires, err = optionalTime(proof, "expires"); err != nil {
		return nil, err
	}
	if !out.Created.IsZero() && out.Created.After(now.Add(diSkew)) {
		return nil, fmt.Errorf("%w: proof created in the future", ErrExpired)
	}
	if !out.Expires.IsZero() && !now.Before(out.Expires) {
		return nil, fmt.Errorf("%w: proof expired", ErrExpired)
	}
	sig, err := decodeMultibase(str("proofValue"))
	if err != nil {
		return nil, fmt.Errorf("%w: proofValue: %v", ErrSignature, err)
	}
	key, err := resolve(out.VerificationMethod, out.Cryptosuite)
	if err != nil {
		return nil, err
	}
	newHash, err := diHash(out.Cryptosuite, key)
	if err != nil {
		return nil, err
	}
	hashData, err := diHashData(doc, proof, loader, newHash)
	if err != nil {
		return nil, err
	}
	if !diVerify(key, newHash, hashData, sig) {
		return nil, ErrSignature
	}
	return out, nil
}

// diHashData computes hashData = H(canon(proofConfig)) ‖ H(canon(doc
// without proof)), with proofConfig the proof without proofValue under
// the document's @context (vc-di-eddsa / vc-di-ecdsa §3.3.4-3.3.5).
func diHashData(doc, proof map[string]any, loader jsonld.DocumentLoader, newHash func() hash.Hash) ([]byte, error) {
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
			return nil, fmt.Errorf("%w: proof @context differs from the document's", ErrSource)
		}
	}
	config["@context"] = doc["@context"]
	canonConfig, err := canonicalize(config, loader)
	if err != nil {
		return nil, err
	}
	canonDoc, err := canonicalize(unsecured, loader)
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

// Bounds on what is canonicalized. RDFC-1.0 is exponential in the worst
// case ("dataset poisoning", RDFC-1.0 §4.4): json-gold v0.4.2 takes 13 s
// on a clique of 8 indistinguishable blank nodes and 106 s on 9. A
// credential whose blank nodes are not all told apart by their
// first-degree hashes is refused before the N-degree step could run, so
// canonicalization stays linear in the quads.
const (
	maxCanonQuads      = 2048
	maxCanonBlankNodes = 64
)

// canonicalize returns the RDFC-1.0 (URDNA2015) canonical N-Quads of a
// JSON-LD document, loading contexts only through loader, refusing
// datasets that would need the N-degree hashing step.
func canonicalize(doc map[string]any, loader jsonld.DocumentLoader) (_ []byte, err error) {
	defer func() {
		// json-gold expects encoding/json's types and panics on some
		// inputs; no panic reaches a caller.
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: JSON-LD processing failed", ErrSource)
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
		return nil, fmt.Errorf("%w: JSON-LD: %v", ErrSource, err)
	}
	s, ok := out.(string)
	if !ok || s == "" {
		return nil, fmt.Errorf("%w: the document has no RDF statements", ErrSource)
	}
	return []byte(s), nil
}

// checkCanonicalizable refuses, before any signature suite canonicalizes
// it, a document whose canonicalization would take more than linear work
// (the VC 1.1 path: aries canonicalizes before it checks a signature).
func checkCanonicalizable(doc map[string]any, loader jsonld.DocumentLoader) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: JSON-LD processing failed", ErrSource)
		}
	}()
	_, _, err = boundedDataset(doc, loader)
	return err
}

// boundedDataset converts doc to RDF through loader and checks the
// canonicalization bound.
func boundedDataset(doc map[string]any, loader jsonld.DocumentLoader) (*jsonld.RDFDataset, *jsonld.JsonLdOptions, error) {
	opts := jsonld.NewJsonLdOptions("")
	opts.ProcessingMode = jsonld.JsonLd_1_1
	opts.DocumentLoader = loader
	rdf, err := jsonld.NewJsonLdProcessor().ToRDF(doc, opts)
	if err != nil {
		var jerr *jsonld.JsonLdError
		if errors.As(err, &jerr) && (jerr.Code == jsonld.LoadingRemoteContextFailed || jerr.Code == jsonld.LoadingDocumentFailed) {
			return nil, nil, fmt.Errorf("%w: unknown JSON-LD context", ErrSource)
		}
		return nil, nil, fmt.Errorf("%w: JSON-LD: %v", ErrSource, err)
	}
	dataset, ok := rdf.(*jsonld.RDFDataset)
	if !ok {
		return nil, nil, fmt.Errorf("%w: JSON-LD processing failed", ErrSource)
	}
	if err := boundCanonicalization(dataset); err != nil {
		return nil, nil, err
	}
	return dataset, opts, nil
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
	if quads > maxCanonQuads || len(mentions) > maxCanonBlankNodes {
		return fmt.Errorf("%w: too many RDF statements or blank nodes", ErrSource)
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
			return fmt.Errorf("%w: indistinguishable blank nodes", ErrSource)
		}
		hashes[h] = true
	}
	return nil
}

// diHash is the cryptosuite's hash for key: SHA-256 for Ed25519 and
// P-256, SHA-384 for P-384.
func diHash(cryptosuite string, key crypto.PublicKey) (func() hash.Hash, error) {
	switch k := key.(type) {
	case ed25519.PublicKey:
		if cryptosuite == CryptosuiteEdDSA {
			return sha256.New, nil
		}
	case *ecdsa.PublicKey:
		if cryptosuite != CryptosuiteECDSA {
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

// diVerify checks sig over hashData: Ed25519 (64 bytes) or ECDSA over
// H(hashData) with r ‖ s of the curve's size (IEEE P1363).
func diVerify(key crypto.PublicKey, newHash func() hash.Hash, hashData, sig []byte) bool {
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

// SignDataIntegrity adds a DataIntegrityProof to a VC 2.0 credential, as a
// source issuer does (Mustard uses it for samples and tests): cryptosuite
// eddsa-rdfc-2022 for an ed25519.PrivateKey, ecdsa-rdfc-2019 for an
// *ecdsa.PrivateKey on P-256 or P-384. doc is not modified; the result
// carries the proof, its values as encoding/json decodes them (what a
// verifier canonicalizes).
func SignDataIntegrity(doc map[string]any, key crypto.Signer, verificationMethod string, created time.Time) (map[string]any, error) {
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("coreid: sign data integrity: %w", err)
	}
	doc = nil
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("coreid: sign data integrity: %w", err)
	}
	suite := CryptosuiteEdDSA
	if _, ok := key.Public().(*ecdsa.PublicKey); ok {
		suite = CryptosuiteECDSA
	}
	newHash, err := diHash(suite, key.Public())
	if err != nil {
		return nil, fmt.Errorf("coreid: sign data integrity: %w", err)
	}
	proof := map[string]any{
		"type":               diProofType,
		"cryptosuite":        suite,
		"created":            created.UTC().Format(time.RFC3339),
		"verificationMethod": verificationMethod,
		"proofPurpose":       diProofPurpose,
	}
	loader, err := diLoader()
	if err != nil {
		return nil, err
	}
	hashData, err := diHashData(doc, proof, loader, newHash)
	if err != nil {
		return nil, fmt.Errorf("coreid: sign data integrity: %w", err)
	}
	var sig []byte
	switch k := key.(type) {
	case ed25519.PrivateKey:
		sig = ed25519.Sign(k, hashData)
	case *ecdsa.PrivateKey:
		h := newHash()
		h.Write(hashData)
		r, s, err := ecdsa.Sign(rand.Reader, k, h.Sum(nil))
		if err != nil {
			return nil, fmt.Errorf("coreid: sign data integrity: %w", err)
		}
		n := (k.Curve.Params().BitSize + 7) / 8
		sig = make([]byte, 2*n)
		r.FillBytes(sig[:n])
		s.FillBytes(sig[n:])
	default:
		return nil, fmt.Errorf("coreid: sign data integrity: unsupported key %T", key)
	}
	proof["proofValue"] = "z" + base58.Encode(sig)
	doc["proof"] = proof
	return doc, nil
}

// optionalTime reads an XML Schema dateTimeStamp (RFC 3339, with a time
// zone) from m[k], zero when absent.
func optionalTime(m map[string]any, k string) (time.Time, error) {
	v, ok := m[k]
	if !ok {
		return time.Time{}, nil
	}
	s, ok := v.(string)
	if !ok {
		return time.Time{}, fmt.Errorf("%w: %s must be a dateTimeStamp", ErrSource, k)
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: %s must be a dateTimeStamp", ErrSource, k)
	}
	return t, nil
}

// decodeMultibase decodes a multibase base58btc ('z') string, the only
// base the cryptosuites use.
func decodeMultibase(s string) ([]byte, error) {
	if len(s) < 2 || s[0] != 'z' || len(s) > 512 {
		return nil, errors.New("not multibase base58btc")
	}
	return base58.Decode(s[1:])
}

// Multicodec prefixes (unsigned varints) of Multikey public keys.
var (
	mcEd25519 = []byte{0xed, 0x01}
	mcP256    = []byte{0x80, 0x24}
	mcP384    = []byte{0x81, 0x24}
)

// decodeMultikey decodes a Multikey publicKeyMultibase (as in did:key and
// in the cryptosuites' verification methods): Ed25519, or a compressed
// P-256 / P-384 point.
func decodeMultikey(s string) (crypto.PublicKey, error) {
	b, err := decodeMultibase(s)
	if err != nil {
		return nil, err
	}
	ec := func(curve elliptic.Curve, p []byte) (crypto.PublicKey, error) {
		x, y := elliptic.UnmarshalCompressed(curve, p)
		if x == nil {
			return nil, errors.New("not a point on the curve")
		}
		return &ecdsa.PublicKey{Curve: curve, X: x, Y: y}, nil
	}
	switch {
	case bytes.HasPrefix(b, mcEd25519) && len(b) == 2+ed25519.PublicKeySize:
		return ed25519.PublicKey(b[2:]), nil
	case bytes.HasPrefix(b, mcP256) && len(b) == 2+33:
		return ec(elliptic.P256(), b[2:])
	case bytes.HasPrefix(b, mcP384) && len(b) == 2+49:
		return ec(elliptic.P384(), b[2:])
	}
	return nil, errors.New("not an Ed25519, P-256 or P-384 Multikey")
}

// sourceDIKeys resolves verification methods against a source's keys, as
// for VC 1.1: "<source id>#<kid>" (a did:web or URL issuer) or
// "did:key:<mk>#<mk>" (a did:key issuer) whose kid (the fragment, or the
// whole method id) is a key in the source's JWKS. When the method's
// fragment or did:key identifier is itself a Multikey, it must be that
// very key.
func sourceDIKeys(src *trust.Source, keys jwk.Set) diKeyResolver {
	return func(vm, _ string) (crypto.PublicKey, error) {
		controller, fragment, ok := strings.Cut(vm, "#")
		if !ok || controller != src.ID || fragment == "" {
			return nil, fmt.Errorf("%w: verification method is not the issuer's", ErrUnknownIssuer)
		}
		k, ok := keys.LookupKeyID(vm)
		if !ok {
			k, ok = keys.LookupKeyID(fragment)
		}
		if !ok {
			return nil, fmt.Errorf("%w: verification method not in the framework", ErrUnknownIssuer)
		}
		var raw any
		if err := k.Raw(&raw); err != nil {
			return nil, ErrUnknownIssuer
		}
		var pub crypto.PublicKey
		switch p := raw.(type) {
		case ed25519.PublicKey:
			pub = p
		case *ecdsa.PublicKey:
			pub = p
		default:
			return nil, fmt.Errorf("%w: unsupported key type", ErrSignature)
		}
		named := []string{fragment}
		if mk, ok := strings.CutPrefix(controller, "did:key:"); ok {
			named = append(named, mk)
		}
		for _, n := range named {
			if !strings.HasPrefix(n, "z") {
				continue
			}
			if mk, err := decodeMultikey(n); err == nil && !samePublicKey(mk, pub) {
				return nil, fmt.Errorf("%w: the verification method names another key", ErrSignature)
			}
		}
		return pub, nil
	}
}

func samePublicKey(a, b crypto.PublicKey) bool {
	ea, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && ea.Equal(b)
}

// verifyDIVC verifies a W3C VC 2.0 JSON-LD credential with a
// DataIntegrityProof from an accredited source: contexts only the
// embedded ones (the VC 2.0 context first, then Mustard's PID context),
// no context below the top level, issuer listed for "ldp-vc", an accepted
// type, validUntil required and validFrom / validUntil around now, exactly
// one credentialSubject object, then the proof (verifyDataIntegrity) under
// a key of the source's JWKS. Claims map through the framework as for
// every source.
func verifyDIVC(fw *trust.Document, keysOf sourceKeys, raw string, now time.Time) (*Source, error) {
	if len(raw) == 0 || len(raw) > MaxSourceSize {
		return nil, ErrSource
	}
	loader, err := diLoader()
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(strings.NewReader(raw))
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil || dec.More() {
		return nil, ErrSource
	}
	var ctxs []string
	if list, ok := doc["@context"].([]any); ok {
		for _, c := range list {
			s, ok := c.(string)
			if !ok {
				return nil, fmt.Errorf("%w: @context must be a list of known context URLs", ErrSource)
			}
			ctxs = append(ctxs, s)
		}
	}
	if len(ctxs) == 0 || ctxs[0] != CredentialsV2Context {
		return nil, fmt.Errorf("%w: @context must start with %s", ErrSource, CredentialsV2Context)
	}
	for _, c := range ctxs {
		if _, ok := loader.docs[c]; !ok {
			return nil, fmt.Errorf("%w: unknown JSON-LD context", ErrSource)
		}
	}
	if err := noNestedContext(doc, 0); err != nil {
		return nil, err
	}
	issuer, _ := doc["issuer"].(string)
	if o, ok := doc["issuer"].(map[string]any); ok {
		issuer, _ = o["id"].(string)
	}
	src, err := fw.Source(issuer)
	if err != nil || !src.Accepts(trust.FormatLDPVC) {
		return nil, ErrUnknownIssuer
	}
	types, _ := doc["type"].([]any)
	if !slices.Contains(types, any("VerifiableCredential")) ||
		!slices.ContainsFunc(types, func(t any) bool { s, _ := t.(string); return slices.Contains(src.Types, s) }) {
		return nil, fmt.Errorf("%w: type not accepted", ErrSource)
	}
	validFrom, err := optionalTime(doc, "validFrom")
	if err != nil {
		return nil, err
	}
	validUntil, err := optionalTime(doc, "validUntil")
	if err != nil {
		return nil, err
	}
	if validUntil.IsZero() {
		// Mustard accepts only source credentials that expire.
		return nil, fmt.Errorf("%w: no validUntil", ErrSource)
	}
	if !validFrom.IsZero() && validFrom.After(now.Add(diSkew)) {
		return nil, fmt.Errorf("%w: not yet valid", ErrExpired)
	}
	if !now.Before(validUntil) {
		return nil, ErrExpired
	}
	subj, ok := doc["credentialSubject"].(map[string]any)
	if list, isList := doc["credentialSubject"].([]any); isList && len(list) == 1 {
		subj, ok = list[0].(map[string]any)
	}
	if !ok {
		return nil, fmt.Errorf("%w: exactly one credentialSubject object", ErrSource)
	}
	keys, err := keysOf(src)
	if err != nil {
		return nil, ErrUnknownIssuer
	}
	proof, err := verifyDataIntegrity(doc, loader, sourceDIKeys(src, keys), now)
	if err != nil {
		return nil, err
	}
	sub, _ := subj["id"].(string)
	claims := make(map[string]any, len(subj))
	for k, v := range subj {
		if k != "id" {
			claims[k] = v
		}
	}
	out, err := fromClaims(src, trust.FormatLDPVC, sub, claims)
	if err != nil {
		return nil, err
	}
	out.IssuedAt = validFrom
	if out.IssuedAt.IsZero() {
		out.IssuedAt = proof.Created
	}
	return out, nil
}

// noNestedContext refuses a @context anywhere below the top level (the
// vocabulary is the framework's, not the credential's) and JSON nested
// deeper than diMaxDepth.
func noNestedContext(v any, depth int) error {
	if depth > diMaxDepth {
		return fmt.Errorf("%w: nested too deeply", ErrSource)
	}
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if k == "@context" {
				if depth > 0 {
					return fmt.Errorf("%w: @context below the top level", ErrSource)
				}
				continue
			}
			if err := noNestedContext(e, depth+1); err != nil {
				return err
			}
		}
	case []any:
		for _, e := range x {
			if err := noNestedContext(e, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}
