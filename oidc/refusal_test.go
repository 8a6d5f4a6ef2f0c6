package oidc_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/mustard-id/mustard/oidc"
)

// stopAt is a browser that does not follow redirects to host: the test
// reads the authorization response itself.
func stopAt(host string) *browser {
	b := newBrowser()
	b.c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.URL.Host == host {
			return http.ErrUseLastResponse
		}
		return nil
	}
	return b
}

// authorize sends an authorization request with params (PKCE S256 and the
// RP's redirect URI unless params say otherwise) and, when the OP shows
// its sign-in page, presents p's persona and allows. It returns the
// redirect back to the RP (nil if the OP did not redirect) and the last
// page.
func authorize(t testing.TB, o *op, r *rp, p *person, params url.Values) (*url.URL, string, string) {
	t.Helper()
	pkce := oauth2.GenerateVerifier()
	q := url.Values{
		"client_id": {r.conf.ClientID}, "redirect_uri": {r.conf.RedirectURL}, "response_type": {"code"},
		"scope": {strings.Join(r.scopes, " ")}, "state": {"state-123456789"}, "nonce": {"nonce-123456789"},
		"code_challenge": {oauth2.S256ChallengeFromVerifier(pkce)}, "code_challenge_method": {"S256"},
	}
	for k, v := range params {
		if v[0] == "" {
			q.Del(k)
		} else {
			q[k] = v
		}
	}
	rpURL, _ := url.Parse(r.srv.URL)
	b := stopAt(rpURL.Host)
	resp, page := b.get(t, o.srv.URL+"/oauth2/auth?"+q.Encode())
	if loc := resp.Header.Get("Location"); loc != "" {
		u, _ := url.Parse(loc)
		return u, pkce, page
	}
	if !strings.Contains(page, "Sign in to") {
		return nil, pkce, page
	}
	loginURL := resp.Request.URL.String()
	link := deepLink(page)
	if code, body := o.present(t, p, link); code != 200 {
		t.Fatalf("presentation refused: %d %s", code, body)
	}
	resp, page = b.get(t, loginURL)
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no consent form: %s", page)
	}
	resp, page = b.post(t, resp.Request.URL.String(), url.Values{"csrf": {m[1]}, "decision": {"allow"}})
	u, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.Header.Get("Location") == "" {
		t.Fatalf("no redirect after consent: %d %s", resp.StatusCode, page)
	}
	return u, pkce, page
}

// token posts to the token endpoint as the RP (client_secret_basic).
func token(t *testing.T, o *op, r *rp, form url.Values) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", o.srv.URL+"/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(r.conf.ClientID), url.QueryEscape(r.conf.ClientSecret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	b, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(b, &out)
	return resp.StatusCode, out
}

func exchange(t *testing.T, o *op, r *rp, code, verifier string) (int, map[string]any) {
	return token(t, o, r, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {r.conf.RedirectURL}, "code_verifier": {verifier}})
}

