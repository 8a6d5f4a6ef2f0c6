package server

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/mustard-id/mustard/internal/sdjwt"
	"github.com/mustard-id/mustard/internal/tlog"
	"github.com/mustard-id/mustard/internal/trust"
	"github.com/mustard-id/mustard/issuer"
	"github.com/mustard-id/mustard/verifier"
)

// The served issuer's identity and key rotation.
//
// Where the public URL is https the issuer is named by its did:web
// (issuer.DIDWeb of the URL) when the trust framework lists that DID: its
// keys are then the ones its DID document publishes (current and
// retired, each "<did>#<kid>"), so the key can rotate without a new
// framework. Otherwise (development: an http URL, or a framework that
// names the issuer by did:jwk) the issuer is its key's did:jwk, pinned in
// the framework, and cannot rotate.
//
// The key bundle holds the current issuer key and the retired ones with
// the time until which each stays published (the rotation time plus the
// credential lifetime: every credential a key signed has expired by
// then). `mustard issuer rotate-key` rewrites the bundle; a running
// server notices the change (it re-reads the bundle at most every
// issuerKeysCheck, on the issuer's requests and when a kid it does not
// know is presented) and puts the new key in service.

// issuerRetired is a retired issuer key in the bundle.
type issuerRetired struct {
	Key   json.RawMessage `json:"key"`
	Until int64           `json:"until"` // unix seconds: published until then
}

// issuerKeysCheck is how often a running server looks for a rotated
// bundle.
const issuerKeysCheck = 10 * time.Second

// issuerKeyState is what the server needs to follow rotations.
type issuerKeyState struct {
	mu      sync.Mutex
	pass    []byte    // the bundle's passphrase (the keys it opens are in memory anyway)
	digest  [32]byte  // of the sealed bundle last applied
	checked time.Time // last look at the store
	did     string    // the did:web identity; empty in the did:jwk mode
	now     func() time.Time
}

// issuerDIDWeb is the did:web an https public URL names, or "".
func issuerDIDWeb(publicURL string) string {
	u, err := url.Parse(publicURL)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return ""
	}
	did, err := issuer.DIDWeb(strings.TrimRight(publicURL, "/"))
	if err != nil {
		return ""
	}
	return did
}

// listedWithoutKeys reports a framework issuer entry that pins no keys:
// its keys come from its DID document.
func listedWithoutKeys(iss *trust.Issuer) bool {
	j := bytes.TrimSpace(iss.JWKS)
	return len(j) == 0 || string(j) == "null"
}

// retiredIssuerKeys parses the bundle's retired issuer keys still
// published at now.
func retiredIssuerKeys(rs []issuerRetired, now time.Time) ([]issuer.RetiredKey, error) {
	var out []issuer.RetiredKey
	for _, r := range rs {
		until := time.Unix(r.Until, 0)
		if !now.Before(until) {
			continue
		}
		k, err := jwk.ParseKey(r.Key)
		if err != nil {
			return nil, fmt.Errorf("server: retired issuer key: %w", err)
		}
		out = append(out, issuer.RetiredKey{Key: k, Until: until})
	}
	return out, nil
}

// ownIssuerKeys resolves the served issuer's keys from its live keyring
// (current and retired), re-reading the bundle when a kid is unknown:
// another replica, or the rotate command, may have put a new key in
// service.
func (s *Server) ownIssuerKeys(ctx context.Context, q sdjwt.KeyQuery) (jwk.Key, error) {
	lookup := func() (jwk.Key, bool) {
		set, err := s.Issuer.PublicKeys()
		if err != nil {
			return nil, false
		}
		if q.KeyID == "" {
			if set.Len() != 1 {
				return nil, false
			}
			k, _ := set.Key(0)
			return k, true
		}
		return set.LookupKeyID(q.KeyID)
	}
	if k, ok := lookup(); ok {
		return k, nil
	}
	if err := s.checkIssuerKeys(ctx, false, true); err != nil {
		return nil, err
	}
	if k, ok := lookup(); ok {
		return k, nil
	}
	return nil, errors.New("server: unknown issuer kid")
}

// watchIssuerKeys makes the issuer's routes pick up a rotated bundle.
func (s *Server) watchIssuerKeys(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A store failure leaves the keys in service as they are.
		_ = s.checkIssuerKeys(r.Context(), false, false)
		h.ServeHTTP(w, r)
	})
}

// ReloadIssuerKeys puts the bundle's issuer keys in service now, if they
// changed (a rotation by `mustard issuer rotate-key` while serving).
func (s *Server) ReloadIssuerKeys(ctx context.Context) error {
	return s.checkIssuerKeys(ctx, true, true)
}

