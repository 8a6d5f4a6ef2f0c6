package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"

	"github.com/mustard-id/mustard/internal/problem"
	"github.com/mustard-id/mustard/internal/store/sqlite"
	"github.com/mustard-id/mustard/verifier"
)

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	prov := s.Provider.Handler()
	mux.Handle("POST /v1/enroll", prov)
	mux.Handle("GET /v1/revocations", prov)
	iss := s.Issuer.Handler()
	mux.Handle("POST /v1/persona/nonce", iss)
	mux.Handle("POST /v1/persona", iss)
	mux.Handle("GET /.well-known/jwks.json", iss)
	mux.Handle("GET /.well-known/did.json", iss)
	mux.Handle("GET /v1/status-lists/{n}", iss)
	mux.Handle("GET /v1/status-lists/{n}/{purpose}", iss)
	mux.Handle("POST /v1/admin/credentials/{idx}/status", iss)
	mux.Handle("POST /v1/persona/revocation-nonce", iss)
	mux.Handle("POST /v1/persona/revocation", iss)
	mux.Handle("POST /v1/validation", iss)
	ver := (&verifier.API{V: s.Verifier, Store: s.Store, IsNonceUsed: func(err error) bool { return errors.Is(err, sqlite.ErrUsed) },
		BaseURL: s.BaseURL, IsNotFound: func(err error) bool { return errors.Is(err, sqlite.ErrNotFound) }}).Handler()
	mux.Handle("POST /v1/presentation-requests", ver)
	mux.Handle("GET /v1/presentation-requests/{id}", ver)
	mux.Handle("GET /v1/presentation-requests/{id}/qr", ver)
	mux.Handle("POST /v1/presentations/verify", ver)
	mux.Handle("POST /v1/presentations/verify-batch", ver)
	mux.HandleFunc("GET /v1/trust-framework", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/jwt")
		w.Header().Set("Cache-Control", "public, max-age=300")
		_, _ = w.Write(s.Signed)
	})
	mux.HandleFunc("GET /v1/trust-framework/governance-keys", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/jwk-set+json")
		_ = json.NewEncoder(w).Encode(s.Governance)
	})
	mux.HandleFunc("GET /v1/zk/persona", func(w http.ResponseWriter, r *http.Request) {
		problem.JSON(w, http.StatusOK, map[string]any{
			"vk": s.Keys.VKID, "constraints": s.Keys.CCS.GetNbConstraints(),
			"public_inputs": s.Keys.CCS.GetNbPublicVariables() - 1, "development": s.Keys.Development,
		})
	})
	mux.HandleFunc("GET /openapi.json", serveOpenAPI)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		problem.JSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		problem.Write(w, r, problem.ErrNotFound)
	})
	return recoverer(mux)
}

// recoverer turns a panic into a problem+json 500; the panic is logged,
// never sent.
func recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				slog.ErrorContext(r.Context(), "panic", "path", r.URL.Path, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				problem.Write(w, r, problem.ErrInternal)
			}
		}()
		w.Header().Set("X-Content-Type-Options", "nosniff")
		next.ServeHTTP(w, r)
	})
}
