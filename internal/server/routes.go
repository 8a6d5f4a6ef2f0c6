package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/mustard-id/mustard/coreid"
	"github.com/mustard-id/mustard/internal/community"
	"github.com/mustard-id/mustard/internal/oid4vci"
	"github.com/mustard-id/mustard/internal/problem"
	"github.com/mustard-id/mustard/internal/store"
	"github.com/mustard-id/mustard/internal/trust"
	"github.com/mustard-id/mustard/oidc"
	"github.com/mustard-id/mustard/verifier"
)

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	prov := s.Provider.Handler()
	for _, route := range coreid.Routes {
		mux.Handle(route, prov)
	}
	if s.Federations != nil {
		fed := s.Federations.Handler()
		for _, route := range coreid.FederationRoutes {
			mux.Handle(route, fed)
		}
	}
	iss := s.Issuer.Handler()
	iss = s.watchIssuerKeys(iss)
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
	if vci, err := s.Issuer.OID4VCI(s.Store); err != nil {
		slog.Warn("OpenID4VCI is off", "err", err.Error())
	} else {
		vh := vci.Handler()
		for _, route := range oid4vci.Routes {
			mux.Handle(route, vh)
		}
	}
	ver := (&verifier.API{V: s.Verifier, Store: s.Store, IsNonceUsed: func(err error) bool { return errors.Is(err, store.ErrUsed) },
		OID4VP:  s.oid4vpClient(),
		BaseURL: s.BaseURL, IsNotFound: func(err error) bool { return errors.Is(err, store.ErrNotFound) }}).Handler()
	mux.Handle("POST /v1/presentation-requests", ver)
	mux.Handle("GET /v1/presentation-requests/{id}", ver)
	mux.Handle("GET /v1/presentation-requests/{id}/qr", ver)
	mux.Handle("POST /v1/presentations/verify", ver)
	mux.Handle("POST /v1/presentations/verify-batch", ver)
	mux.Handle("POST /v1/oid4vp/requests", ver)
	mux.Handle("GET /v1/oid4vp/requests/{id}", ver)
	mux.Handle("POST /v1/oid4vp/requests/{id}", ver)
	mux.Handle("GET /v1/oid4vp/requests/{id}/qr", ver)
	mux.Handle("POST /v1/oid4vp/responses/{id}", ver)
	mux.Handle("GET /v1/oid4vp/transactions/{tx}", ver)
	mux.HandleFunc("GET /v1/trust-framework", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/jwt")
		w.Header().Set("Cache-Control", "public, max-age=300")
		_, _ = w.Write(s.Signed)
	})
	mux.HandleFunc("GET /v1/trust-framework/governance", func(w http.ResponseWriter, r *http.Request) {
		keys, err := json.Marshal(s.Governance)
		if err != nil {
			problem.Write(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=300")
		problem.JSON(w, http.StatusOK, trust.Governance{Threshold: max(1, s.governanceThreshold), Keys: keys})
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
	if s.OIDC != nil {
		op := s.OIDC.Handler()
		for _, pattern := range oidc.Routes {
			mux.Handle(pattern, op)
		}
	}
	logH := s.Log.Handler(s.LogKey)
	for _, pattern := range []string{"GET /v1/log/checkpoint", "GET /v1/log/key", "GET /v1/log/entries", "GET /v1/log/proof/inclusion", "GET /v1/log/proof/consistency"} {
		mux.Handle(pattern, logH)
	}
	mux.HandleFunc("GET /v1/zk/persona/files/{name}", s.serveZKFile)
	mux.HandleFunc("GET /v1/zk/community/files/{name}", s.serveZKFile)
	mux.HandleFunc("GET /v1/zk/devicebound/files/{name}", s.serveZKFile)
	mux.HandleFunc("GET /v1/zk/{circuit}/files/{name}", s.serveThresholdFile)
	comm := s.Communities.Handler()
	for _, route := range community.Routes {
		mux.Handle(route, comm)
	}
	mux.HandleFunc("GET /openapi.json", serveOpenAPI)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		problem.JSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	// readyz: the store answers and the log's head is readable; a load
	// balancer sends traffic only then.
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.Store.DB().PingContext(ctx); err != nil {
			problem.JSON(w, http.StatusServiceUnavailable, map[string]string{"status": "store unavailable"})
			return
		}
		if _, err := s.Log.Size(ctx); err != nil {
			problem.JSON(w, http.StatusServiceUnavailable, map[string]string{"status": "log unavailable"})
			return
		}
		if s.Provider != nil && !s.Provider.Loaded() {
			problem.JSON(w, http.StatusServiceUnavailable, map[string]string{"status": "revocation tree loading"})
			return
		}
		problem.JSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	s.metrics = newMetrics(s)
	mux.Handle("GET /metrics", s.metrics.handler())
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		problem.Write(w, r, problem.ErrNotFound)
	})
	h := recoverer(mux)
	if s.rateLimit > 0 {
		h = newLimiter(s.rateLimit).limit(h)
	}
	return s.metrics.observe(h)
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
