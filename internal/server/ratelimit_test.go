package server

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestRateLimit(t *testing.T) {
	l := newLimiter(5) // bursts of 10
	h := l.limit(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	do := func(addr string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", "/x", nil)
		r.RemoteAddr = addr
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	for i := range 10 {
		if w := do("192.0.2.1:1000"); w.Code != http.StatusNoContent {
			t.Fatalf("request %d within the burst refused: %d", i, w.Code)
		}
	}
	w := do("192.0.2.1:1001") // another port, same client
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" || w.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatalf("over the burst: %d %v", w.Code, w.Header())
	}
	if w := do("192.0.2.2:1000"); w.Code != http.StatusNoContent {
		t.Fatal("another client was limited")
	}
	// Tokens come back at the rate.
	if ok, _ := l.allow("192.0.2.1", time.Now().Add(time.Second)); !ok {
		t.Fatal("no token after a second")
	}
}
