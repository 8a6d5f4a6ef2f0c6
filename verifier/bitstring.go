package verifier

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/mustard-id/mustard/internal/sdjwt"
	"github.com/mustard-id/mustard/internal/statuslist"
)

// W3C Bitstring Status List v1.0, the status of W3C VCs: a credential's
// credentialStatus holds BitstringStatusListEntry objects, each naming a
// BitstringStatusListCredential (here a VC 2.0 JWT, application/vc+jwt,
// signed by the credential's issuer) and an index in its bitstring.

const (
	mediaTypeVCJWT = "application/vc+jwt"
	// maxStatusEntriesPerVC bounds a credential's credentialStatus list.
	maxStatusEntriesPerVC = 4
)

type bitstringRef struct {
	purpose string
	idx     int
	uri     string
}

// parseBitstringEntries reads credentialStatus: absent (no status), one
// entry or a list of entries, each a BitstringStatusListEntry for
// revocation or suspension with a decimal statusListIndex and an https
// (or loopback http) statusListCredential.
func parseBitstringEntries(v any) ([]bitstringRef, error) {
	var list []any
	switch x := v.(type) {
	case nil:
		return nil, nil
	case map[string]any:
		list = []any{x}
	case []any:
		list = x
	default:
		return nil, errors.New("credentialStatus is not an object or a list")
	}
	if len(list) > maxStatusEntriesPerVC {
		return nil, errors.New("too many status entries")
	}
	var out []bitstringRef
	for _, e := range list {
		m, ok := e.(map[string]any)
		if !ok || m["type"] != "BitstringStatusListEntry" {
			return nil, errors.New("not a BitstringStatusListEntry")
		}
		purpose, _ := m["statusPurpose"].(string)
		if purpose != "revocation" && purpose != "suspension" {
			return nil, errors.New("unknown status purpose")
		}
		s, _ := m["statusListIndex"].(string)
		idx, err := strconv.Atoi(s)
		if err != nil || idx < 0 || idx >= statuslist.MaxDecoded*8 || strconv.Itoa(idx) != s {
			return nil, errors.New("bad statusListIndex")
		}
		uri, _ := m["statusListCredential"].(string)
		u, err := url.Parse(uri)
		if err != nil || len(uri) > maxStatusURI || u.Host == "" || u.User != nil || (u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname()))) {
			return nil, errors.New("statusListCredential must be an https URL")
		}
		out = append(out, bitstringRef{purpose: purpose, idx: idx, uri: uri})
	}
	return out, nil
}

// checkBitstring checks every status entry of a W3C credential of issuer:
// a set revocation bit is ErrRevoked, a set suspension bit ErrSuspended,
// a status that cannot be established ErrStatusUnavailable.
func (v *Verifier) checkBitstring(ctx context.Context, issuer string, status any) error {
	refs, err := parseBitstringEntries(status)
	if err != nil {
		return ErrStatusUnavailable
	}
	for _, ref := range refs {
		l, err := v.statusList(ctx, issuer+" "+ref.uri+" "+ref.purpose, func(ctx context.Context) (*statuslist.List, time.Time, error) {
			return v.fetchBitstring(ctx, issuer, ref.uri, ref.purpose)
		})
		if err != nil {
			return ErrStatusUnavailable
		}
		bit, err := l.Get(ref.idx)
		if err != nil {
			return ErrStatusUnavailable
		}
		if bit != 0 {
			if ref.purpose == "suspension" {
				return ErrSuspended
			}
			return ErrRevoked
		}
	}
	return nil
}

// fetchBitstring GETs a BitstringStatusListCredential (bounded in size
// and time) and verifies it: a vc+jwt by the credential's issuer (kid
// "<issuer>#<kid>" resolved through Config.Issuers, alg bound to the
// key), id the URI fetched, type BitstringStatusListCredential, the
// purpose asked for, validFrom / validUntil around now.
func (v *Verifier) fetchBitstring(ctx context.Context, issuer, uri, purpose string) (*statuslist.List, time.Time, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
	if err != nil {
		return nil, time.Time{}, err
	}
	req.Header.Set("Accept", mediaTypeVCJWT)
	resp, err := v.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, time.Time{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, time.Time{}, fmt.Errorf("verifier: status list: HTTP %d", resp.StatusCode)
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != mediaTypeVCJWT {
		return nil, time.Time{}, fmt.Errorf("verifier: status list: content type %q", mt)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, statuslist.MaxToken+1))
	if err != nil {
		return nil, time.Time{}, err
	}
	if len(body) > statuslist.MaxToken {
		return nil, time.Time{}, errors.New("verifier: status list too large")
	}
	return v.parseBitstring(ctx, string(body), issuer, uri, purpose)
}

