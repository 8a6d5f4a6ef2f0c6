package verifier

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/mustard-id/mustard/internal/sdjwt"
)

// Bounds of did:web resolution.
const (
	maxDIDDocument = 64 << 10
	didDocTTL      = 5 * time.Minute
	// didRefetchAfter is how old a cached document may be before an
	// unknown kid makes the resolver fetch it again (a rotation).
	didRefetchAfter = 30 * time.Second
)

// DIDWebConfig configures DIDWebKeys.
type DIDWebConfig struct {
	// Accredited reports whether an issuer (its did:web) is trusted, e.g.
	// listed in the trust framework. Required: a DID document proves
	// control of a domain, not accreditation.
	Accredited func(issuer string) bool
	HTTPClient *http.Client     // nil: 10 s timeout
	Now        func() time.Time // nil: time.Now
}

// DIDWebKeys returns a key resolver for did:web issuers: the credential's
// kid is looked up in the issuer's DID document (did:web method: GET
// https://<host>/.well-known/did.json, http only for loopback hosts), as
// a JsonWebKey2020 verification method "<did>#<kid>" controlled by the
// DID and listed for assertions. Documents are cached five minutes, and
// fetched again sooner when a kid is not in them, so an issuer's key
// rotation is picked up and its retired keys keep verifying while it
// publishes them.
func DIDWebKeys(cfg DIDWebConfig) (sdjwt.KeyResolver, error) {
	if cfg.Accredited == nil {
		return nil, errors.New("verifier: did:web resolution needs an accreditation check")
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	r := &didResolver{cfg: cfg, docs: map[string]*didEntry{}}
	return r.resolve, nil
}

type didResolver struct {
	cfg  DIDWebConfig
	mu   sync.Mutex
	docs map[string]*didEntry
}

type didEntry struct {
	keys    map[string]jwk.Key // by kid
	fetched time.Time
}

func (r *didResolver) resolve(ctx context.Context, q sdjwt.KeyQuery) (jwk.Key, error) {
	if !r.cfg.Accredited(q.Issuer) {
		return nil, errors.New("verifier: issuer not accredited")
	}
	if q.KeyID == "" {
		return nil, errors.New("verifier: a did:web issuer's credential must name its kid")
	}
	now := r.cfg.Now()
	r.mu.Lock()
	e := r.docs[q.Issuer]
	r.mu.Unlock()
	if e != nil {
		if k, ok := e.keys[q.KeyID]; ok && now.Sub(e.fetched) < didDocTTL {
			return k, nil
		}
		if now.Sub(e.fetched) < didRefetchAfter {
			return nil, errors.New("verifier: kid not in the issuer's DID document")
		}
	}
	keys, err := r.fetch(ctx, q.Issuer)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	if len(r.docs) >= maxStatusEntries {
		clear(r.docs)
	}
	r.docs[q.Issuer] = &didEntry{keys: keys, fetched: now}
	r.mu.Unlock()
	if k, ok := keys[q.KeyID]; ok {
		return k, nil
	}
	return nil, errors.New("verifier: kid not in the issuer's DID document")
}

// DIDWebURL returns where a did:web's document is (did:web method §3.2).
func DIDWebURL(did string) (string, error) {
	rest, ok := strings.CutPrefix(did, "did:web:")
	if !ok || rest == "" || len(did) > 512 {
		return "", errors.New("verifier: not a did:web")
	}
	segs := strings.Split(rest, ":")
	host, err := url.PathUnescape(segs[0])
	if err != nil || host == "" || strings.ContainsAny(host, "/?#@") {
		return "", errors.New("verifier: bad did:web host")
	}
	u := &url.URL{Scheme: "https", Host: host}
	if isLoopback(u.Hostname()) {
		u.Scheme = "http"
	}
	if len(segs) == 1 {
		u.Path = "/.well-known/did.json"
	} else {
		for _, s := range segs[1:] {
			p, err := url.PathUnescape(s)
			if err != nil || p == "" || strings.ContainsAny(p, "/?#") || p == "." || p == ".." {
				return "", errors.New("verifier: bad did:web path")
			}
			u.Path += "/" + p
		}
		u.Path += "/did.json"
	}
	return u.String(), nil
}

type didDocJSON struct {
	ID                 string `json:"id"`
	VerificationMethod []struct {
		ID           string          `json:"id"`
		Type         string          `json:"type"`
		Controller   string          `json:"controller"`
		PublicKeyJWK json.RawMessage `json:"publicKeyJwk"`
	} `json:"verificationMethod"`
	AssertionMethod []json.RawMessage `json:"assertionMethod"`
}

// fetch GETs and checks a DID document and returns its assertion keys by
// kid (the fragment of the method id).
func (r *didResolver) fetch(ctx context.Context, did string) (map[string]jwk.Key, error) {
	u, err := DIDWebURL(did)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/did+json, application/json")
	resp, err := r.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("verifier: DID document: HTTP %d", resp.StatusCode)
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "application/did+json" && mt != "application/json" && mt != "application/did+ld+json" {
		return nil, fmt.Errorf("verifier: DID document: content type %q", mt)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDIDDocument+1))
	if err != nil {
		return nil, err
	}
	return ParseDIDDocument(did, body)
}

// ParseDIDDocument checks a did:web document for did and returns its
// assertion keys by kid: JsonWebKey2020 methods "<did>#<kid>" controlled
// by did, listed (by reference) in assertionMethod, public keys only.
func ParseDIDDocument(did string, body []byte) (map[string]jwk.Key, error) {
	if len(body) > maxDIDDocument {
		return nil, errors.New("verifier: DID document too large")
	}
	var doc didDocJSON
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("verifier: DID document: %w", err)
	}
	if doc.ID != did {
		return nil, errors.New("verifier: the DID document is for another DID")
	}
	assert := map[string]bool{}
	for _, a := range doc.AssertionMethod {
		var ref string
		if json.Unmarshal(a, &ref) == nil {
			assert[ref] = true
		}
	}
	keys := map[string]jwk.Key{}
	for _, vm := range doc.VerificationMethod {
		kid, ok := strings.CutPrefix(vm.ID, did+"#")
		if !ok || kid == "" || vm.Type != "JsonWebKey2020" || vm.Controller != did || !assert[vm.ID] {
			continue
		}
		k, err := jwk.ParseKey(vm.PublicKeyJWK)
		if err != nil {
			continue
		}
		if _, private := k.(interface{ D() []byte }); private {
			continue // a published private key is no issuer's key
		}
		if pk, err := k.PublicKey(); err != nil || pk == nil {
			continue
		}
		if k.KeyID() != "" && k.KeyID() != kid {
			continue
		}
		keys[kid] = k
	}
	if len(keys) == 0 {
		return nil, errors.New("verifier: the DID document has no usable assertion key")
	}
	return keys, nil
}
