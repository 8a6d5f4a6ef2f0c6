package community

import (
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/mustard-id/mustard/internal/problem"
)

// Routes are the community endpoints.
var Routes = []string{
	"POST /v1/communities", "GET /v1/communities/{id}", "POST /v1/communities/{id}/join-requests",
	"POST /v1/communities/{id}/members", "POST /v1/communities/{id}/leave",
	"POST /v1/communities/{id}/statements", "GET /v1/communities/{id}/statements",
}

// RegisterBody is the body of POST /v1/communities.
type RegisterBody struct {
	ID       string   `json:"id"`
	Manifest Manifest `json:"manifest"`
}

// LeaveBody is the body of POST /v1/communities/{id}/leave.
type LeaveBody struct {
	Token string `json:"token"`
}

// Handler serves Routes.
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/communities", func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if len(s.cfg.AdminToken) == 0 || !ok || subtle.ConstantTimeCompare([]byte(tok), s.cfg.AdminToken) != 1 {
			problem.Write(w, r, ErrUnauthorized)
			return
		}
		var body RegisterBody
		if err := problem.Decode(w, r, 16<<10, &body); err != nil {
			problem.Write(w, r, err)
			return
		}
		if err := s.Register(r.Context(), body.ID, body.Manifest); err != nil {
			problem.Write(w, r, err)
			return
		}
		info, _ := s.Info(body.ID)
		problem.JSON(w, http.StatusCreated, info)
	})
	mux.HandleFunc("GET /v1/communities/{id}", func(w http.ResponseWriter, r *http.Request) {
		info, err := s.Info(r.PathValue("id"))
		if err != nil {
			problem.Write(w, r, err)
			return
		}
		problem.JSON(w, http.StatusOK, info)
	})
	mux.HandleFunc("POST /v1/communities/{id}/join-requests", func(w http.ResponseWriter, r *http.Request) {
		req, err := s.JoinRequest(r.Context(), r.PathValue("id"))
		if err != nil {
			problem.Write(w, r, err)
			return
		}
		problem.JSON(w, http.StatusCreated, req)
	})
	mux.HandleFunc("POST /v1/communities/{id}/members", func(w http.ResponseWriter, r *http.Request) {
		var body Join
		if err := problem.Decode(w, r, 80<<10, &body); err != nil {
			problem.Write(w, r, err)
			return
		}
		j, err := s.AddMember(r.Context(), r.PathValue("id"), body)
		if err != nil {
			problem.Write(w, r, err)
			return
		}
		problem.JSON(w, http.StatusCreated, j)
	})
	mux.HandleFunc("POST /v1/communities/{id}/leave", func(w http.ResponseWriter, r *http.Request) {
		var body LeaveBody
		if err := problem.Decode(w, r, 1<<10, &body); err != nil {
			problem.Write(w, r, err)
			return
		}
		if err := s.Leave(r.Context(), r.PathValue("id"), body.Token); err != nil {
			problem.Write(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /v1/communities/{id}/statements", func(w http.ResponseWriter, r *http.Request) {
		var body Statement
		if err := problem.Decode(w, r, 8<<10, &body); err != nil {
			problem.Write(w, r, err)
			return
		}
		if err := s.Say(r.Context(), r.PathValue("id"), body); err != nil {
			problem.Write(w, r, err)
			return
		}
		problem.JSON(w, http.StatusCreated, map[string]string{"status": "recorded"})
	})
	mux.HandleFunc("GET /v1/communities/{id}/statements", func(w http.ResponseWriter, r *http.Request) {
		list, err := s.Statements(r.Context(), r.PathValue("id"), r.URL.Query().Get("topic"))
		if err != nil {
			problem.Write(w, r, err)
			return
		}
		problem.JSON(w, http.StatusOK, map[string]any{"statements": list})
	})
	return mux
}
