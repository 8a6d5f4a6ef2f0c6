package oidc

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwt"
	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/openid"
	"github.com/skip2/go-qrcode"

	"github.com/mustard-id/mustard/internal/problem"
	"github.com/mustard-id/mustard/internal/store/sqlite"
	"github.com/mustard-id/mustard/verifier"
	"github.com/mustard-id/mustard/zk"
)

type openidSession = openid.DefaultSession

// Login states.
const (
	statePending   = "pending"   // waiting for the wallet's presentation
	statePresented = "presented" // a persona was presented; waiting for consent
	stateFailed    = "failed"    // the presentation was refused; the RP gets access_denied
	stateDone      = "done"      // consent given or refused; the browser went back
)

// login is one sign-in in progress. It is bound to the browser that
// started it (the hash of a cookie), so that a login id seen elsewhere (on
// a phone's screen, in a log) cannot be finished by anyone else.
type login struct {
	ID       string    `json:"id"`
	Query    string    `json:"query"` // the authorization request, replayed through fosite on consent
	ClientID string    `json:"client_id"`
	Nonce    string    `json:"nonce"` // the presentation nonce
	Browser  []byte    `json:"browser"`
	CSRF     string    `json:"csrf"`
	Claims   []string  `json:"claims"`
	Grade    string    `json:"grade,omitempty"`
	State    string    `json:"state"`
	Result   *IDClaims `json:"result,omitempty"`
	Reason   string    `json:"reason,omitempty"`
	Started  time.Time `json:"started"`
}

const cookieName = "mustard_login"

func (p *Provider) loadLogin(ctx context.Context, id string) (*login, []byte, error) {
	if id == "" || len(id) > 64 {
		return nil, nil, sqlite.ErrNotFound
	}
	b, _, err := p.cfg.Backend.OAuth(ctx, kindLogin, id)
	if err != nil {
		return nil, nil, err
	}
	var l login
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, nil, err
	}
	if p.cfg.Now().After(l.Started.Add(p.cfg.LoginTTL)) {
		return nil, nil, sqlite.ErrNotFound
	}
	return &l, b, nil
}

// saveLogin moves a login on, only from the exact state it was read in.
func (p *Provider) saveLogin(ctx context.Context, l *login, old []byte) error {
	b, err := json.Marshal(l)
	if err != nil {
		return err
	}
	return p.cfg.Backend.UpdateOAuth(ctx, kindLogin, l.ID, old, b)
}

func (p *Provider) sameBrowser(r *http.Request, l *login) bool {
	c, err := r.Cookie(cookieName + "_" + l.ID)
	if err != nil {
		return false
	}
	h := sha256.Sum256([]byte(c.Value))
	return subtle.ConstantTimeCompare(h[:], l.Browser) == 1
}

