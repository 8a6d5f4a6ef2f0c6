package persona

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/coreid"
	"github.com/mustard-id/mustard/internal/keystore"
)

// A software wallet, even holding a device-bound credential's core
// secret, cannot derive a device-bound persona; nor can a wallet whose
// credential commits no device key.
func TestDeriveDeviceBoundNeedsTheDevice(t *testing.T) {
	pin := []byte("1234")
	w, err := Create(keystore.NewSoftware(), pin)
	require.NoError(t, err)
	_, err = w.DeriveDeviceBound(context.Background(), nil, pin, nil, coreid.Snapshot{}, nil, Query{}, nil)
	require.ErrorIs(t, err, ErrNotEnrolled)

	w.Core = &Core{}
	_, err = w.DeriveDeviceBound(context.Background(), nil, pin, nil, coreid.Snapshot{}, nil, Query{}, nil)
	require.ErrorIs(t, err, ErrNotDeviceBound)
	require.Contains(t, err.Error(), "commits no device key")

	w.Core.Credential.DeviceKeyHash = fr.NewElement(42)
	_, err = w.DeriveDeviceBound(context.Background(), nil, pin, nil, coreid.Snapshot{}, nil, Query{}, nil)
	require.ErrorIs(t, err, ErrNotDeviceBound)
	require.Contains(t, err.Error(), "cannot sign")
}

// The wallet reports progress while a proof is being made.
func TestProveWithTicksReportsProgress(t *testing.T) {
	var mu sync.Mutex
	var lines []string
	progress := func(s string) { mu.Lock(); lines = append(lines, s); mu.Unlock() }
	p, err := proveWithTicks(context.Background(), func() ([]byte, error) {
		time.Sleep(1200 * time.Millisecond)
		return []byte{1}, nil
	}, progress)
	require.NoError(t, err)
	require.Equal(t, []byte{1}, p)
	mu.Lock()
	defer mu.Unlock()
	require.GreaterOrEqual(t, len(lines), 2)
	require.True(t, strings.HasPrefix(lines[0], "proving… "), lines[0])
	require.True(t, strings.HasPrefix(lines[len(lines)-1], "proof made in "), lines[len(lines)-1])

	boom := errors.New("boom")
	_, err = proveWithTicks(context.Background(), func() ([]byte, error) { return nil, boom }, progress)
	require.ErrorIs(t, err, boom)
}
