package coreid

import (
	"context"
	"sync"
	"time"
)

// PendingStorage is optional Storage: the short-lived state of flows that
// span requests (TPM attestation challenges and tickets, federation
// logins and enrollments), kept in the database so that a flow begun on
// one server finishes on another behind the same load balancer. Without
// it the provider keeps that state in memory (one server).
type PendingStorage interface {
	// PutPending stores data under (kind, id) until expires, replacing
	// what was there, and drops what expired before now; false when kind
	// already holds max live items.
	PutPending(ctx context.Context, kind, id string, data []byte, now, expires time.Time, max int) (bool, error)
	// Pending reads (kind, id); nil when absent or expired.
	Pending(ctx context.Context, kind, id string, now time.Time) ([]byte, error)
	// TakePending reads and deletes (kind, id) at once, so that only one
	// request, on any server, gets it; nil when absent or expired.
	TakePending(ctx context.Context, kind, id string, now time.Time) ([]byte, error)
}

// Pending state kinds.
const (
	pendingChallenge  = "coreid.attestation-challenge"
	pendingTicket     = "coreid.attestation-ticket"
	pendingLoginState = "coreid.login"
	pendingFedToken   = "coreid.federation"
	pendingFedState   = "coreid.federation-state"
)

// pendingCtx bounds a pending-state query made outside a request's
// context (the attestation API takes none).
func pendingCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 5*time.Second)
}

// memPending is PendingStorage in memory, for stores without it.
type memPending struct {
	mu sync.Mutex
	m  map[[2]string]memItem
}

type memItem struct {
	data    []byte
	expires time.Time
}

func (s *memPending) PutPending(_ context.Context, kind, id string, data []byte, now, expires time.Time, max int) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[[2]string]memItem{}
	}
	live := 0
	for k, v := range s.m {
		switch {
		case now.After(v.expires):
			delete(s.m, k)
		case k[0] == kind:
			live++
		}
	}
	if _, ok := s.m[[2]string{kind, id}]; !ok && live >= max {
		return false, nil
	}
	s.m[[2]string{kind, id}] = memItem{data: data, expires: expires}
	return true, nil
}

func (s *memPending) Pending(_ context.Context, kind, id string, now time.Time) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.m[[2]string{kind, id}]
	if !ok || now.After(it.expires) {
		return nil, nil
	}
	return it.data, nil
}

func (s *memPending) TakePending(_ context.Context, kind, id string, now time.Time) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.m[[2]string{kind, id}]
	delete(s.m, [2]string{kind, id})
	if !ok || now.After(it.expires) {
		return nil, nil
	}
	return it.data, nil
}
