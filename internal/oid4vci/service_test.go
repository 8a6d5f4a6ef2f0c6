package oid4vci_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/internal/oid4vci"
	"github.com/mustard-id/mustard/internal/store/sqlite"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

const confID = "sample_jwt"

// world is a Service over loopback HTTP with a real SQLite store; its
// minter signs a JWT (ES256) binding the key proof's key.
type world struct {
	svc    *oid4vci.Service
	store  *sqlite.Store
	srv    *httptest.Server
	clock  *clock
	signer jwk.Key
	minted int
}

func newKey(t testing.TB) jwk.Key {
	raw, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	k, err := jwk.FromRaw(raw)
	require.NoError(t, err)
	return k
}

func newWorld(t testing.TB) *world {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "m.db"))
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	w := &world{store: st, clock: &clock{t: time.Now().Truncate(time.Second)}, signer: newKey(t)}
	var h http.Handler
	w.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) { h.ServeHTTP(rw, r) }))
	t.Cleanup(w.srv.Close)
	mint := oid4vci.MinterFunc(func(ctx context.Context, m *oid4vci.Mint) (string, error) {
		if string(m.Request.Extensions["refuse"]) == "true" {
			return "", oid4vci.ErrDenied // before Commit: nothing consumed
		}
		if err := m.Commit(ctx); err != nil {
			return "", err
		}
		w.minted++
		tp, _ := m.KeyProof.Key.Thumbprint(0x05) // crypto.SHA256
		payload, _ := json.Marshal(map[string]any{"cnf": map[string]any{"jkt": tp}, "data": m.Data})
		b, err := jws.Sign(payload, jws.WithKey(jwa.ES256, w.signer))
		return string(b), err
	})
	w.svc, err = oid4vci.New(oid4vci.Config{
		Issuer: w.srv.URL, Name: "Test issuer",
		Configurations: map[string]oid4vci.Configuration{confID: {
			Metadata: oid4vci.CredentialConfiguration{Format: "jwt_vc_json", BindingMethods: []string{"jwk"}, ProofTypes: map[string]oid4vci.ProofType{"jwt": {SigningAlgs: []string{"ES256"}}}},
			Minter:   mint,
		}, "other": {Metadata: oid4vci.CredentialConfiguration{Format: "jwt_vc_json"}, Minter: mint}},
		PublicOffers: []string{confID},
		Now:          w.clock.Now,
	}, st)
	require.NoError(t, err)
	h = w.svc.Handler()
	return w
}

func (w *world) client() *oid4vci.Client {
	return &oid4vci.Client{HTTP: w.srv.Client(), Now: w.clock.Now}
}

func (w *world) offer(t testing.TB, tx bool) *oid4vci.OfferResult {
	t.Helper()
	res, err := w.svc.CreateOffer(context.Background(), oid4vci.OfferRequest{ConfigurationIDs: []string{confID}, TxCode: tx, Data: json.RawMessage(`{"name":"Sanne"}`)})
	require.NoError(t, err)
	return res
}

// token redeems a pre-authorized code over HTTP and returns the status
// and the decoded body.
func (w *world) token(t testing.TB, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := w.srv.Client().PostForm(w.srv.URL+"/v1/oid4vci/token", form)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	require.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
	return resp.StatusCode, out
}

func (w *world) accessToken(t testing.TB) string {
	t.Helper()
	res := w.offer(t, false)
	code, out := w.token(t, url.Values{"grant_type": {oid4vci.GrantPreAuthorized}, "pre-authorized_code": {res.Offer.Grants.PreAuthorized.Code}})
	require.Equal(t, http.StatusOK, code, out)
	return out["access_token"].(string)
}

func (w *world) nonce(t testing.TB) string {
	t.Helper()
	resp, err := w.srv.Client().Post(w.srv.URL+"/v1/oid4vci/nonce", "", nil)
	require.NoError(t, err)
	defer resp.Body.Close()
	var n oid4vci.NonceResponse
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&n))
	require.NotEmpty(t, n.CNonce)
	return n.CNonce
}

// credential posts body with the access token and returns the status and
// the decoded answer.
func (w *world) credential(t testing.TB, token string, body []byte) (int, map[string]any, http.Header) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, w.srv.URL+"/v1/oid4vci/credential", bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := w.srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	require.NoError(t, json.Unmarshal(b, &out), string(b))
	return resp.StatusCode, out, resp.Header
}