// parseBitstring verifies a BitstringStatusListCredential JWT.
func (v *Verifier) parseBitstring(ctx context.Context, raw, issuer, uri, purpose string) (*statuslist.List, time.Time, error) {
	if strings.Count(raw, ".") != 2 {
		return nil, time.Time{}, errors.New("verifier: status list: not a compact JWS")
	}
	msg, err := jws.Parse([]byte(raw))
	if err != nil || len(msg.Signatures()) != 1 {
		return nil, time.Time{}, errors.New("verifier: status list: not a JWS")
	}
	h := msg.Signatures()[0].ProtectedHeaders()
	if h.Type() != "vc+jwt" {
		return nil, time.Time{}, errors.New("verifier: status list: typ is not vc+jwt")
	}
	kid := strings.TrimPrefix(h.KeyID(), issuer+"#")
	key, err := v.cfg.Issuers(ctx, sdjwt.KeyQuery{Issuer: issuer, KeyID: kid, Algorithm: h.Algorithm()})
	if err != nil || key == nil {
		return nil, time.Time{}, errors.New("verifier: status list: no key for the issuer")
	}
	pub, err := jwk.PublicKeyOf(key)
	if err != nil {
		return nil, time.Time{}, err
	}
	alg := jwa.ES256
	if pub.KeyType() == jwa.OKP {
		alg = jwa.EdDSA
	}
	if h.Algorithm() != alg {
		return nil, time.Time{}, errors.New("verifier: status list: alg does not fit the key")
	}
	payload, err := jws.Verify([]byte(raw), jws.WithKey(alg, pub))
	if err != nil {
		return nil, time.Time{}, errors.New("verifier: status list: bad signature")
	}
	var c struct {
		ID                string   `json:"id"`
		Type              []string `json:"type"`
		Issuer            string   `json:"issuer"`
		ValidFrom         string   `json:"validFrom"`
		ValidUntil        string   `json:"validUntil"`
		CredentialSubject struct {
			Type          string  `json:"type"`
			StatusPurpose string  `json:"statusPurpose"`
			EncodedList   string  `json:"encodedList"`
			TTL           float64 `json:"ttl"`
		} `json:"credentialSubject"`
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, time.Time{}, err
	}
	if c.ID != uri || c.Issuer != issuer || !slices.Contains(c.Type, "BitstringStatusListCredential") ||
		c.CredentialSubject.Type != "BitstringStatusList" || c.CredentialSubject.StatusPurpose != purpose {
		return nil, time.Time{}, errors.New("verifier: status list: not the list the credential names")
	}
	now := v.cfg.Now()
	from, err1 := time.Parse(time.RFC3339, c.ValidFrom)
	until, err2 := time.Parse(time.RFC3339, c.ValidUntil)
	if err1 != nil || err2 != nil || from.After(now.Add(time.Minute)) || !now.Before(until) {
		return nil, time.Time{}, errors.New("verifier: status list: not valid now")
	}
	l, err := statuslist.DecodeBitstring(c.CredentialSubject.EncodedList, 1)
	if err != nil {
		return nil, time.Time{}, err
	}
	// Bitstring Status List v1.0 §2.2: ttl in milliseconds.
	ttl := defaultStatusTTL
	if t := c.CredentialSubject.TTL; t > 0 && t < math.MaxInt32 {
		ttl = time.Duration(t) * time.Millisecond
	}
	cacheUntil := now.Add(min(ttl, maxStatusCacheTTL))
	if until.Before(cacheUntil) {
		cacheUntil = until
	}
	return l, cacheUntil, nil
}