// serveAuthorize validates the authorization request, refuses what
// Mustard never allows (no PKCE, plain PKCE, an inexact redirect URI), and
// starts a login.
func (p *Provider) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	ar, err := p.f.NewAuthorizeRequest(ctx, r)
	if err != nil {
		p.logOAuthError(r, "authorize", err)
		p.f.WriteAuthorizeError(ctx, w, ar, err)
		return
	}
	c, ok := ar.GetClient().(*Client)
	if !ok {
		p.f.WriteAuthorizeError(ctx, w, ar, fosite.ErrInvalidClient)
		return
	}
	q := r.URL.Query()
	// fosite lets a loopback redirect URI vary in port (RFC 8252 §7.3);
	// Mustard matches redirect URIs exactly, always. An inexact one is never
	// redirected to.
	if !slices.Contains(c.RedirectURIs, q.Get("redirect_uri")) {
		writeAuthorizePage(w, http.StatusBadRequest, "The redirect URI does not exactly match one registered for this client.")
		return
	}
	fail := func(err error) {
		p.logOAuthError(r, "authorize", err)
		p.f.WriteAuthorizeError(ctx, w, ar, err)
	}
	switch {
	case !ar.GetResponseTypes().ExactOne("code"):
		fail(fosite.ErrUnsupportedResponseType.WithHint("Mustard supports the authorization code flow only."))
		return
	case !ar.GetRequestedScopes().Has("openid"):
		fail(fosite.ErrInvalidScope.WithHint("The openid scope is required."))
		return
	case q.Get("code_challenge") == "" || q.Get("code_challenge_method") != "S256":
		fail(fosite.ErrInvalidRequest.WithHint("PKCE with code_challenge_method=S256 is required."))
		return
	case q.Get("request") != "" || q.Get("request_uri") != "":
		fail(fosite.ErrRequestNotSupported)
		return
	}
	if slices.Contains(strings.Fields(q.Get("prompt")), "none") {
		// Every login presents a persona anew: there is no session to reuse.
		fail(fosite.ErrLoginRequired.WithHint("Mustard keeps no sign-in session; the person must present a persona."))
		return
	}
	claims, err := requestedClaims(ar.GetRequestedScopes(), q.Get("claims"))
	if err != nil {
		fail(err)
		return
	}
	for _, name := range claims {
		if !slices.Contains(c.Manifest.Claims, name) {
			fail(fosite.ErrInvalidScope.WithHintf("The client's trust manifest does not cover the claim %q.", name))
			return
		}
	}
	grade, err := gradeOf(q.Get("acr_values"))
	if err != nil {
		fail(err)
		return
	}
	browser := randomString(32)
	bh := sha256.Sum256([]byte(browser))
	l := &login{
		ID: randomString(18), Query: r.URL.RawQuery, ClientID: c.ID, Nonce: randomString(18),
		Browser: bh[:], CSRF: randomString(18), Claims: claims, Grade: grade, State: statePending, Started: p.cfg.Now(),
	}
	b, _ := json.Marshal(l)
	if err := p.cfg.Backend.PutOAuth(ctx, kindLogin, l.ID, l.ID, b, l.Started.Add(p.cfg.LoginTTL)); err != nil {
		fail(fosite.ErrServerError)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: cookieName + "_" + l.ID, Value: browser, Path: "/oauth2/",
		HttpOnly: true, Secure: strings.HasPrefix(p.cfg.Issuer, "https://"), SameSite: http.SameSiteLaxMode,
		MaxAge: int(p.cfg.LoginTTL.Seconds()),
	})
	http.Redirect(w, r, "/oauth2/login/"+l.ID, http.StatusSeeOther)
}

// PresentationRequest is the request a login's wallet answers.
func (p *Provider) presentationRequest(l *login, c *Client) *verifier.PresentationRequest {
	req := &verifier.PresentationRequest{
		Type: verifier.RequestType, Audience: p.cfg.Issuer, Scope: c.Sector, Nonce: l.Nonce,
		MinGrade: l.Grade, ResponseURI: p.cfg.Issuer + "/oauth2/login/" + l.ID + "/presentation",
		ClientName: c.Name, ExpiresAt: l.Started.Add(p.cfg.LoginTTL).UTC(),
	}
	for _, name := range l.Claims {
		d := claimDefs[name]
		req.RequiredClaims = append(req.RequiredClaims, d.From)
		if d.Predicate != "" {
			req.Predicates = append(req.Predicates, d.Predicate)
		}
		if d.Disclose != "" {
			req.Disclose = append(req.Disclose, d.Disclose)
		}
	}
	return req
}

// serveRequest serves the presentation request document by reference.
func (p *Provider) serveRequest(w http.ResponseWriter, r *http.Request) {
	l, _, err := p.loadLogin(r.Context(), r.PathValue("id"))
	if err != nil || l.State != statePending {
		problem.Write(w, r, ErrLoginUnknown)
		return
	}
	c, err := p.client(r.Context(), l.ClientID)
	if err != nil {
		problem.Write(w, r, ErrLoginUnknown)
		return
	}
	w.Header().Set("Content-Type", verifier.RequestMediaType)
	_ = json.NewEncoder(w).Encode(p.presentationRequest(l, c))
}

// servePresentation takes the wallet's answer: a key-bound persona
// credential for the client's sector, bound to this login's nonce and to
// the OP as audience.
func (p *Provider) servePresentation(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	l, old, err := p.loadLogin(ctx, r.PathValue("id"))
	if err != nil || l.State != statePending {
		problem.Write(w, r, ErrLoginUnknown)
		return
	}
	var body verifier.ResponseJSON
	if err := problem.Decode(w, r, verifier.MaxPresentation+1<<10, &body); err != nil {
		problem.Write(w, r, err)
		return
	}
	p.accept(w, r, l, old, body.Presentation, p.cfg.Issuer)
}