func request(t testing.TB, id string, proofs ...string) []byte {
	b, err := json.Marshal(oid4vci.CredentialRequest{ConfigurationID: id, Proofs: &oid4vci.Proofs{JWT: proofs}})
	require.NoError(t, err)
	return b
}

// The whole flow through the wallet client, by reference and by value:
// metadata, AS metadata, token, nonce, credential; the credential binds
// the key proof's key and carries the offer's data.
func TestFlow(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	for _, byRef := range []bool{true, false} {
		res := w.offer(t, false)
		link := res.ByValue
		if byRef {
			link = res.ByReference
		}
		ref, err := oid4vci.ParseOffer(link)
		require.NoError(t, err)
		require.Equal(t, byRef, ref.URI != "")
		offer, err := w.client().Resolve(ctx, ref)
		require.NoError(t, err)
		require.Equal(t, res.Offer, *offer)
		s, err := w.client().Redeem(ctx, offer, "")
		require.NoError(t, err)
		require.Equal(t, w.srv.URL+"/v1/oid4vci/credential", s.Metadata.CredentialEndpoint)
		key := newKey(t)
		cred, err := s.Credential(ctx, confID, key, nil)
		require.NoError(t, err)
		payload, err := jws.Verify([]byte(cred), jws.WithKey(jwa.ES256, w.signer))
		require.NoError(t, err)
		tp, err := key.Thumbprint(0x05)
		require.NoError(t, err)
		var c struct {
			Cnf  struct{ Jkt []byte }
			Data map[string]string
		}
		require.NoError(t, json.Unmarshal(payload, &c))
		require.Equal(t, tp, c.Cnf.Jkt)
		require.Equal(t, "Sanne", c.Data["name"])
		// The access token redeems one credential.
		_, err = s.Credential(ctx, confID, key, nil)
		require.ErrorIs(t, err, oid4vci.ErrInvalidToken)
	}
	require.Equal(t, 2, w.minted)
}

func TestMetadata(t *testing.T) {
	w := newWorld(t)
	var m map[string]any
	resp, err := w.srv.Client().Get(w.srv.URL + "/.well-known/openid-credential-issuer")
	require.NoError(t, err)
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&m))
	resp.Body.Close()
	require.Equal(t, w.srv.URL, m["credential_issuer"])
	require.Equal(t, []any{w.srv.URL + "/v1/oid4vci"}, m["authorization_servers"])
	require.Equal(t, w.srv.URL+"/v1/oid4vci/nonce", m["nonce_endpoint"])
	conf := m["credential_configurations_supported"].(map[string]any)[confID].(map[string]any)
	require.Equal(t, []any{"jwk"}, conf["cryptographic_binding_methods_supported"])
	resp, err = w.srv.Client().Get(w.srv.URL + "/.well-known/oauth-authorization-server/v1/oid4vci")
	require.NoError(t, err)
	var as oid4vci.ASMetadata
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&as))
	resp.Body.Close()
	require.Equal(t, w.srv.URL+"/v1/oid4vci", as.Issuer)
	require.Equal(t, []string{oid4vci.GrantPreAuthorized}, as.GrantTypesSupported)
	require.True(t, as.PreAuthorizedAnonymousOK)
}

