package server

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mustard-id/mustard/internal/problem"
)

// zkFiles are the persona circuit's key files a wallet needs to prove.
var zkFiles = map[string]string{
	"persona.json":   "application/json",
	"persona.vk":     "application/octet-stream",
	"persona.pk":     "application/octet-stream",
	"community.json": "application/json",
	"community.vk":   "application/octet-stream",
	"community.pk":   "application/octet-stream",

	"devicebound.json": "application/json",
	"devicebound.vk":   "application/octet-stream",
	"devicebound.pk":   "application/octet-stream",
}

// serveZKFile serves a persona key file, addressed by the verifying key's
// id (its ETag): wallets download the proving key once per key.
func (s *Server) serveZKFile(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	ctype, ok := zkFiles[name]
	circuit, vk := "persona", s.Keys.VKID
	if strings.HasPrefix(r.URL.Path, "/v1/zk/community/") {
		circuit, vk = "community", s.CommunityKeys.VKID
	}
	if strings.HasPrefix(r.URL.Path, "/v1/zk/devicebound/") {
		if s.DeviceBoundKeys == nil {
			problem.Write(w, r, problem.ErrNotFound)
			return
		}
		circuit, vk = "devicebound", s.DeviceBoundKeys.VKID
	}
	if !ok || !strings.HasPrefix(name, circuit+".") {
		problem.Write(w, r, problem.ErrNotFound)
		return
	}
	s.sendZKFile(w, r, name, ctype, vk)
}

// sendZKFile serves a circuit's key file from the data directory's zk
// directory, with the verifying key's id as its ETag (the keys never
// change under one id).
func (s *Server) sendZKFile(w http.ResponseWriter, r *http.Request, name, ctype, vkID string) {
	f, err := os.Open(filepath.Join(s.zkDir, name))
	if err != nil {
		problem.Write(w, r, problem.ErrNotFound)
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("ETag", `"`+vkID+`"`)
	w.Header().Set("Cache-Control", "public, max-age=86400")
	http.ServeContent(w, r, name, time.Time{}, f)
}
