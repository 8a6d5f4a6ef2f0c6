package oidc

import (
	"bytes"
	"embed"
	"html/template"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/mustard-id/mustard/internal/problem"
)

// ErrLoginUnknown is the problem a wallet gets for a login that does not
// exist, expired, or already has its presentation.
var ErrLoginUnknown = problem.New("login-unknown", http.StatusNotFound, "The sign-in is unknown, expired or already answered")

//go:embed templates/*.html
var templateFS embed.FS

var pages = template.Must(template.ParseFS(templateFS, "templates/*.html"))

// render writes a page; the pages are self-contained (inline CSS, no
// scripts), so the content security policy forbids everything else.
func render(w http.ResponseWriter, status int, name string, data any) {
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name+".html", data); err != nil {
		slog.Error("oidc: render page", "page", name, "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; img-src data:; style-src 'unsafe-inline'; form-action 'self' http: https:; frame-ancestors 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	if m, ok := data.(map[string]any); ok {
		if n, ok := m["Refresh"].(int); ok {
			h.Set("Refresh", strconv.Itoa(n))
		}
	}
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func writeAuthorizePage(w http.ResponseWriter, status int, message string) {
	render(w, status, "message", map[string]any{"Message": message})
}
