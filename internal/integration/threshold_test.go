package integration

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/circuits/threshold"
	"github.com/mustard-id/mustard/coreid"
	"github.com/mustard-id/mustard/internal/cli"
	"github.com/mustard-id/mustard/internal/keystore"
	"github.com/mustard-id/mustard/internal/server"
	"github.com/mustard-id/mustard/internal/trust"
	wallet "github.com/mustard-id/mustard/persona"
	"github.com/mustard-id/mustard/verifier"
	"github.com/mustard-id/mustard/zk"
)

// thresholdKeyDir holds development keys of the 2-of-n circuit, set up
// once per test binary (about a minute on two cores) and copied into each
// provider's data directory, where `serve --threshold 2` loads them.
var thresholdKeyDir = sync.OnceValues(func() (string, error) {
	dir := filepath.Join(env.dir, "threshold-keys")
	_, err := zk.LoadOrSetup(dir, "threshold-2", threshold.New(2), nil)
	return dir, err
})

// kofnFramework is three servers, each a core-identity provider, issuer
// and verifier, running with Threshold 2 under one governed framework
// that accredits all three (with their URLs), on loopback listeners.
type kofnFramework struct {
	fw    *trust.Document
	srv   []*server.Server
	base  []string
	owner *server.Server // srv[0]: its sample source signs source credentials
}

func newKofnFramework(t *testing.T, refresh time.Duration) *kofnFramework {
	t.Helper()
	ctx := context.Background()
	keyDir, err := thresholdKeyDir()
	require.NoError(t, err)
	_, gpriv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	gov, err := jwk.FromRaw(gpriv)
	require.NoError(t, err)
	require.NoError(t, gov.Set(jwk.KeyIDKey, "kofn-governance"))
	require.NoError(t, gov.Set(jwk.AlgorithmKey, jwa.EdDSA))
	gpub, err := gov.PublicKey()
	require.NoError(t, err)
	set := jwk.NewSet()
	require.NoError(t, set.AddKey(gpub))
	govJWKS, err := json.Marshal(set)
	require.NoError(t, err)
	g := &trust.Governance{Threshold: 1, Keys: govJWKS}

	const pass = "kofn"
	k := &kofnFramework{}
	var lns []net.Listener
	var dirs []string
	now := time.Now()
	doc := &trust.Document{ID: "urn:mustard:framework:kofn-test", Version: 1, IssuedAt: now.Unix()}
	for i := range 3 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		lns = append(lns, ln)
		base := "http://" + ln.Addr().String()
		k.base = append(k.base, base)
		dir := t.TempDir()
		dirs = append(dirs, dir)
		// The persona and community keys of the shared test server, and
		// the 2-of-n keys: no setup per provider.
		require.NoError(t, os.CopyFS(filepath.Join(dir, "zk"), os.DirFS(filepath.Join(env.dir, "zk"))))
		for _, ext := range []string{".json", ".vk", ".pk"} {
			b, err := os.ReadFile(filepath.Join(keyDir, "threshold-2"+ext))
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(filepath.Join(dir, "zk", "threshold-2"+ext), b, 0o600))
		}
		// The first start makes the provider's keys (and a development
		// framework of its own, replaced below).
		s, err := server.Open(ctx, server.Options{DataDir: dir, Passphrase: pass, PublicURL: base})
		require.NoError(t, err)
		if i == 0 {
			doc.Sources = s.Framework.Sources
		}
		p := s.Framework.Providers[0]
		p.ID, p.URL = fmt.Sprintf("https://core%d.kofn.example", i), base
		doc.Providers = append(doc.Providers, p)
		doc.Issuers = append(doc.Issuers, s.Framework.Issuers...)
		require.NoError(t, s.Close())
	}
	signed, err := trust.Seal(doc, gov)
	require.NoError(t, err)
	for i, dir := range dirs {
		_, err := server.InstallFramework(ctx, server.Options{DataDir: dir, Passphrase: pass, Governance: g}, signed)
		require.NoError(t, err)
		s, err := server.Open(ctx, server.Options{DataDir: dir, Passphrase: pass, PublicURL: k.base[i], Governance: g, Threshold: 2, ThresholdRefresh: refresh})
		require.NoError(t, err)
		t.Cleanup(func() { s.Close() })
		hs := &http.Server{Handler: s.Handler()}
		go hs.Serve(lns[i])
		t.Cleanup(func() { hs.Close() })
		k.srv = append(k.srv, s)
	}
	k.fw, k.owner = k.srv[0].Framework, k.srv[0]
	return k
}