// accept verifies a login's presentation, bound to audience (the OP for
// Mustard's request, the client_id for OpenID4VP) and the login's nonce,
// and moves the login on to consent.
func (p *Provider) accept(w http.ResponseWriter, r *http.Request, l *login, old []byte, presentation, audience string) {
	ctx := r.Context()
	c, err := p.client(ctx, l.ClientID)
	if err != nil {
		problem.Write(w, r, ErrLoginUnknown)
		return
	}
	req := p.presentationRequest(l, c)
	pol := verifier.Policy{Audience: audience, Scope: req.Scope, Nonce: req.Nonce, RequiredClaims: req.RequiredClaims}
	if l.Grade != "" {
		pol.MinGrade, _ = zk.ParseGrade(l.Grade)
	}
	verdict, verr := p.cfg.Verifier.Verify(ctx, presentation, pol)
	var res *IDClaims
	if verr == nil {
		res, verr = claimsFor(verdict, c.Sector, l.Claims)
	}
	if verr != nil {
		// A forged or wrong presentation does not end the login: the
		// person may present another persona. Only missing claims and a low
		// grade, which another try with the same wallet cannot fix quickly,
		// are shown on the page.
		if errors.Is(verr, verifier.ErrMissingClaim) || errors.Is(verr, verifier.ErrGrade) || errors.Is(verr, ErrClaimUnavailable) {
			l.Reason = "The persona presented does not prove what " + c.displayName() + " asks for."
			if errors.Is(verr, verifier.ErrGrade) {
				l.Reason = "The persona presented is below the assurance level " + c.displayName() + " requires."
			}
			_ = p.saveLogin(ctx, l, old)
		}
		problem.Write(w, r, verr)
		return
	}
	l.State, l.Result, l.Reason = statePresented, res, ""
	if err := p.saveLogin(ctx, l, old); err != nil {
		// Another presentation won the race: this one's nonce is spent.
		problem.Write(w, r, verifier.ErrNonce)
		return
	}
	problem.JSON(w, http.StatusOK, map[string]string{"status": "presented", "next": "Return to your browser to consent."})
}

// claimsFor is ClaimsFor with OIDC claim names mapped to the persona
// credential's.
func claimsFor(v *verifier.Verdict, sector string, names []string) (*IDClaims, error) {
	from := make([]string, len(names))
	for i, n := range names {
		from[i] = claimDefs[n].From
	}
	res, err := ClaimsFor(v, sector, from)
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	for i, n := range names {
		out[n] = res.Claims[from[i]]
	}
	res.Claims = out
	return res, nil
}

func (c *Client) displayName() string {
	if c.Name != "" {
		return c.Name
	}
	return c.Sector
}

// serveLogin is the sign-in page: a QR code and deep link for a phone's
// wallet, a command for a desktop's, refreshing itself until the persona
// is presented. No JavaScript.
func (p *Provider) serveLogin(w http.ResponseWriter, r *http.Request) {
	l, _, err := p.loadLogin(r.Context(), r.PathValue("id"))
	if err != nil || !p.sameBrowser(r, l) {
		writeAuthorizePage(w, http.StatusNotFound, "This sign-in has expired or was started in another browser. Go back to the site and sign in again.")
		return
	}
	c, err := p.client(r.Context(), l.ClientID)
	if err != nil {
		writeAuthorizePage(w, http.StatusNotFound, "This sign-in's client is no longer registered.")
		return
	}
	switch l.State {
	case statePresented:
		http.Redirect(w, r, "/oauth2/consent/"+l.ID, http.StatusSeeOther)
		return
	case stateDone, stateFailed:
		writeAuthorizePage(w, http.StatusGone, "This sign-in is finished.")
		return
	}
	link := verifier.DeepLink(p.cfg.Issuer + "/oauth2/login/" + l.ID + "/request")
	png, err := qrcode.Encode(link, qrcode.Medium, 256)
	if err != nil {
		writeAuthorizePage(w, http.StatusInternalServerError, "The QR code could not be drawn.")
		return
	}
	req := p.presentationRequest(l, c)
	render(w, http.StatusOK, "login", map[string]any{
		"Client":   c.displayName(),
		"Sector":   c.Sector,
		"Link":     template.URL(link),                                                              // our own mustard: link; html/template would refuse the scheme
		"QR":       template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png)), // our own PNG
		"Command":  "mustard wallet present '" + link + "'",
		"Claims":   describeClaims(l.Claims),
		"Grade":    l.Grade,
		"Reason":   l.Reason,
		"Expires":  req.ExpiresAt.Format(time.Kitchen + " MST"),
		"Cancel":   "/oauth2/consent/" + l.ID,
		"CSRF":     l.CSRF,
		"Refresh":  2,
		"Scope":    req.Scope,
		"Audience": req.Audience,
		"OID4VP":   template.URL(p.oid4vpLink(l)), // our own openid4vp: link, or empty
	})
}

