package integration

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/internal/cli"
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
}
