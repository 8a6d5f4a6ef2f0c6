package server

import (
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/mustard-id/mustard/internal/problem"
)

// ErrRateLimited is the problem a client gets above its request rate.
var ErrRateLimited = problem.New("rate-limited", http.StatusTooManyRequests, "Too many requests from this client: slow down and retry after the time Retry-After gives")

// maxLimited bounds how many clients the limiter tracks; beyond it, the
// longest idle are forgotten.
const maxLimited = 100_000

// limiter is a token bucket per client address.
type limiter struct {
	rate  rate.Limit
	burst int

	mu      sync.Mutex
	clients map[string]*client
	swept   time.Time
}

type client struct {
	l    *rate.Limiter
	seen time.Time
}

func newLimiter(perSecond float64) *limiter {
	return &limiter{rate: rate.Limit(perSecond), burst: max(1, int(2*perSecond)), clients: map[string]*client{}}
}

func (l *limiter) allow(key string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.clients) >= maxLimited || now.Sub(l.swept) > time.Minute {
		for k, c := range l.clients {
			if now.Sub(c.seen) > time.Minute {
				delete(l.clients, k)
			}
		}
		l.swept = now
	}
	c, ok := l.clients[key]
	if !ok {
		if len(l.clients) >= maxLimited {
			return false, time.Second // a flood of distinct clients: refuse new ones until the sweep
		}
		c = &client{l: rate.NewLimiter(l.rate, l.burst)}
		l.clients[key] = c
	}
	c.seen = now
	r := c.l.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// limit refuses a client above its rate with 429 problem+json and
// Retry-After. The client is its IP address (the connection's peer: put
// the limit at the proxy when there is one).
func (l *limiter) limit(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			host = r.RemoteAddr
		}
		if ok, wait := l.allow(host, time.Now()); !ok {
			w.Header().Set("Retry-After", strconv.Itoa(max(1, int(wait.Seconds()+0.999))))
			problem.Write(w, r, ErrRateLimited)
			return
		}
		next.ServeHTTP(w, r)
	})
}