func TestTokenRefusals(t *testing.T) {
	w := newWorld(t)
	grant := func(code string, extra ...string) url.Values {
		v := url.Values{"grant_type": {oid4vci.GrantPreAuthorized}, "pre-authorized_code": {code}}
		for i := 0; i+1 < len(extra); i += 2 {
			v.Add(extra[i], extra[i+1])
		}
		return v
	}
	t.Run("reused code", func(t *testing.T) {
		code := w.offer(t, false).Offer.Grants.PreAuthorized.Code
		st, _ := w.token(t, grant(code))
		require.Equal(t, http.StatusOK, st)
		st, out := w.token(t, grant(code))
		require.Equal(t, http.StatusBadRequest, st)
		require.Equal(t, "invalid_grant", out["error"])
	})
	t.Run("expired code", func(t *testing.T) {
		code := w.offer(t, false).Offer.Grants.PreAuthorized.Code
		w.clock.Add(11 * time.Minute)
		defer w.clock.Add(-11 * time.Minute)
		st, out := w.token(t, grant(code))
		require.Equal(t, http.StatusBadRequest, st)
		require.Equal(t, "invalid_grant", out["error"])
	})
	t.Run("unknown code", func(t *testing.T) {
		st, out := w.token(t, grant("no-such-code"))
		require.Equal(t, http.StatusBadRequest, st)
		require.Equal(t, "invalid_grant", out["error"])
	})
	t.Run("wrong grant type", func(t *testing.T) {
		st, out := w.token(t, url.Values{"grant_type": {"authorization_code"}, "code": {"x"}})
		require.Equal(t, http.StatusBadRequest, st)
		require.Equal(t, "unsupported_grant_type", out["error"])
	})
	t.Run("tx_code", func(t *testing.T) {
		res := w.offer(t, true)
		require.Len(t, res.TxCode, 6)
		require.Equal(t, 6, res.Offer.Grants.PreAuthorized.TxCode.Length)
		code := res.Offer.Grants.PreAuthorized.Code
		// Missing: refused, and the code survives (no guess was made).
		st, out := w.token(t, grant(code))
		require.Equal(t, http.StatusBadRequest, st)
		require.Equal(t, "invalid_request", out["error"])
		wrong := "000000"
		if res.TxCode == wrong {
			wrong = "000001"
		}
		// Wrong: refused, and the code is burned, so the right one fails too.
		st, out = w.token(t, grant(code, "tx_code", wrong))
		require.Equal(t, "invalid_grant", out["error"], st)
		st, out = w.token(t, grant(code, "tx_code", res.TxCode))
		require.Equal(t, "invalid_grant", out["error"], st)
		// A fresh offer with the right code works; a tx_code where none is
		// expected is refused.
		res = w.offer(t, true)
		st, out = w.token(t, grant(res.Offer.Grants.PreAuthorized.Code, "tx_code", res.TxCode))
		require.Equal(t, http.StatusOK, st, out)
		st, out = w.token(t, grant(w.offer(t, false).Offer.Grants.PreAuthorized.Code, "tx_code", "123456"))
		require.Equal(t, "invalid_request", out["error"], st)
	})
	t.Run("oversized form", func(t *testing.T) {
		st, out := w.token(t, grant(strings.Repeat("a", 8<<10)))
		require.Equal(t, http.StatusBadRequest, st)
		require.Equal(t, "invalid_request", out["error"])
	})
}

