package server

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the server's Prometheus metrics. Labels are route patterns
// (never paths: a login id or a nonce in a path is a capability) and
// status codes.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	inflight prometheus.Gauge
}

func newMetrics(s *Server) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mustard_http_requests_total", Help: "HTTP requests by route and status code.",
	}, []string{"route", "code"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "mustard_http_request_duration_seconds", Help: "HTTP request latency by route.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	}, []string{"route"})
	m.inflight = prometheus.NewGauge(prometheus.GaugeOpts{Name: "mustard_http_requests_in_flight", Help: "HTTP requests being served."})
	m.reg.MustRegister(m.requests, m.latency, m.inflight,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// Store and log sizes, read once per scrape.
	m.reg.MustRegister(&sizes{s: s})
	return m
}

// sizes collects the store's row counts (one Counts query per scrape)
// and the transparency log's size.
type sizes struct{ s *Server }

var (
	rowsDesc = prometheus.NewDesc("mustard_store_rows", "Rows per store table.", []string{"table"}, nil)
	logDesc  = prometheus.NewDesc("mustard_log_entries", "Entries in the transparency log.", nil, nil)
)

func (c *sizes) Describe(ch chan<- *prometheus.Desc) { ch <- rowsDesc; ch <- logDesc }

func (c *sizes) Collect(ch chan<- prometheus.Metric) {
	ctx := context.Background()
	if counts, err := c.s.Store.Counts(ctx); err == nil {
		for _, table := range []string{"identities", "revocations", "issuances", "nonces"} {
			ch <- prometheus.MustNewConstMetric(rowsDesc, prometheus.GaugeValue, float64(counts[table]), table)
		}
	}
	if n, err := c.s.Log.Size(ctx); err == nil {
		ch <- prometheus.MustNewConstMetric(logDesc, prometheus.GaugeValue, float64(n))
	}
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

type requestIDKey struct{}

// RequestID is the request's id (from a well-formed X-Request-ID, or made
// here), for logs.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

func validRequestID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// observe gives every request an id, counts and times it by route, and
// logs one line for it: method, route pattern, status, duration, id.
// Never the path, the query or a body.
func (m *metrics) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-ID")
		if !validRequestID(id) {
			b := make([]byte, 12)
			_, _ = rand.Read(b)
			id = base64.RawURLEncoding.EncodeToString(b)
		}
		w.Header().Set("X-Request-ID", id)
		r = r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id))
		sw := &statusWriter{ResponseWriter: w}
		m.inflight.Inc()
		defer m.inflight.Dec()
		next.ServeHTTP(sw, r)
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		if sw.code == 0 {
			sw.code = http.StatusOK
		}
		d := time.Since(start)
		m.requests.WithLabelValues(route, strconv.Itoa(sw.code)).Inc()
		m.latency.WithLabelValues(route).Observe(d.Seconds())
		level := slog.LevelDebug
		if sw.code >= 500 {
			level = slog.LevelError
		}
		slog.Log(r.Context(), level, "request", "id", id, "method", r.Method, "route", route, "status", sw.code, "duration_ms", float64(d.Microseconds())/1000)
	})
}
