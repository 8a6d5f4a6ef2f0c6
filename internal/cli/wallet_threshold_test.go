package cli_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/coreid"
	"github.com/mustard-id/mustard/internal/cli"
	"github.com/mustard-id/mustard/internal/store/sqlite"
	"github.com/mustard-id/mustard/internal/trust"
	"github.com/mustard-id/mustard/persona"
	"github.com/mustard-id/mustard/zk"
)

// TestWalletEnrollProviders runs `mustard wallet enroll --providers` against
// three providers on loopback ports, each serving the signed framework and
// its own provider API, then reopens the wallet and finds the three
// signatures.
func TestWalletEnrollProviders(t *testing.T) {
	ctx := context.Background()
	ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	src, err := jwk.FromRaw(ek)
	require.NoError(t, err)
	require.NoError(t, src.Set(jwk.KeyIDKey, "pid-1"))
	require.NoError(t, src.Set(jwk.AlgorithmKey, jwa.ES256))
	srcPub, err := src.PublicKey()
	require.NoError(t, err)
	srcSet := jwk.NewSet()
	require.NoError(t, srcSet.AddKey(srcPub))
	srcJWKS, err := json.Marshal(srcSet)
	require.NoError(t, err)
	const srcID = "https://pid.example"
	fw := &trust.Document{ID: "kofn", Version: 1, IssuedAt: time.Now().Unix(), Sources: []trust.Source{{
		ID: srcID, Kind: trust.FormatJWTVC, Grade: "high", Types: []string{"PID"}, JWKS: srcJWKS,
		Claims: map[string]string{"birthdate": "birth_date", "nationality": "nationality"}, SubjectClaim: "personal_number",
	}}, Issuers: []trust.Issuer{{ID: "https://issuer.example", JWKS: json.RawMessage(`{"keys":[]}`)}}}
	var keys []*zk.PrivateKey
	for i := range 3 {
		pk, err := zk.GenerateKey(rand.Reader)
		require.NoError(t, err)
		keys = append(keys, pk)
		fw.Providers = append(fw.Providers, trust.Provider{ID: fmt.Sprintf("https://core%d.example", i), Key: hex.EncodeToString(pk.Public().Bytes()), MaxGrade: "high", ValidUntil: time.Now().AddDate(2, 0, 0).Unix()})
	}
	_, gk, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	gov, err := jwk.FromRaw(gk)
	require.NoError(t, err)
	require.NoError(t, jwk.AssignKeyID(gov))
	require.NoError(t, gov.Set(jwk.AlgorithmKey, jwa.EdDSA))
	signed, err := trust.Seal(fw, gov)
	require.NoError(t, err)
	govPub, err := gov.PublicKey()
	require.NoError(t, err)
	govSet := jwk.NewSet()
	require.NoError(t, govSet.AddKey(govPub))
	govJSON, err := json.Marshal(govSet)
	require.NoError(t, err)

	var urls []string
	for i := range 3 {
		st, err := sqlite.Open(filepath.Join(t.TempDir(), "m.db"))
		require.NoError(t, err)
		t.Cleanup(func() { st.Close() })
		tagKey := make([]byte, 32)
		_, _ = rand.Read(tagKey)
		p, err := coreid.New(ctx, coreid.Config{Framework: fw, Key: keys[i], TagKey: tagKey,
			IsDuplicate: func(err error) bool { return errors.Is(err, sqlite.ErrDuplicate) },
			IsNotFound:  func(err error) bool { return errors.Is(err, sqlite.ErrNotFound) }}, st)
		require.NoError(t, err)
		mux := http.NewServeMux()
		mux.Handle("/v1/", p.Handler())
		mux.HandleFunc("GET /v1/trust-framework", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(signed) })
		mux.HandleFunc("GET /v1/trust-framework/governance-keys", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(govJSON) })
		srv := httptest.NewServer(mux)
		t.Cleanup(srv.Close)
		urls = append(urls, srv.URL)
	}

	now := time.Now()
	vc, err := coreid.SignJWTVC(src, srcID, "did:example:holder", []string{"PID"},
		map[string]any{"personal_number": "pn-cli", "birthdate": "1990-04-12", "nationality": "NL"}, now, now.Add(time.Hour))
	require.NoError(t, err)
	dir := t.TempDir()
	credFile := filepath.Join(dir, "pid.jwt")
	require.NoError(t, os.WriteFile(credFile, []byte(vc), 0o600))
	walletDir := filepath.Join(dir, "wallet")
	t.Setenv("MUSTARD_PIN", "a long wallet passphrase")
	run := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := cli.Main(ctx, args, &out, &errOut)
		return code, out.String(), errOut.String()
	}
	code, _, stderr := run("wallet", "init", "--software", "--wallet", walletDir)
	require.Equal(t, 0, code, stderr)

	code, _, stderr = run("wallet", "enroll", "--wallet", walletDir, "--credential", credFile, "--providers", strings.Join(urls, ","), "--server", urls[0])
	require.NotEqual(t, 0, code)
	require.Contains(t, stderr, "--providers replaces --server")

	code, stdout, stderr := run("wallet", "enroll", "--wallet", walletDir, "--credential", credFile, "--providers", strings.Join(urls, ","), "--threshold", "2", "--json")
	require.Equal(t, 0, code, stderr)
	var got struct {
		Threshold, Signed int
		Grade             string
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &got), stdout)
	require.Equal(t, 2, got.Threshold)
	require.Equal(t, 3, got.Signed)
	require.Equal(t, "high", got.Grade)

	st, err := persona.OpenStore(walletDir)
	require.NoError(t, err)
	sealer, err := st.OpenSealer()
	require.NoError(t, err)
	defer sealer.Close()
	u, err := st.Unlock(sealer, []byte("a long wallet passphrase"))
	require.NoError(t, err)
	defer u.Close()
	servers, ok, err := u.LoadThreshold()
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, urls, servers)
	require.Len(t, u.Wallet.Threshold.Endorsements, 3)
	require.NotNil(t, u.Wallet.Core, "the lead's endorsement is the single-provider core credential")
	require.Equal(t, u.Wallet.Threshold.Credential, u.Wallet.Core.Credential)
}
