package oidc_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"golang.org/x/oauth2"

	"github.com/mustard-id/mustard/internal/sdjwt"
	"github.com/mustard-id/mustard/internal/store/sqlite"
	"github.com/mustard-id/mustard/oidc"
	"github.com/mustard-id/mustard/verifier"
)

const (
	issuerID = "https://issuer.test.mustard.example"
	regToken = "initial-access-token-for-tests"
)

// op is an OpenID Provider on loopback with the SQLite store, and an
// accredited persona-credential issuer whose key the test holds.
type op struct {
	t      *testing.T
	srv    *httptest.Server
	p      *oidc.Provider
	store  *sqlite.Store
	issKey jwk.Key
	now    func() time.Time
}

func newKey(t testing.TB, kid string) jwk.Key {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := jwk.FromRaw(priv)
	if err != nil {
		t.Fatal(err)
	}
	_ = k.Set(jwk.KeyIDKey, kid)
	_ = k.Set(jwk.AlgorithmKey, "ES256")
	return k
}

func startOP(t testing.TB, mut func(*oidc.Config)) *op {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "op.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	issKey := newKey(t, "issuer-1")
	pub, _ := issKey.PublicKey()
	set := jwk.NewSet()
	_ = set.AddKey(pub)
	v, err := verifier.New(verifier.Config{Issuers: sdjwt.StaticKeys(issuerID, set)})
	if err != nil {
		t.Fatal(err)
	}
	o := &op{store: st, issKey: issKey}
	mux := http.NewServeMux()
	o.srv = httptest.NewServer(mux)
	t.Cleanup(o.srv.Close)
	cfg := oidc.Config{
		Issuer: o.srv.URL, Keys: []jwk.Key{newKey(t, "op-2"), newKey(t, "op-1")}, Secret: make([]byte, 32),
		Verifier: v, Backend: st, Framework: "Mustard test framework",
		RegistrationTokens: map[string]oidc.RegistrationPolicy{oidc.TokenHash(regToken): {AllowedClaims: []string{"age_over_18", "age_over_21", "nationality"}}},
	}
	_, _ = rand.Read(cfg.Secret)
	if mut != nil {
		mut(&cfg)
	}
	o.p, err = oidc.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/", o.p.Handler())
	return o
}

// person is a wallet stand-in: one core secret, a pseudonym per sector,
// credentials signed by the accredited issuer (the circuit and its proofs
// are exercised end to end in internal/integration).
type person struct {
	secret string
	age    int
	key    jwk.Key
}

func newPerson(t testing.TB, age int) *person {
	return &person{secret: fmt.Sprint(time.Now().UnixNano()), age: age, key: newKey(t, "")}
}

func (p *person) pseudonym(sector string) string {
	h := sha256.Sum256([]byte(p.secret + "|" + sector))
	return hex.EncodeToString(h[:])
}

// present answers the login's presentation request the way the wallet
// does: fetch it by reference, present a credential for its scope with
// aud and nonce, POST to response_uri.
func (o *op) present(t testing.TB, p *person, link string) (int, []byte) {
	t.Helper()
	uri, err := verifier.RequestURIOf(link)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(uri)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return resp.StatusCode, b
	}
	req, err := verifier.ParseRequest(b)
	if err != nil {
		t.Fatal(err)
	}
	disclosable := map[string]any{"nationality": int64(528)}
	for _, a := range []int{18, 21} {
		if p.age >= a {
			disclosable[fmt.Sprintf("age_over_%d", a)] = true
		}
	}
	pub, _ := p.key.PublicKey()
	now := time.Now()
	cred, err := sdjwt.Issue(sdjwt.IssueRequest{
		Issuer: issuerID, VCT: verifier.VCT, IssuedAt: now, Expiry: now.Add(time.Hour),
		Claims:      map[string]any{"scope": req.Scope, "pseudonym": p.pseudonym(req.Scope), "grade": "high"},
		Disclosable: disclosable, HolderKey: pub,
	}, o.issKey)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := sdjwt.Parse(cred)
	if err != nil {
		t.Fatal(err)
	}
	var show []string
	for _, c := range req.RequiredClaims {
		if _, ok := disclosable[c]; ok {
			show = append(show, c)
		}
	}
	vp, err := tok.Present(sdjwt.PresentRequest{Disclose: show, Audience: req.Audience, Nonce: req.Nonce}, p.key)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(verifier.ResponseJSON{Presentation: vp})
	resp, err = http.Post(req.ResponseURI, "application/json", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ = io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func (o *op) register(t testing.TB, reg oidc.Registration) (*oidc.Registration, int, []byte) {
	t.Helper()
	b, _ := json.Marshal(reg)
	req, _ := http.NewRequest("POST", o.srv.URL+"/oauth2/register", strings.NewReader(string(b)))
	req.Header.Set("Authorization", "Bearer "+regToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		return nil, resp.StatusCode, body
	}
	var out oidc.Registration
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatal(err)
	}
	return &out, resp.StatusCode, body
}