// describeClaims turns claim names into plain words for the pages.
func describeClaims(names []string) []string {
	var out []string
	for _, n := range names {
		switch d := claimDefs[n]; {
		case d.Predicate != "":
			out = append(out, "that you are over "+strings.TrimPrefix(n, "age_over_")+" (not your birth date)")
		default:
			out = append(out, "your "+strings.ReplaceAll(n, "_", " "))
		}
	}
	return out
}

// serveConsent shows the client's trust manifest and what the persona
// would release.
func (p *Provider) serveConsent(w http.ResponseWriter, r *http.Request) {
	l, _, err := p.loadLogin(r.Context(), r.PathValue("id"))
	if err != nil || !p.sameBrowser(r, l) {
		writeAuthorizePage(w, http.StatusNotFound, "This sign-in has expired or was started in another browser. Go back to the site and sign in again.")
		return
	}
	if l.State != statePresented {
		http.Redirect(w, r, "/oauth2/login/"+l.ID, http.StatusSeeOther)
		return
	}
	c, err := p.client(r.Context(), l.ClientID)
	if err != nil {
		writeAuthorizePage(w, http.StatusNotFound, "This sign-in's client is no longer registered.")
		return
	}
	type row struct{ Name, Value string }
	var rows []row
	for _, n := range l.Claims {
		rows = append(rows, row{n, fmt.Sprint(l.Result.Claims[n])})
	}
	render(w, http.StatusOK, "consent", map[string]any{
		"Client":    c.displayName(),
		"Sector":    c.Sector,
		"Manifest":  c.Manifest,
		"Rows":      rows,
		"Grade":     strings.TrimPrefix(l.Result.ACR, "http://eidas.europa.eu/LoA/"),
		"Framework": p.cfg.Framework,
		"Action":    "/oauth2/consent/" + l.ID,
		"CSRF":      l.CSRF,
	})
}