func TestCredentialRefusals(t *testing.T) {
	w := newWorld(t)
	aud := w.srv.URL
	now := w.clock.Now
	sign := func(t *testing.T, key jwk.Key, aud, nonce string) string {
		kp, err := oid4vci.SignKeyProof(key, aud, nonce, now())
		require.NoError(t, err)
		return kp
	}
	type tc struct {
		name   string
		status int
		code   string
		body   func(t *testing.T) []byte
		token  func(t *testing.T) string
	}
	good := func(t *testing.T) []byte { return request(t, confID, sign(t, newKey(t), aud, w.nonce(t))) }
	fresh := func(t *testing.T) string { return w.accessToken(t) }
	cases := []tc{
		{"no token", 401, "invalid_token", good, func(*testing.T) string { return "" }},
		{"unknown token", 401, "invalid_token", good, func(*testing.T) string { return "not-a-token" }},
		{"expired token", 401, "invalid_token", good, func(t *testing.T) string {
			tok := w.accessToken(t)
			w.clock.Add(6 * time.Minute)
			return tok
		}},
		{"unknown configuration", 400, "unknown_credential_configuration", func(t *testing.T) []byte { return request(t, "nope", sign(t, newKey(t), aud, w.nonce(t))) }, fresh},
		{"configuration not offered", 400, "unknown_credential_configuration", func(t *testing.T) []byte { return request(t, "other", sign(t, newKey(t), aud, w.nonce(t))) }, fresh},
		{"credential_identifier", 400, "unknown_credential_identifier", func(t *testing.T) []byte { return []byte(`{"credential_identifier":"x","proofs":{"jwt":["a"]}}`) }, fresh},
		{"missing proof", 400, "invalid_proof", func(t *testing.T) []byte { return []byte(`{"credential_configuration_id":"` + confID + `"}`) }, fresh},
		{"garbage proof", 400, "invalid_proof", func(t *testing.T) []byte { return request(t, confID, "a.b.c") }, fresh},
		{"wrong aud", 400, "invalid_proof", func(t *testing.T) []byte {
			return request(t, confID, sign(t, newKey(t), "https://other.example", w.nonce(t)))
		}, fresh},
		{"unknown nonce", 400, "invalid_nonce", func(t *testing.T) []byte { return request(t, confID, sign(t, newKey(t), aud, "made-up")) }, fresh},
		{"proof key is not the jwk", 400, "invalid_proof", func(t *testing.T) []byte {
			// Signed by one key, naming another in its jwk header.
			other, err := newKey(t).PublicKey()
			require.NoError(t, err)
			hdr := jws.NewHeaders()
			_ = hdr.Set(jws.TypeKey, oid4vci.ProofTypeJWT)
			_ = hdr.Set(jws.JWKKey, other)
			payload, _ := json.Marshal(map[string]any{"aud": aud, "iat": now().Unix(), "nonce": w.nonce(t)})
			b, err := jws.Sign(payload, jws.WithKey(jwa.ES256, newKey(t), jws.WithProtectedHeaders(hdr)))
			require.NoError(t, err)
			return request(t, confID, string(b))
		}, fresh},
		{"old iat", 400, "invalid_proof", func(t *testing.T) []byte {
			kp, err := oid4vci.SignKeyProof(newKey(t), aud, w.nonce(t), now().Add(-time.Hour))
			require.NoError(t, err)
			return request(t, confID, kp)
		}, fresh},
		{"two proofs", 400, "invalid_credential_request", func(t *testing.T) []byte {
			return request(t, confID, sign(t, newKey(t), aud, w.nonce(t)), sign(t, newKey(t), aud, w.nonce(t)))
		}, fresh},
		{"singular proof", 400, "invalid_credential_request", func(t *testing.T) []byte {
			return []byte(`{"credential_configuration_id":"` + confID + `","proof":{"proof_type":"jwt","jwt":"x"}}`)
		}, fresh},
		{"encryption", 400, "invalid_encryption_parameters", func(t *testing.T) []byte {
			return []byte(`{"credential_configuration_id":"` + confID + `","credential_response_encryption":{}}`)
		}, fresh},
		{"not JSON", 400, "invalid_credential_request", func(t *testing.T) []byte { return []byte(`[1,2]`) }, fresh},
		{"oversized", 413, "invalid_credential_request", func(t *testing.T) []byte {
			return []byte(`{"credential_configuration_id":"` + confID + `","pad":"` + strings.Repeat("a", oid4vci.MaxCredentialRequest) + `"}`)
		}, fresh},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tok := c.token(t)
			st, out, hdr := w.credential(t, tok, c.body(t))
			require.Equal(t, c.status, st, out)
			require.Equal(t, c.code, out["error"], out)
			if st == 401 {
				require.Contains(t, hdr.Get("WWW-Authenticate"), `error="invalid_token"`)
			}
		})
	}
	require.Zero(t, w.minted, "no refused request minted")
	// A reused c_nonce: the second request, with a fresh token, is refused.
	n := w.nonce(t)
	body := request(t, confID, sign(t, newKey(t), aud, n))
	st, out, _ := w.credential(t, w.accessToken(t), body)
	require.Equal(t, http.StatusOK, st, out)
	st, out, _ = w.credential(t, w.accessToken(t), request(t, confID, sign(t, newKey(t), aud, n)))
	require.Equal(t, "invalid_nonce", out["error"], st)
	// A minter's refusal before it commits consumes neither the c_nonce
	// nor the token.
	tok := w.accessToken(t)
	n = w.nonce(t)
	var refuse map[string]any
	require.NoError(t, json.Unmarshal(request(t, confID, sign(t, newKey(t), aud, n)), &refuse))
	refuse["refuse"] = true
	b, _ := json.Marshal(refuse)
	st, out, _ = w.credential(t, tok, b)
	require.Equal(t, "credential_request_denied", out["error"], st)
	st, out, _ = w.credential(t, tok, request(t, confID, sign(t, newKey(t), aud, n)))
	require.Equal(t, http.StatusOK, st, out)
	require.Equal(t, 2, w.minted)
}

// Offers over the public offer API are problem+json on error.
func TestOfferAPI(t *testing.T) {
	w := newWorld(t)
	resp, err := w.srv.Client().Post(w.srv.URL+"/v1/oid4vci/offers", "application/json", strings.NewReader(`{"credential_configuration_ids":["other"]}`))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	require.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
	resp, err = w.srv.Client().Post(w.srv.URL+"/v1/oid4vci/offers", "application/json", strings.NewReader(`{}`))
	require.NoError(t, err)
	var res oid4vci.OfferResult
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&res))
	resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	require.Equal(t, []string{confID}, res.Offer.CredentialConfigurationIDs)
	resp, err = w.srv.Client().Get(w.srv.URL + "/v1/oid4vci/offers/unknown")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	require.True(t, errors.Is(oid4vci.ErrInvalidToken, oid4vci.ErrInvalidToken.With("x")))
}
