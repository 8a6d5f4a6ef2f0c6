package integration

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/internal/cli"
	"github.com/mustard-id/mustard/internal/fedidp"
	"github.com/mustard-id/mustard/internal/keystore"
	"github.com/mustard-id/mustard/internal/server"
	"github.com/mustard-id/mustard/internal/trust"
	wallet "github.com/mustard-id/mustard/persona"
	"github.com/mustard-id/mustard/zk"
)

// A federation's identity provider, registered in the trust framework,
// becomes a provenance source: the wallet enrolls by a login there (code
// + PKCE, run by the core-identity provider as a relying party), against
// an independent OpenID Provider on another loopback port.
func TestEnrollThroughFederation(t *testing.T) {
	ctx := context.Background()
	idp, err := fedidp.New("mustard-core", "federation-secret", "student-4711", map[string]any{"birthdate": "1999-09-09", "nationality": "FR"})
	require.NoError(t, err)
	idpSrv := httptest.NewServer(idp.Handler())
	defer idpSrv.Close()
	idp.Issuer = idpSrv.URL

	dir := t.TempDir()
	require.NoError(t, os.CopyFS(filepath.Join(dir, "zk"), os.DirFS(filepath.Join(env.dir, "zk"))))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	base := "http://" + ln.Addr().String()
	srv, err := server.Open(ctx, server.Options{
		DataDir: dir, Passphrase: "federation", PublicURL: base,
		Federations: []server.Federation{{Issuer: idp.Issuer, ClientID: "mustard-core", ClientSecret: "federation-secret"}},
		DevSources: []trust.Source{{
			ID: idp.Issuer, Name: "University federation (test)", Formats: []string{trust.FormatOIDC}, Grade: "substantial",
			JWKS: idp.JWKS(), Claims: map[string]string{"birthdate": "birth_date", "nationality": "nationality"},
		}},
	})
	require.NoError(t, err)
	defer srv.Close()
	hs := &http.Server{Handler: srv.Handler()}
	go hs.Serve(ln)
	defer hs.Close()

	c := &wallet.Client{BaseURL: base, HTTP: &http.Client{Timeout: 30 * time.Second}}
	gov, err := c.Governance(ctx)
	require.NoError(t, err)
	fw, err := c.Framework(ctx, gov)
	require.NoError(t, err)
	pin := []byte("2468")
	w, err := wallet.Create(keystore.NewSoftware(), pin)
	require.NoError(t, err)
	comm, err := w.Commitment(pin)
	require.NoError(t, err)

	start, err := c.EnrollFederation(ctx, idp.Issuer, comm, w.DeviceKeyHash(), "")
	require.NoError(t, err)
	_, err = c.PollEnrollment(ctx, start.PollURL)
	require.ErrorIs(t, err, wallet.ErrPending)

	// The person's browser: to the IdP, which signs them in and sends
	// them back to the provider's callback.
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	resp, err := browser.Get(start.AuthorizationURL)
	require.NoError(t, err)
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, string(page))
	require.Contains(t, string(page), "You are enrolled")

	enr, err := c.PollEnrollment(ctx, start.PollURL)
	require.NoError(t, err)
	require.Equal(t, uint64(zk.GradeSubstantial), enr.Credential.Grade)
	require.NoError(t, w.Accept(pin, fw, enr))
	_, err = c.PollEnrollment(ctx, start.PollURL)
	require.Error(t, err, "the result is handed out once")

	// The same federation user again: one person, one core identity.
	w2, err := wallet.Create(keystore.NewSoftware(), pin)
	require.NoError(t, err)
	comm2, _ := w2.Commitment(pin)
	start, err = c.EnrollFederation(ctx, idp.Issuer, comm2, w2.DeviceKeyHash(), "")
	require.NoError(t, err)
	resp, err = browser.Get(start.AuthorizationURL)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	_, err = c.PollEnrollment(ctx, start.PollURL)
	var pe *wallet.ProblemError
	require.ErrorAs(t, err, &pe)
	require.Equal(t, "urn:mustard:problem:duplicate-identity", pe.Type)

	// The same through `mustard wallet enroll --federation`: the command
	// prints the login URL (no browser here), the test's browser follows
	// it, the command finishes with the core credential.
	idp.Subject = "student-4712"
	walletDir := filepath.Join(t.TempDir(), "wallet")
	t.Setenv("MUSTARD_PIN", "a long wallet passphrase")
	var out, errOut bytes.Buffer
	require.Equal(t, 0, cli.Main(ctx, []string{"wallet", "init", "--software", "--wallet", walletDir}, &out, &errOut), errOut.String())
	var stdout syncBuffer
	var stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- cli.Main(ctx, []string{"wallet", "enroll", "--wallet", walletDir, "--server", base, "--federation", idp.Issuer, "--no-browser", "--json"}, &stdout, &stderr)
	}()
	loginRE := regexp.MustCompile(`Log in at \S+ to enroll: (\S+)`)
	var loginURL string
	require.Eventually(t, func() bool {
		if m := loginRE.FindStringSubmatch(stderr.String()); m != nil {
			loginURL = m[1]
			return true
		}
		return false
	}, 30*time.Second, 20*time.Millisecond, "no login URL: %s", stderr.String())
	resp, err = browser.Get(loginURL)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 0, <-done, stderr.String())
	require.Contains(t, stdout.String(), `"grade": "substantial"`)

	// An IdP the provider has no federation with is refused.
	_, err = c.EnrollFederation(ctx, "https://stranger.example", comm, w.DeviceKeyHash(), "")
	require.ErrorAs(t, err, &pe)
	require.Equal(t, "urn:mustard:problem:unknown-federation", pe.Type)
}