// serveDecision finishes the login: on "allow", the authorization request
// is replayed through fosite with the persona's session and the browser
// goes back to the client with a code; on "deny" with access_denied.
func (p *Provider) serveDecision(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	l, old, err := p.loadLogin(ctx, r.PathValue("id"))
	if err != nil || !p.sameBrowser(r, l) {
		writeAuthorizePage(w, http.StatusNotFound, "This sign-in has expired or was started in another browser. Go back to the site and sign in again.")
		return
	}
	if err := r.ParseForm(); err != nil || subtle.ConstantTimeCompare([]byte(r.PostForm.Get("csrf")), []byte(l.CSRF)) != 1 {
		writeAuthorizePage(w, http.StatusForbidden, "The form was not sent from this sign-in's page.")
		return
	}
	allow := r.PostForm.Get("decision") == "allow"
	if allow && l.State != statePresented {
		http.Redirect(w, r, "/oauth2/login/"+l.ID, http.StatusSeeOther)
		return
	}
	if l.State == stateDone {
		writeAuthorizePage(w, http.StatusGone, "This sign-in is finished.")
		return
	}
	// Replay the original authorization request.
	orig := r.Clone(ctx)
	orig.Method, orig.Body, orig.Form, orig.PostForm = http.MethodGet, http.NoBody, nil, nil
	orig.URL = &url.URL{Path: "/oauth2/auth", RawQuery: l.Query}
	orig.Header = http.Header{}
	ar, err := p.f.NewAuthorizeRequest(ctx, orig)
	if err != nil {
		p.f.WriteAuthorizeError(ctx, w, ar, err)
		return
	}
	prev := l.State
	l.State = stateDone
	if err := p.saveLogin(ctx, l, old); err != nil {
		writeAuthorizePage(w, http.StatusConflict, "This sign-in is finished.")
		return
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName + "_" + l.ID, Value: "", Path: "/oauth2/", MaxAge: -1})
	if !allow {
		err := fosite.ErrAccessDenied.WithHint("The person declined.")
		if prev == statePending && l.Reason != "" {
			err = fosite.ErrAccessDenied.WithHint(l.Reason)
		}
		p.f.WriteAuthorizeError(ctx, w, ar, err)
		return
	}
	now := p.cfg.Now()
	sess := NewSession()
	sess.Subject = l.Result.Subject
	sess.Claims.Subject = l.Result.Subject
	sess.Claims.Issuer = p.cfg.Issuer
	sess.Claims.AuthTime = now.UTC()
	sess.Claims.RequestedAt = l.Started.UTC()
	sess.Claims.AuthenticationContextClassReference = l.Result.ACR
	sess.Claims.AuthenticationMethodsReferences = []string{"mustard-persona"}
	sess.Claims.Extra = map[string]any{}
	for k, v := range l.Result.Claims {
		sess.Claims.Extra[k] = v
	}
	sess.Headers.Extra = map[string]any{"kid": p.signing.KeyID}
	for _, s := range ar.GetRequestedScopes() {
		ar.GrantScope(s)
	}
	resp, err := p.f.NewAuthorizeResponse(ctx, ar, sess)
	if err != nil {
		p.logOAuthError(r, "authorize", err)
		p.f.WriteAuthorizeError(ctx, w, ar, err)
		return
	}
	if err := p.cfg.Backend.RecordConsent(ctx, l.ClientID, l.Result.Subject, manifestHash(ar.GetClient()), strings.Join(l.Claims, " "), now); err != nil {
		slog.ErrorContext(ctx, "oidc: record consent", "error", err)
	}
	p.f.WriteAuthorizeResponse(ctx, w, ar, resp)
}

// manifestHash is the hash of the client's trust manifest, recorded with
// the consent to it.
func manifestHash(c fosite.Client) string {
	if mc, ok := c.(*Client); ok {
		return mc.Manifest.Hash()
	}
	return ""
}

// serveLogout is RP-initiated logout 1.0. Mustard keeps no sign-in session
// (each login presents a persona), so logging out means: forget this
// browser's pending logins and go back to the client, if it registered the
// post_logout_redirect_uri exactly.
func (p *Provider) serveLogout(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	target := q.Get("post_logout_redirect_uri")
	if target != "" {
		clientID := q.Get("client_id")
		if clientID == "" {
			clientID = p.audienceOf(q.Get("id_token_hint"))
		}
		c, err := p.client(r.Context(), clientID)
		if err != nil || !slices.Contains(c.PostLogoutRedirectURIs, target) {
			writeAuthorizePage(w, http.StatusBadRequest, "The post-logout redirect URI is not registered for this client.")
			return
		}
		if s := q.Get("state"); s != "" {
			u, _ := url.Parse(target)
			v := u.Query()
			v.Set("state", s)
			u.RawQuery = v.Encode()
			target = u.String()
		}
		http.Redirect(w, r, target, http.StatusSeeOther)
		return
	}
	writeAuthorizePage(w, http.StatusOK, "You are signed out. Mustard keeps no sign-in session: the next sign-in asks your wallet again.")
}

// audienceOf returns the client an ID token of this OP was issued to
// (expired tokens accepted, as logout allows), or "".
func (p *Provider) audienceOf(idToken string) string {
	if idToken == "" || len(idToken) > 8<<10 {
		return ""
	}
	tok, err := jwt.ParseString(idToken, jwt.WithKeySet(p.jwks), jwt.WithValidate(false))
	if err != nil || tok.Issuer() != p.cfg.Issuer || len(tok.Audience()) == 0 {
		return ""
	}
	return tok.Audience()[0]
}