func (k *kofnFramework) client(i int) *wallet.Client {
	return &wallet.Client{BaseURL: k.base[i], HTTP: &http.Client{Timeout: time.Minute}}
}

// TestServeThreshold2of3: three `serve --threshold 2` providers; a wallet
// enrolls with all three, downloads the served 2-of-n keys, derives a
// 2-of-3 persona against the framework-wide revocation root, the first
// server's issuer issues a persona credential for it and its verification
// API, demanding two providers, accepts it. A revocation at the second
// provider reaches the first server's union root within the refresh
// interval: the same persona is then refused, and the wallet cannot prove
// again.
func TestServeThreshold2of3(t *testing.T) {
	if testing.Short() {
		t.Skip("a Groth16 setup of the 2-of-n circuit")
	}
	ctx := context.Background()
	const refresh = 500 * time.Millisecond
	k := newKofnFramework(t, refresh)
	c0 := k.client(0)

	// Off-profile files are not found; the served key is the issuer's.
	resp, err := http.Get(k.base[0] + "/v1/zk/threshold-3/files/threshold-3.vk")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	var meta struct {
		VKID string `json:"vk_id"`
	}
	require.NoError(t, c0.Get(ctx, "/v1/zk/threshold-2/files/threshold-2.json", &meta))
	require.Equal(t, k.srv[0].ThresholdKeys[2].VKID, meta.VKID)
	keyDir := filepath.Join(t.TempDir(), "zk-threshold-2")
	require.NoError(t, c0.DownloadKeys(ctx, "threshold-2", keyDir, meta.VKID))
	keys, err := zk.LoadOrSetup(keyDir, "threshold-2", threshold.New(2), nil)
	require.NoError(t, err)
	require.Equal(t, meta.VKID, keys.VKID)

	// Enrollment with all three providers (the first leads).
	pin := []byte("2468")
	w, err := wallet.Create(keystore.NewSoftware(), pin)
	require.NoError(t, err)
	now := time.Now()
	src, err := coreid.SignJWTVC(k.owner.SampleSource, server.SampleSourceID, "did:example:holder", []string{"PersonIdentificationData"},
		map[string]any{"personal_number": fmt.Sprintf("pn-kofn-%d", now.UnixNano()), "birthdate": "1990-04-12", "nationality": "NL"}, now, now.Add(time.Hour))
	require.NoError(t, err)
	comm, err := w.Commitment(pin)
	require.NoError(t, err)
	body := func(context.Context, int, *wallet.Client) (coreid.EnrollBody, error) {
		return coreid.EnrollBody{Source: src, Commitment: zk.Hex(comm), DeviceKeyHash: zk.Hex(w.DeviceKeyHash())}, nil
	}
	require.NoError(t, w.EnrollThreshold(ctx, pin, k.fw, 2, []*wallet.Client{c0, k.client(1), k.client(2)}, body))
	require.Len(t, w.Threshold.Endorsements, 3)

	snap, err := wallet.FrameworkRevocations(ctx, k.fw, nil)
	require.NoError(t, err)
	pk, err := wallet.NewPersonaKey()
	require.NoError(t, err)
	query := func(nonce string) wallet.Query {
		return wallet.Query{Scope: "shop.example", Nonce: nonce, MinGrade: zk.GradeSubstantial, Predicates: []string{"age>=18"}, Disclose: []string{"nationality"}, Now: time.Now()}
	}

	// The issuer issues for a 2-of-3 proof.
	nonce, err := c0.Nonce(ctx, "shop.example")
	require.NoError(t, err)
	proof, err := w.DeriveThreshold(ctx, keys, 2, pin, k.fw, snap, pk, query(nonce))
	require.NoError(t, err)
	got, err := c0.Issue(ctx, k.srv[0].Issuer.ID(), proof, pk)
	require.NoError(t, err)
	require.NotEmpty(t, got.Credential)

	// The verification API accepts a 2-of-3 persona where two providers
	// are demanded, and refuses it where three are.
	present := func(minProviders int, snap coreid.Snapshot) (*verifier.VerdictJSON, error) {
		var preq verifier.PresentationRequestJSON
		require.NoError(t, c0.Post(ctx, "/v1/presentation-requests", verifier.RequestJSON{Audience: "https://shop.example"}, &preq))
		p, err := w.DeriveThreshold(ctx, keys, 2, pin, k.fw, snap, pk, query(preq.Nonce))
		require.NoError(t, err)
		var v verifier.VerdictJSON
		err = c0.Post(ctx, "/v1/presentations/verify", verifier.VerifyJSON{Proof: p, Audience: "https://shop.example", Scope: "shop.example", Nonce: preq.Nonce, MinGrade: "substantial", MinProviders: minProviders}, &v)
		return &v, err
	}
	v, err := present(2, snap)
	require.NoError(t, err)
	require.True(t, v.Valid)
	_, err = present(3, snap)
	require.Equal(t, verifier.ErrProviders.Type(), problemTypeOf(err), "%v", err)

	// The CLI wallet: `wallet enroll --providers` with all three, then
	// `wallet persona new` derives with the 2-of-n profile on its own (the
	// wallet holds a k-of-n credential and the issuer serves K=2).
	cliDir := t.TempDir()
	t.Setenv("MUSTARD_PIN", "a long wallet passphrase")
	cliSrc, err := coreid.SignJWTVC(k.owner.SampleSource, server.SampleSourceID, "did:example:holder", []string{"PersonIdentificationData"},
		map[string]any{"personal_number": fmt.Sprintf("pn-kofn-cli-%d", now.UnixNano()), "birthdate": "1990-04-12", "nationality": "NL"}, now, now.Add(time.Hour))
	require.NoError(t, err)
	credFile := filepath.Join(cliDir, "pid.jwt")
	require.NoError(t, os.WriteFile(credFile, []byte(cliSrc), 0o600))
	walletDir := filepath.Join(cliDir, "wallet")
	run := func(args ...string) (int, string) {
		var out, errOut bytes.Buffer
		code := cli.Main(ctx, args, &out, &errOut)
		return code, out.String() + errOut.String()
	}
	code, out := run("wallet", "init", "--software", "--wallet", walletDir)
	require.Equal(t, 0, code, out)
	code, out = run("wallet", "enroll", "--wallet", walletDir, "--credential", credFile, "--providers", strings.Join(k.base, ","), "--threshold", "2", "--issuer", k.srv[0].Issuer.ID())
	require.Equal(t, 0, code, out)
	code, out = run("wallet", "persona", "new", "--wallet", walletDir, "--scope", "cli.example", "--predicate", "age>=18", "--threshold", "3")
	require.Equal(t, 1, code, out)
	require.Contains(t, out, "serve --threshold 3")
	code, out = run("wallet", "persona", "new", "--wallet", walletDir, "--scope", "cli.example", "--predicate", "age>=18", "--json")
	require.Equal(t, 0, code, out)
	require.Contains(t, out, `"scope": "cli.example"`)
	_, err = os.Stat(filepath.Join(walletDir, "zk-threshold-2", "threshold-2.pk"))
	require.NoError(t, err, "the wallet proved with the served 2-of-n key")

	// The second provider revokes the credential (its k-of-n entry): the
	// first server's union root includes it once its refresh interval has
	// passed, and a persona proven against the old union is refused.
	require.NoError(t, k.srv[1].Provider.Revoke(ctx, w.Threshold.Credential.RevNonce, coreid.ReasonProvider))
	after, err := wallet.FrameworkRevocations(ctx, k.fw, nil)
	require.NoError(t, err)
	require.NotEqual(t, snap.Root, after.Root)
	time.Sleep(refresh)
	_, err = present(2, snap)
	require.Equal(t, "urn:mustard:problem:stale-revocation-root", problemTypeOf(err), "a revoked 2-of-3 persona after the refresh interval: %v", err)
	nonce, err = c0.Nonce(ctx, "shop.example")
	require.NoError(t, err)
	stale, err := w.DeriveThreshold(ctx, keys, 2, pin, k.fw, snap, pk, query(nonce))
	require.NoError(t, err)
	_, err = c0.Issue(ctx, k.srv[0].Issuer.ID(), stale, pk)
	require.Contains(t, problemTypeOf(err), "revocation-root", "the issuer, for a revoked 2-of-3 persona: %v", err)
	_, _, err = w.ThresholdStatement(2, pin, k.fw, after, pk, query("n"))
	require.ErrorContains(t, err, "revoked")
}

func problemTypeOf(err error) string {
	var pe *wallet.ProblemError
	if errors.As(err, &pe) {
		return pe.Type
	}
	return ""
}