// rp is a real relying party: golang.org/x/oauth2 with PKCE and
// coreos/go-oidc verifying the ID token, on its own loopback server.
type rp struct {
	srv      *httptest.Server
	conf     *oauth2.Config
	verifier *gooidc.IDTokenVerifier
	provider *gooidc.Provider
	scopes   []string
	extra    []oauth2.AuthCodeOption
}

// loginResult is what the RP's callback learned.
type loginResult struct {
	Subject string         `json:"sub"`
	Claims  map[string]any `json:"claims"`
	Access  string         `json:"access_token"`
	Refresh string         `json:"refresh_token"`
	IDToken string         `json:"id_token"`
	Error   string         `json:"error"`
}

func newRP(t testing.TB, o *op, sectorHost string, scopes []string, manifestClaims []string) *rp {
	t.Helper()
	r := &rp{scopes: scopes}
	mux := http.NewServeMux()
	r.srv = httptest.NewServer(mux)
	t.Cleanup(r.srv.Close)
	reg, code, body := o.register(t, oidc.Registration{
		RedirectURIs: []string{r.srv.URL + "/callback"}, ClientName: "Shop " + sectorHost,
		GrantTypes: []string{"authorization_code", "refresh_token"}, SectorIdentifier: sectorHost,
		PostLogoutRedirectURIs: []string{r.srv.URL + "/bye"},
		Manifest:               &oidc.Manifest{Purpose: "Sell age-restricted goods.", Claims: manifestClaims, Retention: "30 days", Framework: "Mustard test framework"},
	})
	if reg == nil {
		t.Fatalf("register: %d %s", code, body)
	}
	ctx := gooidc.ClientContext(context.Background(), http.DefaultClient)
	prov, err := gooidc.NewProvider(ctx, o.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	r.provider = prov
	r.conf = &oauth2.Config{ClientID: reg.ClientID, ClientSecret: reg.ClientSecret, Endpoint: prov.Endpoint(), RedirectURL: r.srv.URL + "/callback", Scopes: scopes}
	r.verifier = prov.Verifier(&gooidc.Config{ClientID: reg.ClientID, SupportedSigningAlgs: []string{"ES256"}})
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, req *http.Request) {
		state, nonce, pkce := oauth2.GenerateVerifier(), oauth2.GenerateVerifier(), oauth2.GenerateVerifier()
		for name, v := range map[string]string{"state": state, "nonce": nonce, "pkce": pkce} {
			http.SetCookie(w, &http.Cookie{Name: name, Value: v, Path: "/", HttpOnly: true})
		}
		opts := append([]oauth2.AuthCodeOption{gooidc.Nonce(nonce), oauth2.S256ChallengeOption(pkce)}, r.extra...)
		http.Redirect(w, req, r.conf.AuthCodeURL(state, opts...), http.StatusFound)
	})
	mux.HandleFunc("GET /callback", func(w http.ResponseWriter, req *http.Request) {
		out := loginResult{}
		defer func() { _ = json.NewEncoder(w).Encode(out) }()
		cookie := func(n string) string { c, _ := req.Cookie(n); return c.Value }
		if e := req.URL.Query().Get("error"); e != "" {
			out.Error = e
			return
		}
		if req.URL.Query().Get("state") != cookie("state") {
			out.Error = "state mismatch"
			return
		}
		tok, err := r.conf.Exchange(req.Context(), req.URL.Query().Get("code"), oauth2.VerifierOption(cookie("pkce")))
		if err != nil {
			out.Error = "exchange: " + err.Error()
			return
		}
		raw, _ := tok.Extra("id_token").(string)
		idt, err := r.verifier.Verify(req.Context(), raw)
		if err != nil {
			out.Error = "id_token: " + err.Error()
			return
		}
		if idt.Nonce != cookie("nonce") {
			out.Error = "nonce mismatch"
			return
		}
		out.Claims = map[string]any{}
		_ = idt.Claims(&out.Claims)
		out.Subject, out.Access, out.Refresh, out.IDToken = idt.Subject, tok.AccessToken, tok.RefreshToken, raw
	})
	return r
}

// browser is a person's browser: cookies, following redirects.
type browser struct {
	c *http.Client
}

func newBrowser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{c: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
}

