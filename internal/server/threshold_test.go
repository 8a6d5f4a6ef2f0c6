package server

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/zk"
)

// Only the configured K's own files are served; anything else is a
// problem+json 404.
func TestThresholdFiles(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"threshold-2.vk", "threshold-3.vk", "persona.vk"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, n), []byte("key "+n), 0o600))
	}
	s := &Server{Keys: &zk.Keys{VKID: "sha256:aa"}, zkDir: dir}
	get := func(circuit, name string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, "/v1/zk/"+circuit+"/files/"+name, nil)
		r.SetPathValue("circuit", circuit)
		r.SetPathValue("name", name)
		w := httptest.NewRecorder()
		s.serveThresholdFile(w, r)
		return w
	}
	// Off: nothing.
	w := get("threshold-2", "threshold-2.vk")
	require.Equal(t, http.StatusNotFound, w.Code)
	require.Equal(t, "application/problem+json", w.Header().Get("Content-Type"))

	s.ThresholdKeys = map[int]*zk.Keys{2: {VKID: "sha256:cc"}}
	w = get("threshold-2", "threshold-2.vk")
	require.Equal(t, http.StatusOK, w.Code)
	require.Equal(t, `"sha256:cc"`, w.Header().Get("ETag"))
	require.Equal(t, "key threshold-2.vk", w.Body.String())
	for _, c := range [][2]string{
		{"threshold-3", "threshold-3.vk"}, // not this server's K
		{"threshold-2", "threshold-3.vk"}, // another circuit's file
		{"threshold-2", "persona.vk"},
		{"threshold-2", "threshold-2.txt"},
		{"threshold-02", "threshold-02.vk"},
		{"threshold-2", "threshold-2.pk"}, // absent file
		{"threshold-2", "../persona.vk"},
		{"persona2", "persona.vk"},
	} {
		w = get(c[0], c[1])
		require.Equal(t, http.StatusNotFound, w.Code, c)
	}
}

// FuzzThresholdFile: whatever the path's circuit and name, the handler
// answers 200 only for the configured K's own existing files, and 404
// otherwise, without panicking.
func FuzzThresholdFile(f *testing.F) {
	dir := f.TempDir()
	for _, n := range []string{"threshold-2.vk", "threshold-2.json", "persona.vk"} {
		require.NoError(f, os.WriteFile(filepath.Join(dir, n), []byte(n), 0o600))
	}
	s := &Server{ThresholdKeys: map[int]*zk.Keys{2: {VKID: "sha256:cc"}}, zkDir: dir}
	for _, c := range [][2]string{{"threshold-2", "threshold-2.vk"}, {"threshold-2", "persona.vk"}, {"threshold-+2", "threshold-+2.vk"}, {"threshold-99999999999999999999", "x"}, {"", ""}} {
		f.Add(c[0], c[1])
	}
	f.Fuzz(func(t *testing.T, circuit, name string) {
		r := httptest.NewRequest(http.MethodGet, "/v1/zk/x/files/y", nil)
		r.SetPathValue("circuit", circuit)
		r.SetPathValue("name", name)
		w := httptest.NewRecorder()
		s.serveThresholdFile(w, r)
		ok := circuit == "threshold-2" && (name == "threshold-2.vk" || name == "threshold-2.json")
		if ok != (w.Code == http.StatusOK) || (!ok && w.Code != http.StatusNotFound) {
			t.Fatalf("%q %q: %d", circuit, name, w.Code)
		}
	})
}
