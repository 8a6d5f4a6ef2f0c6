package cli

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/mustard-id/mustard/internal/keystore"
	"github.com/mustard-id/mustard/persona"
	"github.com/mustard-id/mustard/verifier"
	"github.com/mustard-id/mustard/zk"
)

func newWalletUICmd(e *walletEnv) *cobra.Command {
	var addr string
	cmd := &cobra.Command{
		Use:   "ui [--addr 127.0.0.1:8765]",
		Short: "A local web page listing your personas and credentials, and answering presentation requests",
		Long: `Serve a small local web page (no JavaScript) listing personas, credentials
and the audit trail, where a presentation request can be pasted, reviewed
and approved. It listens on loopback only, and answers only to the link it
prints (which carries a one-time access token) until stopped with Ctrl-C.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			u, pin, done, err := e.unlock()
			if err != nil {
				return err
			}
			defer done()
			host, _, err := net.SplitHostPort(addr)
			if err != nil {
				return &usageError{fmt.Sprintf("--addr %q: write host:port", addr)}
			}
			if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
				return &usageError{"the wallet page serves only on loopback (127.0.0.1 or ::1): it shows your personas"}
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("cannot listen on %s: %w", addr, err)
			}
			ui, err := newWalletPage(e, u, pin, ln.Addr().String())
			if err != nil {
				return err
			}
			srv := &http.Server{Handler: ui, ReadHeaderTimeout: 10 * time.Second}
			fmt.Fprintf(e.out(), "Your wallet page: http://%s/?token=%s\n(Ctrl-C to stop)\n", ln.Addr(), ui.token)
			errc := make(chan error, 1)
			go func() { errc <- srv.Serve(ln) }()
			select {
			case <-cmd.Context().Done():
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				_ = srv.Shutdown(ctx)
				return nil
			case err := <-errc:
				return err
			}
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:0", "loopback address to serve on")
	return cmd
}

// walletPage serves the wallet's page for one unlocked wallet.
type walletPage struct {
	mu    sync.Mutex // one wallet operation at a time
	e     *walletEnv
	u     *persona.Unlocked
	pin   []byte
	host  string // the only Host header accepted: blocks DNS rebinding
	token string // the access token, in the link and then a cookie
	csrf  string // the form token
}

func newWalletPage(e *walletEnv, u *persona.Unlocked, pin []byte, host string) (*walletPage, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	p := &walletPage{e: e, u: u, pin: pin, host: host, token: hex.EncodeToString(b[:16]), csrf: hex.EncodeToString(b[16:])}
	return p, nil
}

const uiCookie = "mustard_wallet"

func (p *walletPage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("Cache-Control", "no-store")
	if r.Host != p.host && r.Host != strings.Replace(p.host, "127.0.0.1", "localhost", 1) {
		http.Error(w, "wrong host", http.StatusMisdirectedRequest)
		return
	}
	if t := r.URL.Query().Get("token"); t != "" && subtle.ConstantTimeCompare([]byte(t), []byte(p.token)) == 1 {
		http.SetCookie(w, &http.Cookie{Name: uiCookie, Value: p.token, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	c, err := r.Cookie(uiCookie)
	if err != nil || subtle.ConstantTimeCompare([]byte(c.Value), []byte(p.token)) != 1 {
		http.Error(w, "open the link `mustard wallet ui` printed", http.StatusForbidden)
		return
	}
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/":
		p.index(w, r, nil)
	case r.Method == http.MethodPost && (r.URL.Path == "/review" || r.URL.Path == "/approve"):
		r.Body = http.MaxBytesReader(w, r.Body, 4*verifier.MaxRequest)
		if err := r.ParseForm(); err != nil || subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(p.csrf)) != 1 {
			http.Error(w, "stale form: reload the page", http.StatusForbidden)
			return
		}
		p.request(w, r, r.URL.Path == "/approve")
	default:
		http.NotFound(w, r)
	}
}

// pageData is what the template shows.
type pageData struct {
	CSRF        string
	Status      statusJSON
	Personas    []personaJSON
	Credentials []credentialJSON
	Audit       []persona.AuditEntry
	Request     *verifier.PresentationRequest
	RequestText string
	Persona     *personaJSON
	Result      string
	Error       string
}

func (p *walletPage) index(w http.ResponseWriter, r *http.Request, d *pageData) {
	if d == nil {
		d = &pageData{}
	}
	p.mu.Lock()
	err := p.fill(d)
	p.mu.Unlock()
	if err != nil {
		d.Error = err.Error()
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := pageTemplate.Execute(w, d); err != nil {
		// The header is written: nothing more to do than stop.
		return
	}
}

func (p *walletPage) fill(d *pageData) error {
	d.CSRF = p.csrf
	m := p.u.Meta
	d.Status = statusJSON{Wallet: p.u.Dir, Keystore: keystoreName(m.Keystore), HardwareBacked: m.Keystore != keystore.KindSoftware, Enrolled: p.u.Enrolled(), Server: m.Server, Grade: m.Grade, CoreExpires: day(m.CoreExpiry), Revoked: !m.Revoked.IsZero()}
	all, err := p.u.Personas()
	if err != nil {
		return err
	}
	for _, rec := range all {
		d.Personas = append(d.Personas, toPersonaJSON(rec))
		d.Credentials = append(d.Credentials, credentialJSON{Kind: "persona", ID: rec.ID, Issuer: rec.Issuer, Scope: rec.Scope, Format: rec.Format, Expires: day(rec.Expiry)})
	}
	if c := p.u.Wallet.Core; c != nil {
		d.Credentials = append([]credentialJSON{{Kind: "core", ID: "core", Issuer: m.Server, Grade: zk.GradeName(c.Credential.Grade), Format: "mustard-core/v1", Expires: day(c.Credential.Expiry)}}, d.Credentials...)
	}
	trail, err := p.u.AuditTrail()
	if err != nil {
		return err
	}
	for i := len(trail) - 1; i >= 0 && len(d.Audit) < 50; i-- { // newest first
		d.Audit = append(d.Audit, trail[i])
	}
	return nil
}

// request reviews (approve false) or answers (approve true) a pasted
// presentation request. The review page carries the fetched request
// document itself, so that approving does not fetch it again.
func (p *walletPage) request(w http.ResponseWriter, r *http.Request, approve bool) {
	d := &pageData{}
	text := strings.TrimSpace(r.PostFormValue("request"))
	if !strings.HasPrefix(text, "{") && !strings.HasPrefix(text, verifier.DeepLinkScheme+":") && !strings.HasPrefix(text, "http") && !strings.HasPrefix(text, verifier.OID4VPScheme+":") {
		d.Error = "bad presentation request: paste an openid4vp:// or mustard://present link, its URL, or the request document"
		p.index(w, r, d)
		return
	}
	req, err := loadRequest(r.Context(), nil, text)
	if err != nil {
		d.Error = err.Error()
		p.index(w, r, d)
		return
	}
	if !approve {
		doc, _ := json.Marshal(req)
		d.Request, d.RequestText = req, string(doc)
		if req.OID4VP != nil {
			// Approving fetches and checks the signed request again.
			d.RequestText = text
		}
		p.mu.Lock()
		if rec, err := p.u.Persona(req.Scope); err == nil {
			pj := toPersonaJSON(rec)
			d.Persona = &pj
		}
		p.mu.Unlock()
		p.index(w, r, d)
		return
	}
	p.mu.Lock()
	out, err := p.e.answer(r.Context(), p.u, p.pin, req, true, "")
	p.mu.Unlock()
	if err != nil {
		d.Error = err.Error()
	} else {
		d.Result = fmt.Sprintf("Shared your %s persona with %s: accepted.", out.Scope, out.Audience)
	}
	p.index(w, r, d)
}

var pageTemplate = template.Must(template.New("wallet").Funcs(template.FuncMap{
	"join": func(s []string) string { return strings.Join(s, ", ") },
	"date": func(s string) string {
		if len(s) < 10 {
			return "-"
		}
		return s[:10]
	},
	"when": func(t time.Time) string { return t.Local().Format("2006-01-02 15:04") },
	// abbr shortens a long identifier (a did:jwk) in the middle.
	"abbr": func(s string) string {
		if len(s) <= 40 {
			return s
		}
		return s[:24] + "…" + s[len(s)-8:]
	},
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Mustard wallet</title>
<style>
body{font:16px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.3rem .6rem;border-bottom:1px solid #ddd;vertical-align:top}
code{font-size:.85em}.nw{white-space:nowrap}.error{background:#fde8e8;padding:.6rem}.ok{background:#e6f4ea;padding:.6rem;overflow-wrap:anywhere}
textarea{width:100%;min-height:5rem;box-sizing:border-box}.ask{border:2px solid #c90;padding:1rem}
</style></head><body>
<h1>Mustard wallet</h1>
{{if .Error}}<p class="error" role="alert">{{.Error}}</p>{{end}}
{{if .Result}}<p class="ok" role="status">{{.Result}}</p>{{end}}
<p>Core secret sealed by {{.Status.Keystore}}.
{{if .Status.Enrolled}}Enrolled with {{.Status.Server}} at grade <b>{{.Status.Grade}}</b>, valid until {{.Status.CoreExpires}}.{{if not .Status.HardwareBacked}} Without a TPM, your personas prove at most <b>substantial</b>.{{end}}{{else}}Not enrolled yet.{{end}}
{{if .Status.Revoked}}<b>Your core identity is revoked.</b>{{end}}</p>

{{with .Request}}<section class="ask"><h2>Presentation request</h2>
<p><b>{{if .ClientName}}{{.ClientName}} ({{.Audience}}){{else}}{{.Audience}}{{end}}</b> asks for your <b>{{.Scope}}</b> persona{{if $.Persona}} ({{$.Persona.ID}}){{else}} (you have none yet: approving derives one{{if .Predicates}} proving {{join .Predicates}}{{end}}){{end}}.
It will see: {{if .RequiredClaims}}<b>{{join .RequiredClaims}}</b>{{else}}only that you hold a persona{{end}}, and your pseudonym for {{.Scope}}.
The answer goes to {{.ResponseURI}}.</p>
{{if .DeviceBound}}<p>It requires a <b>device-bound</b> persona: one proved with this device's TPM key.</p>{{end}}
<form method="post" action="/approve"><input type="hidden" name="csrf" value="{{$.CSRF}}">
<input type="hidden" name="request" value="{{$.RequestText}}">
<button type="submit">Approve and share</button> <a href="/">Decline</a></form></section>{{end}}

<h2>Personas</h2>
{{if .Personas}}<table><thead><tr><th>Scope</th><th>ID</th><th>Pseudonym</th><th>Proves</th><th>Expires</th></tr></thead><tbody>
{{range .Personas}}<tr><td>{{.Scope}}</td><td class="nw"><code>{{.ID}}</code></td><td class="nw"><code>{{printf "%.16s" .Pseudonym}}…</code></td><td>{{join .Predicates}}{{if and .Predicates .Disclosed}}, {{end}}{{join .Disclosed}}</td><td class="nw">{{date .Expires}}</td></tr>
{{end}}</tbody></table>{{else}}<p>No personas yet.</p>{{end}}

<h2>Credentials</h2>
<table><thead><tr><th>Kind</th><th>ID</th><th>Scope</th><th>Issuer</th><th>Expires</th></tr></thead><tbody>
{{range .Credentials}}<tr><td>{{.Kind}}</td><td class="nw"><code>{{.ID}}</code></td><td>{{.Scope}}</td><td><code title="{{.Issuer}}">{{abbr .Issuer}}</code></td><td class="nw">{{.Expires}}</td></tr>
{{end}}</tbody></table>

<h2>Answer a presentation request</h2>
<form method="post" action="/review"><input type="hidden" name="csrf" value="{{.CSRF}}">
<label for="request">Paste the request (an openid4vp:// or mustard://present link, its URL, or the request document):</label>
<textarea id="request" name="request" required></textarea>
<button type="submit">Review</button></form>

<h2>What you showed to whom</h2>
{{if .Audit}}<table><thead><tr><th>When</th><th>What</th><th>Persona</th><th>To</th><th>Shown</th><th>Outcome</th></tr></thead><tbody>
{{range .Audit}}<tr><td class="nw">{{when .Time}}</td><td>{{.Event}}</td><td>{{.Scope}}</td><td title="{{.Audience}}">{{abbr .Audience}}</td><td>{{join .Disclosed}}</td><td>{{.Outcome}}</td></tr>
{{end}}</tbody></table>{{else}}<p>Nothing yet.</p>{{end}}
</body></html>
`))
