package integration

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/internal/cli"
	"github.com/mustard-id/mustard/internal/server"
	"github.com/mustard-id/mustard/internal/trust"
	wallet "github.com/mustard-id/mustard/persona"
)

// A governance council of three, threshold two, signs a framework
// document member by member with `mustard framework`.
func TestFrameworkGovernanceCommands(t *testing.T) {
	dir := t.TempDir()
	at := func(name string) string { return filepath.Join(dir, name) }
	pubs := jwk.NewSet()
	for i := range 3 {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		require.NoError(t, err)
		k, _ := jwk.FromRaw(priv)
		_ = k.Set(jwk.KeyIDKey, fmt.Sprintf("member-%d", i))
		_ = k.Set(jwk.AlgorithmKey, jwa.EdDSA)
		b, _ := json.Marshal(k)
		require.NoError(t, os.WriteFile(at(fmt.Sprintf("member-%d.jwk", i)), b, 0o600))
		pub, _ := k.PublicKey()
		require.NoError(t, pubs.AddKey(pub))
	}
	b, _ := json.Marshal(pubs)
	require.NoError(t, os.WriteFile(at("governance.jwks"), b, 0o644))
	doc := *env.srv.Framework
	doc.Version = 7
	b, _ = json.Marshal(doc)
	require.NoError(t, os.WriteFile(at("framework.json"), b, 0o644))

	run := func(args ...string) (int, string) {
		var stdout, stderr bytes.Buffer
		code := cli.Main(context.Background(), append([]string{"framework"}, args...), &stdout, &stderr)
		return code, stdout.String() + stderr.String()
	}
	code, out := run("seal", "--doc", at("framework.json"), "--key", at("member-0.jwk"), "--out", at("f.jws"))
	require.Equal(t, 0, code, out)
	code, out = run("verify", "--in", at("f.jws"), "--governance", at("governance.jwks"), "--threshold", "2")
	require.Equal(t, 1, code)
	require.Equal(t, 1, strings.Count(strings.TrimSpace(out), "\n")+1, out)
	require.Contains(t, out, "threshold")
	code, out = run("sign", "--in", at("f.jws"), "--key", at("member-2.jwk"), "--out", at("f.jws"))
	require.Equal(t, 0, code, out)
	code, out = run("verify", "--in", at("f.jws"), "--governance", at("governance.jwks"), "--threshold", "2")
	require.Equal(t, 0, code, out)
	require.Contains(t, out, "version 7 verifies")

	// Install it in a copy of the server's data directory (its development
	// framework is replaced by the first governed one), and serve it.
	data := at("data")
	require.NoError(t, os.CopyFS(data, os.DirFS(env.dir)))
	code, out = run("install", "--in", at("f.jws"), "--data", data, "--governance", at("governance.jwks"), "--threshold", "2")
	require.Equal(t, 0, code, out)
	g := &trust.Governance{Threshold: 2, Keys: mustRead(t, at("governance.jwks"))}
	srv, err := server.Open(context.Background(), server.Options{DataDir: data, Passphrase: "integration-test", Governance: g})
	require.NoError(t, err)
	require.Equal(t, 7, srv.Framework.Version)
	before, _ := srv.Log.Size(context.Background())
	srv.Close()

	// Its successor: refused with one signature, or unchained; installed
	// with two, and logged.
	next := doc
	next.Version, next.Previous = 8, trust.Digest(mustRead(t, at("f.jws")))
	b, _ = json.Marshal(next)
	require.NoError(t, os.WriteFile(at("next.json"), b, 0o644))
	code, out = run("seal", "--doc", at("next.json"), "--key", at("member-1.jwk"), "--out", at("next.jws"))
	require.Equal(t, 0, code, out)
	code, out = run("install", "--in", at("next.jws"), "--data", data, "--governance", at("governance.jwks"), "--threshold", "2")
	require.Equal(t, 1, code, "one signature installed: %s", out)
	code, out = run("sign", "--in", at("next.jws"), "--key", at("member-0.jwk"), "--out", at("next.jws"))
	require.Equal(t, 0, code, out)
	code, out = run("install", "--in", at("next.jws"), "--data", data, "--governance", at("governance.jwks"), "--threshold", "2")
	require.Equal(t, 0, code, out)
	srv, err = server.Open(context.Background(), server.Options{DataDir: data, Passphrase: "integration-test", Governance: g})
	require.NoError(t, err)
	defer srv.Close()
	require.Equal(t, 8, srv.Framework.Version)
	after, _ := srv.Log.Size(context.Background())
	require.Equal(t, before+1, after, "the change is in the transparency log")
	code, out = run("install", "--in", at("f.jws"), "--data", data, "--governance", at("governance.jwks"), "--threshold", "2")
	require.Equal(t, 1, code, "a rollback to version 7 was installed: %s", out)

	// A wallet pins the council's keys and threshold, and verifies the
	// served framework under them.
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	c := &wallet.Client{BaseURL: hs.URL}
	policy, err := c.GovernancePolicy(context.Background())
	require.NoError(t, err)
	require.Equal(t, 2, policy.Threshold)
	keys, err := jwk.Parse(policy.Keys)
	require.NoError(t, err)
	c.GovernanceThreshold = policy.Threshold
	fw, err := c.Framework(context.Background(), keys)
	require.NoError(t, err)
	require.Equal(t, 8, fw.Version)
	c.GovernanceThreshold = 3
	_, err = c.Framework(context.Background(), keys)
	require.ErrorIs(t, err, trust.ErrThreshold, "a wallet pinning 3-of-3 refuses a 2-signature framework")
}

func mustRead(t *testing.T, path string) []byte {
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}
