// Package portal is a sample relying party: a community portal that signs
// people in through Mustard's OpenID Provider with golang.org/x/oauth2
// (authorization code + PKCE S256) and coreos/go-oidc (ID token
// verification). The demo, the integration tests and the benchmarks use it
// as the real client it is; it is also the shortest correct example of
// integrating with Mustard.
package portal

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"strings"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// Result is what the portal learned from a sign-in.
type Result struct {
	Subject      string         `json:"sub"`
	Claims       map[string]any `json:"claims,omitempty"`
	AccessToken  string         `json:"-"`
	RefreshToken string         `json:"-"`
	Error        string         `json:"error,omitempty"`
}

// Portal is a relying party.
type Portal struct {
	conf     *oauth2.Config
	verifier *gooidc.IDTokenVerifier
	provider *gooidc.Provider
	// Extra adds authorization request parameters (acr_values, claims).
	Extra []oauth2.AuthCodeOption
}

// Registration is the OIDC registration a portal asks for.
type Registration struct {
	RedirectURIs     []string       `json:"redirect_uris"`
	ClientName       string         `json:"client_name"`
	GrantTypes       []string       `json:"grant_types"`
	SectorIdentifier string         `json:"sector_identifier"`
	Manifest         map[string]any `json:"trust_manifest"`
}

// Register registers a client at the OP with an initial access token
// (RFC 7591) and returns its id and secret.
func Register(ctx context.Context, hc *http.Client, opURL, token string, reg Registration) (id, secret string, err error) {
	b, _ := json.Marshal(reg)
	req, err := http.NewRequestWithContext(ctx, "POST", strings.TrimRight(opURL, "/")+"/oauth2/register", bytes.NewReader(b))
	if err != nil {
		return "", "", err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return "", "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var out struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
		Error        string `json:"error"`
		Description  string `json:"error_description"`
	}
	_ = json.Unmarshal(body, &out)
	if resp.StatusCode != http.StatusCreated {
		return "", "", fmt.Errorf("portal: registration refused: %d %s: %s", resp.StatusCode, out.Error, out.Description)
	}
	return out.ClientID, out.ClientSecret, nil
}

// New discovers the OP at opURL and returns the portal for a registered
// client whose redirect URI is base+"/callback".
func New(ctx context.Context, hc *http.Client, opURL, base, clientID, secret string, scopes []string) (*Portal, error) {
	prov, err := gooidc.NewProvider(gooidc.ClientContext(ctx, hc), opURL)
	if err != nil {
		return nil, fmt.Errorf("portal: discovery: %w", err)
	}
	return &Portal{
		conf:     &oauth2.Config{ClientID: clientID, ClientSecret: secret, Endpoint: prov.Endpoint(), RedirectURL: base + "/callback", Scopes: scopes},
		verifier: prov.Verifier(&gooidc.Config{ClientID: clientID, SupportedSigningAlgs: []string{"ES256"}}),
		provider: prov,
	}, nil
}

// Handler serves GET /login (to the OP) and GET /callback (code exchange,
// ID token verified, the result as JSON).
func (p *Portal) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", p.home)
	mux.HandleFunc("GET /login", p.login)
	mux.HandleFunc("GET /callback", p.callback)
	return mux
}

var page = template.Must(template.New("portal").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sample portal</title>
<style>body{font:17px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}pre{background:#f4f1e4;padding:1rem;white-space:pre-wrap;word-break:break-all}a.button{display:inline-block;padding:.55rem 1.2rem;border-radius:.4rem;background:#5a4700;color:#fff;text-decoration:none}</style></head>
<body><main><h1>Sample portal</h1>
{{if .Result}}{{if .Result.Error}}<p role="alert">Sign-in failed: {{.Result.Error}}</p>{{else}}<p role="status">Signed in. This portal knows you only by a pseudonym for its sector:</p>{{end}}
<pre>{{.JSON}}</pre><p><a href="/login">Sign in again</a></p>
{{else}}<p>A relying party that signs people in with Mustard personas (OpenID Connect, code flow with PKCE).</p>
<p><a class="button" href="/login">Sign in with a persona</a></p>{{end}}
</main></body></html>`))

func (p *Portal) home(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = page.Execute(w, map[string]any{})
}

func random() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (p *Portal) login(w http.ResponseWriter, r *http.Request) {
	state, nonce, pkce := random(), random(), oauth2.GenerateVerifier()
	for name, v := range map[string]string{"state": state, "nonce": nonce, "pkce": pkce} {
		http.SetCookie(w, &http.Cookie{Name: "portal_" + name, Value: v, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	}
	opts := append([]oauth2.AuthCodeOption{gooidc.Nonce(nonce), oauth2.S256ChallengeOption(pkce)}, p.Extra...)
	http.Redirect(w, r, p.conf.AuthCodeURL(state, opts...), http.StatusFound)
}

func (p *Portal) callback(w http.ResponseWriter, r *http.Request) {
	res, err := p.finish(r)
	if err != nil {
		res = &Result{Error: err.Error()}
	}
	b, _ := json.Marshal(res)
	// A person's browser gets a page; scripts get the JSON.
	if strings.Contains(r.Header.Get("Accept"), "text/html") {
		pretty, _ := json.MarshalIndent(res, "", "  ")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = page.Execute(w, map[string]any{"Result": res, "JSON": string(pretty)})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(append(b, '\n'))
}

// finish exchanges the callback's code and verifies the ID token.
func (p *Portal) finish(r *http.Request) (*Result, error) {
	cookie := func(n string) string {
		c, err := r.Cookie("portal_" + n)
		if err != nil {
			return ""
		}
		return c.Value
	}
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		return &Result{Error: e}, nil
	}
	if q.Get("state") == "" || q.Get("state") != cookie("state") {
		return nil, errors.New("state mismatch")
	}
	tok, err := p.conf.Exchange(r.Context(), q.Get("code"), oauth2.VerifierOption(cookie("pkce")))
	if err != nil {
		return nil, fmt.Errorf("code exchange: %w", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := p.verifier.Verify(r.Context(), raw)
	if err != nil {
		return nil, fmt.Errorf("id_token: %w", err)
	}
	if idt.Nonce != cookie("nonce") {
		return nil, errors.New("nonce mismatch")
	}
	res := &Result{Subject: idt.Subject, Claims: map[string]any{}, AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken}
	_ = idt.Claims(&res.Claims)
	return res, nil
}
