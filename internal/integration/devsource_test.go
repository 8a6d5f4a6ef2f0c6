package integration

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/internal/cli"
	"github.com/mustard-id/mustard/internal/devsource"
	"github.com/mustard-id/mustard/internal/oid4vci"
	"github.com/mustard-id/mustard/internal/server"
	wallet "github.com/mustard-id/mustard/persona"
)

// walletCLI runs `mustard wallet --wallet dir args...` in-process.
func walletCLI(dir string, args ...string) (int, string, string) {
	var stdout, stderr syncBuffer
	code := cli.Main(context.Background(), append([]string{"wallet", "--wallet", dir}, args...), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// Issue #7: `mustard dev issuer` serves the sample government issuer over
// OpenID4VCI and prints an offer with a transaction code; `mustard wallet
// enroll --offer` redeems it (key proof, c_nonce) and enrolls the JWT-VC
// at the core-identity provider. The offer is single use.
func TestEnrollFromOfferCLI(t *testing.T) {
	t.Setenv("MUSTARD_PASSPHRASE", "integration-test")
	t.Setenv("MUSTARD_PIN", "a long wallet passphrase")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- cli.Main(ctx, []string{"dev", "issuer", "--data", env.dir, "--addr", "127.0.0.1:0", "--tx-code", "--qr", "--birthdate", "1990-04-12"}, &out, &errb)
	}()
	offerRe := regexp.MustCompile(`(openid-credential-offer://\S+)`)
	txRe := regexp.MustCompile(`transaction code[^:]*: (\d{6})`)
	var link, tx string
	require.Eventually(t, func() bool {
		m, n := offerRe.FindStringSubmatch(out.String()), txRe.FindStringSubmatch(out.String())
		if m != nil && n != nil {
			link, tx = m[1], n[1]
			return true
		}
		return false
	}, time.Minute, 50*time.Millisecond, errb.String())
	require.Contains(t, link, "credential_offer_uri=")

	dir := filepath.Join(t.TempDir(), "w1")
	code, _, stderr := walletCLI(dir, "init", "--software")
	require.Equal(t, 0, code, stderr)
	code, _, stderr = walletCLI(dir, "enroll", "--offer", link, "--server", env.base)
	require.NotEqual(t, 0, code, "no transaction code")
	require.Contains(t, stderr, "transaction code")
	code, stdout, stderr := walletCLI(dir, "enroll", "--offer", link, "--tx-code", tx, "--server", env.base)
	require.Equal(t, 0, code, stderr)
	require.Contains(t, stdout, "Enrolled with "+env.base)

	dir2 := filepath.Join(t.TempDir(), "w2")
	code, _, stderr = walletCLI(dir2, "init", "--software")
	require.Equal(t, 0, code, stderr)
	code, _, stderr = walletCLI(dir2, "enroll", "--offer", link, "--tx-code", tx, "--server", env.base)
	require.NotEqual(t, 0, code)
	require.Contains(t, stderr, "gave no credential")
	cancel()
	require.Equal(t, 0, <-done, errb.String())
}

// The same through a by-value offer in a file, the sample issuer served
// in-process: the credential's subject is the did:jwk of the key proof.
func TestEnrollFromOfferFile(t *testing.T) {
	t.Setenv("MUSTARD_PIN", "a long wallet passphrase")
	hs := httptest.NewUnstartedServer(nil)
	svc, err := devsource.New("http://"+hs.Listener.Addr().String(), server.SampleSourceID, env.srv.SampleSource, env.srv.Store)
	require.NoError(t, err)
	hs.Config.Handler = svc.Handler()
	hs.Start()
	defer hs.Close()
	ctx := context.Background()
	res, err := devsource.Offer(ctx, svc, devsource.Person{PersonalNumber: "file-" + time.Now().Format(time.RFC3339Nano), BirthDate: "1985-01-02", Nationality: "BE"}, false)
	require.NoError(t, err)

	// The credential itself, as a wallet gets it.
	ref, err := oid4vci.ParseOffer(res.ByValue)
	require.NoError(t, err)
	s, err := (&oid4vci.Client{}).Redeem(ctx, ref.Offer, "")
	require.NoError(t, err)
	key, err := wallet.NewPersonaKey()
	require.NoError(t, err)
	cred, err := s.Credential(ctx, devsource.ConfigID, key, nil)
	require.NoError(t, err)
	payload, err := base64.RawURLEncoding.DecodeString(strings.Split(cred, ".")[1])
	require.NoError(t, err)
	var claims struct{ Sub string }
	require.NoError(t, json.Unmarshal(payload, &claims))
	require.True(t, strings.HasPrefix(claims.Sub, "did:jwk:"), claims.Sub)

	res, err = devsource.Offer(ctx, svc, devsource.Person{PersonalNumber: "file2-" + time.Now().Format(time.RFC3339Nano), BirthDate: "1985-01-02", Nationality: "BE"}, false)
	require.NoError(t, err)
	file := filepath.Join(t.TempDir(), "offer.txt")
	require.NoError(t, os.WriteFile(file, []byte(res.ByValue+"\n"), 0o600))
	dir := filepath.Join(t.TempDir(), "w")
	code, _, stderr := walletCLI(dir, "init", "--software")
	require.Equal(t, 0, code, stderr)
	code, stdout, stderr := walletCLI(dir, "enroll", "--offer", file, "--server", env.base)
	require.Equal(t, 0, code, stderr)
	require.Contains(t, stdout, "Enrolled with")
}