func (b *browser) get(t testing.TB, u string) (*http.Response, string) {
	t.Helper()
	resp, err := b.c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func (b *browser) post(t testing.TB, u string, form url.Values) (*http.Response, string) {
	t.Helper()
	resp, err := b.c.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

var (
	linkRE = regexp.MustCompile(`id="wallet-link" href="(mustard://present\?request_uri=[^"]+)"`)
	csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
)

// deepLink is the wallet link the sign-in page offers.
func deepLink(page string) string {
	m := linkRE.FindStringSubmatch(page)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

// login runs a whole sign-in: the browser goes to the RP, lands on the
// OP's sign-in page, the wallet presents, the page moves on to consent,
// the person allows, the RP exchanges the code and verifies the ID token.
func login(t testing.TB, o *op, r *rp, p *person, decision string) loginResult {
	t.Helper()
	b := newBrowser()
	resp, page := b.get(t, r.srv.URL+"/login")
	if resp.StatusCode != 200 || !strings.Contains(page, "Sign in to") {
		t.Fatalf("sign-in page: %d %s", resp.StatusCode, page)
	}
	loginURL := resp.Request.URL.String()
	link := deepLink(page)
	if link == "" {
		t.Fatalf("no deep link on the sign-in page:\n%s", page)
	}
	if code, body := o.present(t, p, link); code != 200 {
		return loginResult{Error: fmt.Sprintf("presentation refused: %d %s", code, body)}
	}
	resp, page = b.get(t, loginURL) // the page's own refresh
	if !strings.Contains(page, "asks for your consent") {
		t.Fatalf("after presenting, expected the consent page, got %d:\n%s", resp.StatusCode, page)
	}
	m := csrfRE.FindStringSubmatch(page)
	resp, page = b.post(t, resp.Request.URL.String(), url.Values{"csrf": {m[1]}, "decision": {decision}})
	var out loginResult
	if err := json.Unmarshal([]byte(page), &out); err != nil {
		t.Fatalf("RP callback: %d %s", resp.StatusCode, page)
	}
	return out
}

func TestLoginPairwiseSubject(t *testing.T) {
	o := startOP(t, nil)
	alice := newPerson(t, 30)
	shopA := newRP(t, o, "shop.example", []string{"openid", "age_over_18"}, []string{"age_over_18"})
	shopA2 := newRP(t, o, "shop.example", []string{"openid"}, []string{"age_over_18"}) // same sector, another client
	forum := newRP(t, o, "forum.example", []string{"openid", "offline_access"}, nil)

	first := login(t, o, shopA, alice, "allow")
	if first.Error != "" {
		t.Fatal(first.Error)
	}
	if first.Claims["age_over_18"] != true || first.Claims["acr"] != "http://eidas.europa.eu/LoA/high" {
		t.Fatalf("claims: %v", first.Claims)
	}
	if _, ok := first.Claims["nationality"]; ok {
		t.Fatal("a claim that was not requested was released")
	}
	again := login(t, o, shopA, alice, "allow")
	sameSector := login(t, o, shopA2, alice, "allow")
	other := login(t, o, forum, alice, "allow")
	if again.Subject != first.Subject || sameSector.Subject != first.Subject {
		t.Fatal("the same person got different subjects within one sector")
	}
	if other.Subject == "" || other.Subject == first.Subject {
		t.Fatal("two sectors got the same subject")
	}
	bob := login(t, o, shopA, newPerson(t, 40), "allow")
	if bob.Subject == first.Subject {
		t.Fatal("two people got the same subject")
	}
	// userinfo says the same, through the access token.
	ui, err := shopA.provider.UserInfo(context.Background(), oauth2.StaticTokenSource(&oauth2.Token{AccessToken: first.Access}))
	if err != nil {
		t.Fatal(err)
	}
	var uic map[string]any
	_ = ui.Claims(&uic)
	if ui.Subject != first.Subject || uic["age_over_18"] != true {
		t.Fatalf("userinfo: %v", uic)
	}
}

func TestConsentDeniedAndUnprovable(t *testing.T) {
	o := startOP(t, nil)
	shop := newRP(t, o, "shop.example", []string{"openid", "age_over_18"}, []string{"age_over_18"})
	if got := login(t, o, shop, newPerson(t, 30), "deny"); got.Error != "access_denied" {
		t.Fatalf("denied consent: %+v", got)
	}
	// A minor's wallet cannot prove age_over_18: the presentation is
	// refused with missing-claim, and cancelling sends access_denied.
	b := newBrowser()
	_, page := b.get(t, shop.srv.URL+"/login")
	link := deepLink(page)
	code, body := o.present(t, newPerson(t, 16), link)
	if code != http.StatusForbidden || !strings.Contains(string(body), "missing-claim") {
		t.Fatalf("a persona without age_over_18 was accepted: %d %s", code, body)
	}
	loginURL := mustLoginURL(t, page, o)
	resp, page := b.get(t, loginURL)
	if !strings.Contains(page, "does not prove what") {
		t.Fatalf("the sign-in page does not say why: %d %s", resp.StatusCode, page)
	}
	m := csrfRE.FindStringSubmatch(page)
	_, page = b.post(t, strings.Replace(loginURL, "/oauth2/login/", "/oauth2/consent/", 1), url.Values{"csrf": {m[1]}, "decision": {"deny"}})
	if !strings.Contains(page, `"error":"access_denied"`) {
		t.Fatalf("cancel: %s", page)
	}
}

func mustLoginURL(t testing.TB, page string, o *op) string {
	t.Helper()
	m := regexp.MustCompile(`/oauth2/login/([A-Za-z0-9_-]+)/request`).FindStringSubmatch(strings.ReplaceAll(page, "%2F", "/"))
	if m == nil {
		t.Fatalf("no login id in page")
	}
	return o.srv.URL + "/oauth2/login/" + m[1]
}