func active(t *testing.T, o *op, r *rp, tok string) bool {
	t.Helper()
	req, _ := http.NewRequest("POST", o.srv.URL+"/oauth2/introspect", strings.NewReader(url.Values{"token": {tok}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(r.conf.ClientID), url.QueryEscape(r.conf.ClientSecret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Active bool `json:"active"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return out.Active
}

func TestAuthorizeRefusals(t *testing.T) {
	o := startOP(t, nil)
	shop := newRP(t, o, "shop.example", []string{"openid", "age_over_18"}, []string{"age_over_18"})
	alice := newPerson(t, 30)
	for _, tc := range []struct {
		name   string
		params url.Values
		error  string // the error redirected to the RP; "" means no redirect at all
		page   string // what the page says when there is no redirect
	}{
		{"redirect with a trailing slash", url.Values{"redirect_uri": {shop.conf.RedirectURL + "/"}}, "", ""},
		{"redirect on another port", url.Values{"redirect_uri": {strings.Replace(shop.conf.RedirectURL, "127.0.0.1:", "127.0.0.1:1", 1)}}, "", ""},
		{"unknown client", url.Values{"client_id": {"mc_nobody"}}, "", ""},
		{"no PKCE", url.Values{"code_challenge": {""}, "code_challenge_method": {""}}, "invalid_request", ""},
		{"plain PKCE", url.Values{"code_challenge": {"abcdefghijabcdefghijabcdefghijabcdefghij123"}, "code_challenge_method": {"plain"}}, "invalid_request", ""},
		{"implicit flow", url.Values{"response_type": {"id_token"}}, "unsupported_response_type", ""},
		{"no openid scope", url.Values{"scope": {"age_over_18"}}, "invalid_scope", ""},
		{"scope beyond the manifest", url.Values{"scope": {"openid nationality"}}, "invalid_scope", ""},
		{"claims beyond the manifest", url.Values{"claims": {`{"id_token":{"age_over_21":{"essential":true}}}`}}, "invalid_scope", ""},
		{"essential claim no persona proves", url.Values{"claims": {`{"id_token":{"email_verified":{"essential":true}}}`}}, "invalid_request", ""},
		{"malformed claims", url.Values{"claims": {`{"id_token":`}}, "invalid_request", ""},
		{"prompt none", url.Values{"prompt": {"none"}}, "login_required", ""},
		{"unknown acr", url.Values{"acr_values": {"urn:example:loa:9"}}, "invalid_request", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, _, page := authorize(t, o, shop, alice, tc.params)
			if tc.error == "" {
				if u != nil {
					t.Fatalf("redirected to %s", u)
				}
				if strings.Contains(page, "Sign in to") {
					t.Fatal("the sign-in page was shown")
				}
				return
			}
			if u == nil {
				t.Fatalf("no redirect; page: %s", page)
			}
			if got := u.Query().Get("error"); got != tc.error || u.Query().Get("state") != "state-123456789" {
				t.Fatalf("error %q (state %q), want %q", got, u.Query().Get("state"), tc.error)
			}
			if !strings.HasPrefix(u.String(), shop.conf.RedirectURL) {
				t.Fatalf("error sent to %s", u)
			}
		})
	}
}

func TestTokenRefusals(t *testing.T) {
	o := startOP(t, func(c *oidc.Config) { c.CodeTTL = time.Second })
	shop := newRP(t, o, "shop.example", []string{"openid", "offline_access"}, nil)
	other := newRP(t, o, "other.example", []string{"openid"}, nil)
	alice := newPerson(t, 30)
	code := func() (string, string) {
		u, v, page := authorize(t, o, shop, alice, nil)
		if u == nil || u.Query().Get("code") == "" {
			t.Fatalf("no code: %v %s", u, page)
		}
		return u.Query().Get("code"), v
	}

	t.Run("wrong PKCE verifier", func(t *testing.T) {
		c, _ := code()
		if st, out := exchange(t, o, shop, c, oauth2.GenerateVerifier()); st != 400 || out["error"] != "invalid_grant" {
			t.Fatalf("%d %v", st, out)
		}
	})
	t.Run("missing PKCE verifier", func(t *testing.T) {
		c, _ := code()
		st, out := token(t, o, shop, url.Values{"grant_type": {"authorization_code"}, "code": {c}, "redirect_uri": {shop.conf.RedirectURL}})
		if st != 400 || (out["error"] != "invalid_grant" && out["error"] != "invalid_request") {
			t.Fatalf("%d %v", st, out)
		}
	})
	t.Run("another client's code", func(t *testing.T) {
		c, v := code()
		if st, out := exchange(t, o, other, c, v); st != 400 || out["error"] != "invalid_grant" {
			t.Fatalf("%d %v", st, out)
		}
	})
	t.Run("wrong redirect_uri at the token endpoint", func(t *testing.T) {
		c, v := code()
		st, out := token(t, o, shop, url.Values{"grant_type": {"authorization_code"}, "code": {c}, "redirect_uri": {shop.conf.RedirectURL + "x"}, "code_verifier": {v}})
		if st != 400 || out["error"] != "invalid_grant" {
			t.Fatalf("%d %v", st, out)
		}
	})
	t.Run("reused code revokes its tokens", func(t *testing.T) {
		c, v := code()
		st, first := exchange(t, o, shop, c, v)
		if st != 200 {
			t.Fatalf("first exchange: %d %v", st, first)
		}
		at, rt := first["access_token"].(string), first["refresh_token"].(string)
		if !active(t, o, shop, at) {
			t.Fatal("fresh access token inactive")
		}
		if st, out := exchange(t, o, shop, c, v); st != 400 || out["error"] != "invalid_grant" {
			t.Fatalf("second exchange: %d %v", st, out)
		}
		if active(t, o, shop, at) {
			t.Fatal("the access token of a reused code is still active")
		}
		if st, out := token(t, o, shop, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}); st == 200 {
			t.Fatalf("the refresh token of a reused code still works: %v", out)
		}
	})
	t.Run("expired code", func(t *testing.T) {
		c, v := code()
		time.Sleep(1100 * time.Millisecond) // CodeTTL is one second here
		if st, out := exchange(t, o, shop, c, v); st != 400 || out["error"] != "invalid_grant" {
			t.Fatalf("%d %v", st, out)
		}
	})
	t.Run("wrong client secret, unknown client", func(t *testing.T) {
		c, v := code()
		for _, mut := range []func(*oauth2.Config){
			func(conf *oauth2.Config) { conf.ClientSecret = "wrong" },
			func(conf *oauth2.Config) { conf.ClientID = "mc_nobody" },
		} {
			bad := *shop
			conf := *shop.conf
			mut(&conf)
			bad.conf = &conf
			if st, out := exchange(t, o, &bad, c, v); st != 401 || out["error"] != "invalid_client" {
				t.Fatalf("%d %v", st, out)
			}
		}
	})
}

func TestRefreshRotationAndRevocation(t *testing.T) {
	o := startOP(t, nil)
	shop := newRP(t, o, "shop.example", []string{"openid", "offline_access"}, nil)
	u, v, _ := authorize(t, o, shop, newPerson(t, 30), nil)
	st, first := exchange(t, o, shop, u.Query().Get("code"), v)
	if st != 200 || first["id_token"] == nil {
		t.Fatalf("%d %v", st, first)
	}
	rt1 := first["refresh_token"].(string)
	st, second := token(t, o, shop, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt1}})
	if st != 200 || second["refresh_token"] == rt1 || second["id_token"] == nil {
		t.Fatalf("refresh: %d %v", st, second)
	}
	if active(t, o, shop, first["access_token"].(string)) {
		t.Fatal("rotation left the old access token active")
	}
	// Reusing the rotated refresh token is refused and revokes the grant.
	if st, out := token(t, o, shop, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt1}}); st != 400 && st != 401 {
		t.Fatalf("reused refresh token: %d %v", st, out)
	}
	if active(t, o, shop, second["access_token"].(string)) {
		t.Fatal("refresh token reuse left the grant's new access token active")
	}

	// RFC 7009: revoking an access token makes userinfo refuse it.
	u, v, _ = authorize(t, o, shop, newPerson(t, 30), nil)
	_, third := exchange(t, o, shop, u.Query().Get("code"), v)
	at := third["access_token"].(string)
	if _, err := shop.provider.UserInfo(context.Background(), oauth2.StaticTokenSource(&oauth2.Token{AccessToken: at})); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", o.srv.URL+"/oauth2/revoke", strings.NewReader(url.Values{"token": {at}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(shop.conf.ClientID), url.QueryEscape(shop.conf.ClientSecret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("revoke: %v %v", resp, err)
	}
	resp.Body.Close()
	if active(t, o, shop, at) {
		t.Fatal("revoked token is active")
	}

	// A client cannot introspect another client's token.
	other := newRP(t, o, "other.example", []string{"openid"}, nil)
	u, v, _ = authorize(t, o, shop, newPerson(t, 30), nil)
	_, fourth := exchange(t, o, shop, u.Query().Get("code"), v)
	if !active(t, o, shop, fourth["access_token"].(string)) || active(t, o, other, fourth["access_token"].(string)) {
		t.Fatal("introspection: own token inactive, or another client's token active")
	}
	if _, err := shop.provider.UserInfo(context.Background(), oauth2.StaticTokenSource(&oauth2.Token{AccessToken: at})); err == nil {
		t.Fatal("userinfo accepted a revoked token")
	}
}

func TestRegistration(t *testing.T) {
	o := startOP(t, nil)
	good := oidc.Registration{
		RedirectURIs: []string{"https://rp.example/cb"},
		Manifest:     &oidc.Manifest{Purpose: "p", Claims: []string{"age_over_18"}, Retention: "1 day", Framework: "f"},
	}
	post := func(token string, body any) (int, map[string]any) {
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", o.srv.URL+"/oauth2/register", strings.NewReader(string(b)))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	if st, out := post("", good); st != 401 || out["error"] != "invalid_token" {
		t.Fatalf("no token: %d %v", st, out)
	}
	if st, out := post("guess", good); st != 401 {
		t.Fatalf("wrong token: %d %v", st, out)
	}
	for name, mut := range map[string]func(*oidc.Registration){
		"manifest beyond registration": func(r *oidc.Registration) {
			r.Manifest = &oidc.Manifest{Purpose: "p", Claims: []string{"age_over_18", "birthdate"}, Retention: "1 day", Framework: "f"}
		},
		"unknown claim": func(r *oidc.Registration) {
			r.Manifest = &oidc.Manifest{Purpose: "p", Claims: []string{"ssn"}, Retention: "1", Framework: "f"}
		},
		"no manifest":         func(r *oidc.Registration) { r.Manifest = nil },
		"http redirect":       func(r *oidc.Registration) { r.RedirectURIs = []string{"http://rp.example/cb"} },
		"fragment":            func(r *oidc.Registration) { r.RedirectURIs = []string{"https://rp.example/cb#x"} },
		"public subject":      func(r *oidc.Registration) { r.SubjectType = "public" },
		"implicit grant":      func(r *oidc.Registration) { r.GrantTypes = []string{"implicit"} },
		"several hosts":       func(r *oidc.Registration) { r.RedirectURIs = []string{"https://a.example/cb", "https://b.example/cb"} },
		"bad auth method":     func(r *oidc.Registration) { r.TokenEndpointAuthMethod = "client_secret_jwt" },
		"javascript redirect": func(r *oidc.Registration) { r.RedirectURIs = []string{"javascript:alert(1)"} },
	} {
		reg := good
		mut(&reg)
		st, out := post(regToken, reg)
		if st != 400 || (out["error"] != "invalid_client_metadata" && out["error"] != "invalid_redirect_uri") {
			t.Errorf("%s: %d %v", name, st, out)
		}
	}
	if st, out := post(regToken, map[string]any{"redirect_uris": []string{"https://rp.example/cb"}, "surprise": 1}); st != 400 {
		t.Errorf("unknown field: %d %v", st, out)
	}
	st, out := post(regToken, good)
	if st != 201 || out["client_id"] == "" || out["client_secret"] == "" || out["subject_type"] != "pairwise" || out["sector_identifier"] != "rp.example" {
		t.Fatalf("good registration: %d %v", st, out)
	}
}

func TestDiscoveryAndLogout(t *testing.T) {
	o := startOP(t, nil)
	resp, err := http.Get(o.srv.URL + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	var d map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&d)
	resp.Body.Close()
	if d["issuer"] != o.srv.URL || d["code_challenge_methods_supported"].([]any)[0] != "S256" || d["subject_types_supported"].([]any)[0] != "pairwise" {
		t.Fatalf("discovery: %v", d)
	}
	// Both keys are published: the current one signs, the retired one
	// still verifies what it signed.
	resp, _ = http.Get(o.srv.URL + "/oauth2/jwks")
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&set)
	resp.Body.Close()
	if len(set.Keys) != 2 || set.Keys[0]["d"] != nil {
		t.Fatalf("jwks: %v", set)
	}

	shop := newRP(t, o, "shop.example", []string{"openid"}, nil)
	res := login(t, o, shop, newPerson(t, 30), "allow")
	b := stopAt(strings.TrimPrefix(shop.srv.URL, "http://"))
	q := url.Values{"id_token_hint": {res.IDToken}, "post_logout_redirect_uri": {shop.srv.URL + "/bye"}, "state": {"s1"}}
	resp, _ = b.get(t, o.srv.URL+"/oauth2/logout?"+q.Encode())
	if loc := resp.Header.Get("Location"); loc != shop.srv.URL+"/bye?state=s1" {
		t.Fatalf("logout redirect: %q", loc)
	}
	q.Set("post_logout_redirect_uri", shop.srv.URL+"/elsewhere")
	resp, _ = b.get(t, o.srv.URL+"/oauth2/logout?"+q.Encode())
	if resp.Header.Get("Location") != "" || resp.StatusCode != 400 {
		t.Fatalf("unregistered post-logout redirect followed: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// prompt=login and consent, and max_age, are honoured: every sign-in is a
// fresh presentation, so auth_time is the sign-in's own time.
func TestPromptAndMaxAge(t *testing.T) {
	o := startOP(t, nil)
	shop := newRP(t, o, "shop.example", []string{"openid"}, nil)
	u, v, page := authorize(t, o, shop, newPerson(t, 30), url.Values{"prompt": {"login consent"}, "max_age": {"0"}})
	if u == nil || u.Query().Get("code") == "" {
		t.Fatalf("no code: %v %s", u, page)
	}
	st, out := exchange(t, o, shop, u.Query().Get("code"), v)
	if st != 200 {
		t.Fatalf("%d %v", st, out)
	}
	idt, err := shop.verifier.Verify(context.Background(), out["id_token"].(string))
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		AuthTime int64 `json:"auth_time"`
	}
	_ = idt.Claims(&c)
	if d := time.Since(time.Unix(c.AuthTime, 0)); d < 0 || d > time.Minute {
		t.Fatalf("auth_time %d is not the sign-in's", c.AuthTime)
	}
}
