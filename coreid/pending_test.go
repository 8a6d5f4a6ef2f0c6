package coreid

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/zk"
)

// TestTicketSingleUseConcurrent: an attestation ticket redeemed at once
// by several requests, through two servers sharing the store, is
// accepted once; an expired one never.
func TestTicketSingleUseConcurrent(t *testing.T) {
	e := newEnv(t)
	other, err := New(t.Context(), e.p.cfg, e.store)
	require.NoError(t, err)
	ak, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	dev := zk.Int64(42)
	pa := pendingAttestation{secretHash: make([]byte, 32), ak: &ak.PublicKey, deviceName: []byte{1}, deviceHash: dev, expires: e.now.Add(NonceTTL)}
	require.NoError(t, e.p.putAttestation(pendingTicket, "ticket-1", pa, e.now))
	const n = 8
	errs := make(chan error, n)
	for i := range n {
		p := e.p
		if i%2 == 1 {
			p = other
		}
		go func() { errs <- p.redeem("ticket-1", dev) }()
	}
	ok := 0
	for range n {
		if err := <-errs; err == nil {
			ok++
		} else {
			require.ErrorIs(t, err, ErrAttestation)
		}
	}
	require.Equal(t, 1, ok)

	pa.expires = e.now.Add(-1e9)
	require.NoError(t, e.p.putAttestation(pendingTicket, "ticket-2", pa, e.now.Add(-NonceTTL)))
	require.ErrorIs(t, e.p.redeem("ticket-2", dev), ErrAttestation)
}
