package oid4vci_test

import (
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/internal/oid4vci"
)

const racers = 12

// race runs f racers times at once and counts the 200s.
func race(f func(i int) int) int {
	var ok atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if f(i) == http.StatusOK {
				ok.Add(1)
			}
		}()
	}
	close(start)
	wg.Wait()
	return int(ok.Load())
}

// Single use under concurrency: one pre-authorized code gives one access
// token; one access token one credential (each request with its own
// c_nonce); one c_nonce one credential (each request with its own
// token). The store's consume is one statement; the checks before it
// only read.
func TestSingleUseUnderConcurrency(t *testing.T) {
	w := newWorld(t)
	res := w.offer(t, false)
	form := url.Values{"grant_type": {oid4vci.GrantPreAuthorized}, "pre-authorized_code": {res.Offer.Grants.PreAuthorized.Code}}
	require.Equal(t, 1, race(func(int) int { c, _ := w.token(t, form); return c }))

	tok := w.accessToken(t)
	bodies := make([][]byte, racers)
	for i := range bodies {
		kp, err := oid4vci.SignKeyProof(newKey(t), w.srv.URL, w.nonce(t), w.clock.Now())
		require.NoError(t, err)
		bodies[i] = request(t, confID, kp)
	}
	require.Equal(t, 1, race(func(i int) int { c, _, _ := w.credential(t, tok, bodies[i]); return c }))

	kp, err := oid4vci.SignKeyProof(newKey(t), w.srv.URL, w.nonce(t), w.clock.Now())
	require.NoError(t, err)
	body := request(t, confID, kp)
	toks := make([]string, racers)
	for i := range toks {
		toks[i] = w.accessToken(t)
	}
	require.Equal(t, 1, race(func(i int) int { c, _, _ := w.credential(t, toks[i], body); return c }))
	require.Equal(t, 2, w.minted)
}
