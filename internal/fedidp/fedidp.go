// Package fedidp is a minimal OpenID Provider standing in for a
// federation's identity provider (a bank's, a university's, a national
// eID's) in development and tests: discovery, JWKS, an authorization
// endpoint that signs its one user in at once, and a token endpoint that
// checks the client secret, the redirect URI and the PKCE S256 verifier
// and returns an ES256 id_token with the user's claims and the client's
// nonce. It shares no code with Mustard's own OpenID Provider or relying
// party, so a login against it tests them against an independent peer.
package fedidp

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jwt"
)

// IdP is the identity provider.
type IdP struct {
	Issuer       string         // its URL, set before serving
	ClientID     string         // the one client it knows
	ClientSecret string         //
	Subject      string         // the one user's sub
	Claims       map[string]any // and claims
	// NonceOverride, when set, replaces the nonce the client asked for (to
	// test that the relying party notices).
	NonceOverride string

	key   jwk.Key
	mu    sync.Mutex
	codes map[string]grant
}

type grant struct {
	challenge, nonce, redirect string
	expires                    time.Time
}

// New returns an IdP with a fresh ES256 key.
func New(clientID, clientSecret, subject string, claims map[string]any) (*IdP, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	k, err := jwk.FromRaw(priv)
	if err != nil {
		return nil, err
	}
	_ = jwk.AssignKeyID(k)
	_ = k.Set(jwk.AlgorithmKey, jwa.ES256)
	return &IdP{ClientID: clientID, ClientSecret: clientSecret, Subject: subject, Claims: claims, key: k, codes: map[string]grant{}}, nil
}

// JWKS is its public key set, as a trust framework lists it.
func (p *IdP) JWKS() json.RawMessage {
	pub, _ := p.key.PublicKey()
	set := jwk.NewSet()
	_ = set.AddKey(pub)
	b, _ := json.Marshal(set)
	return b
}

// Handler serves the IdP.
func (p *IdP) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{
			"issuer": p.Issuer, "authorization_endpoint": p.Issuer + "/authorize", "token_endpoint": p.Issuer + "/token",
			"jwks_uri": p.Issuer + "/jwks", "response_types_supported": []string{"code"}, "subject_types_supported": []string{"public"},
			"id_token_signing_alg_values_supported": []string{"ES256"}, "code_challenge_methods_supported": []string{"S256"},
		})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/jwk-set+json")
		_, _ = w.Write(p.JWKS())
	})
	mux.HandleFunc("GET /authorize", p.authorize)
	mux.HandleFunc("POST /token", p.token)
	return mux
}

func (p *IdP) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("client_id") != p.ClientID || q.Get("response_type") != "code" || q.Get("code_challenge_method") != "S256" ||
		q.Get("code_challenge") == "" || q.Get("nonce") == "" || q.Get("redirect_uri") == "" {
		http.Error(w, "bad authorization request", http.StatusBadRequest)
		return
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	code := base64.RawURLEncoding.EncodeToString(b)
	p.mu.Lock()
	p.codes[code] = grant{challenge: q.Get("code_challenge"), nonce: q.Get("nonce"), redirect: q.Get("redirect_uri"), expires: time.Now().Add(time.Minute)}
	p.mu.Unlock()
	http.Redirect(w, r, q.Get("redirect_uri")+"?"+url.Values{"code": {code}, "state": {q.Get("state")}}.Encode(), http.StatusFound)
}

func (p *IdP) token(w http.ResponseWriter, r *http.Request) {
	id, secret, ok := r.BasicAuth()
	if ok {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostFormValue("client_id"), r.PostFormValue("client_secret")
	}
	p.mu.Lock()
	g, found := p.codes[r.PostFormValue("code")]
	delete(p.codes, r.PostFormValue("code"))
	p.mu.Unlock()
	sum := sha256.Sum256([]byte(r.PostFormValue("code_verifier")))
	if id != p.ClientID || subtle.ConstantTimeCompare([]byte(secret), []byte(p.ClientSecret)) != 1 || !found || time.Now().After(g.expires) ||
		r.PostFormValue("grant_type") != "authorization_code" || r.PostFormValue("redirect_uri") != g.redirect ||
		base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant"})
		return
	}
	nonce := g.nonce
	if p.NonceOverride != "" {
		nonce = p.NonceOverride
	}
	tok := jwt.New()
	now := time.Now()
	for k, v := range p.Claims {
		_ = tok.Set(k, v)
	}
	for k, v := range map[string]any{"iss": p.Issuer, "sub": p.Subject, "aud": p.ClientID, "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(), "nonce": nonce} {
		_ = tok.Set(k, v)
	}
	signed, err := jwt.Sign(tok, jwt.WithKey(jwa.ES256, p.key))
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "server_error"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"access_token": base64.RawURLEncoding.EncodeToString(sum[:8]), "token_type": "Bearer", "expires_in": 300, "id_token": string(signed)})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