// checkIssuerKeys re-reads the bundle if it is due (or force), applying
// a rotated one; with block it waits for a look already under way (a
// presentation naming an unknown kid), else it leaves it to that one.
func (s *Server) checkIssuerKeys(ctx context.Context, force, block bool) error {
	st := &s.issuerKeys
	if st.did == "" {
		return nil // did:jwk: the key is the identity
	}
	if force || block {
		st.mu.Lock()
	} else if !st.mu.TryLock() {
		return nil // another request is looking already
	}
	defer st.mu.Unlock()
	now := st.now()
	if !force && now.Sub(st.checked) < issuerKeysCheck {
		return nil
	}
	st.checked = now
	blob, err := s.Store.Secret(ctx, "keys")
	if err != nil {
		return err
	}
	d := sha256.Sum256(blob)
	if d == st.digest {
		return nil
	}
	sec, err := s.loadSecrets(ctx, st.pass, func(string) {})
	if err != nil {
		return err
	}
	cur, err := jwk.ParseKey(sec.Issuer)
	if err != nil {
		return fmt.Errorf("server: issuer key: %w", err)
	}
	retired, err := retiredIssuerKeys(sec.IssuerRetired, now)
	if err != nil {
		return err
	}
	if err := s.Issuer.SetKeys(cur, retired); err != nil {
		return err
	}
	st.digest = d
	return nil
}

// RotateIssuerKey puts a new issuer signing key in service in the data
// directory: the current key is retired and stays published (JWKS, DID
// document) until every credential it signed has expired (now plus the
// credential lifetime); retired keys past that are dropped. The rotation
// is appended to the transparency log (the DID and the new key's
// thumbprint), so that a key the log does not hold stands out. A running
// server puts the new key in service within issuerKeysCheck; a stopped one
// at its start. It refuses when the trust framework names the issuer by
// its key (did:jwk): a new key would be another, unaccredited issuer.
func RotateIssuerKey(ctx context.Context, opts Options) (kid string, err error) {
	s, sec, pass, err := openOffline(ctx, &opts)
	if err != nil {
		return "", err
	}
	defer s.Store.Close()
	old, err := jwk.ParseKey(sec.Issuer)
	if err != nil {
		return "", err
	}
	if did, err := DIDJWK(old); err == nil {
		if fw, err := os.ReadFile(filepath.Join(opts.DataDir, "trust-framework.jws")); err == nil && frameworkNames(fw, did) {
			return "", errors.New("server: the trust framework names this issuer by its key (did:jwk), so a new key would be another, unaccredited issuer: serve at an https --public-url whose did:web the framework lists, then rotate")
		}
	}
	now := opts.Now()
	kept := []issuerRetired{{Key: sec.Issuer, Until: now.Add(issuer.DefaultCredentialTTL).Unix()}}
	for _, r := range sec.IssuerRetired {
		if now.Before(time.Unix(r.Until, 0)) {
			kept = append(kept, r)
		}
	}
	sec.IssuerRetired = kept
	if sec.Issuer, err = newECKey(); err != nil {
		return "", err
	}
	k, err := jwk.ParseKey(sec.Issuer)
	if err != nil {
		return "", err
	}
	if err := s.sealSecrets(ctx, pass, sec); err != nil {
		return "", err
	}
	tp, err := k.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", err
	}
	prev, err := old.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", err
	}
	if err := s.Store.AppendLog(ctx, tlog.NewEntry(tlog.KindIssuerKey, now, map[string]string{
		"key":      fmt.Sprintf("%x", tp),
		"previous": fmt.Sprintf("%x", prev),
	})); err != nil {
		return "", err
	}
	return k.KeyID(), nil
}

// frameworkNames reports whether a signed framework file's payload lists
// issuer id (read without checking the signature: the server checks it
// at start; this only decides whether to refuse a rotation early).
func frameworkNames(signed []byte, id string) bool {
	msg, err := jws.Parse(bytes.TrimSpace(signed))
	if err != nil {
		return false
	}
	var doc trust.Document
	if json.Unmarshal(msg.Payload(), &doc) != nil {
		return false
	}
	_, err = doc.Issuer(id)
	return err == nil
}

// didWebIssuers resolves did:web issuers that the framework lists without
// pinned keys, through their DID documents (https; verifier.DIDWebKeys).
func didWebIssuers(fw *trust.Document) (sdjwt.KeyResolver, error) {
	return verifier.DIDWebKeys(verifier.DIDWebConfig{Accredited: func(id string) bool {
		iss, err := fw.Issuer(id)
		return err == nil && listedWithoutKeys(iss)
	}})
}

// devIssuer is a development framework's issuer entry: a did:web names
// no keys (they are its DID document's, so they rotate), a did:jwk pins
// its key.
func devIssuer(id string, jwks json.RawMessage) trust.Issuer {
	if strings.HasPrefix(id, "did:web:") {
		return trust.Issuer{ID: id}
	}
	return trust.Issuer{ID: id, JWKS: jwks}
}
