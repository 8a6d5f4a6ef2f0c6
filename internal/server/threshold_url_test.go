package server

import (
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/internal/trust"
	"github.com/mustard-id/mustard/zk"
)

// TestThresholdUnionNeedsEveryURL: a k-of-n server refuses a framework
// listing another provider without a url (the union would silently leave
// its revocations out: fail open); its own entry needs none.
func TestThresholdUnionNeedsEveryURL(t *testing.T) {
	key := func() string {
		k, err := zk.GenerateKey(rand.Reader)
		require.NoError(t, err)
		return hex.EncodeToString(k.Public().Bytes())
	}
	until := time.Now().AddDate(1, 0, 0).Unix()
	own, other := key(), key()
	fw := &trust.Document{ID: "fw", Providers: []trust.Provider{
		{ID: "own", Key: own, MaxGrade: "high", ValidUntil: until},
		{ID: "other", Key: other, MaxGrade: "high", ValidUntil: until},
	}}
	s := &Server{Framework: fw}
	_, _, err := s.thresholdRoots(Options{Now: time.Now}, own)
	require.ErrorContains(t, err, "provider other without a url")

	fw.Providers[1].URL = "https://other.example"
	_, _, err = s.thresholdRoots(Options{Now: time.Now}, own)
	require.NoError(t, err)
}
