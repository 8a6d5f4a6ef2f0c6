package integration

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/internal/portal"
	"github.com/mustard-id/mustard/internal/trust"
	wallet "github.com/mustard-id/mustard/persona"
	"github.com/mustard-id/mustard/zk"
)

// personaFor derives a persona for scope with a real Groth16 proof and
// has the issuer issue its credential.
func personaFor(t *testing.T, w *wallet.Wallet, pin []byte, fw *trust.Document, scope string, preds []string) (string, jwk.Key) {
	t.Helper()
	ctx := context.Background()
	c := client()
	nonce, err := c.Nonce(ctx, scope)
	require.NoError(t, err)
	snap, err := c.Revocations(ctx)
	require.NoError(t, err)
	key, err := wallet.NewPersonaKey()
	require.NoError(t, err)
	proof, err := w.Derive(ctx, env.srv.Keys, pin, fw, snap, key, wallet.Query{Scope: scope, Nonce: nonce, MinGrade: zk.GradeSubstantial, Predicates: preds, Now: time.Now()})
	require.NoError(t, err)
	iss, err := c.Issue(ctx, env.srv.Issuer.ID(), proof, key)
	require.NoError(t, err)
	return iss.Credential, key
}

// startPortal registers a sample portal for sector at the server's OP and
// serves it on loopback.
func startPortal(t *testing.T, sector string, claims []string) string {
	t.Helper()
	ctx := context.Background()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	base := "http://" + ln.Addr().String()
	hc := &http.Client{Timeout: 30 * time.Second}
	id, secret, err := portal.Register(ctx, hc, env.base, env.srv.RegistrationToken, portal.Registration{
		RedirectURIs: []string{base + "/callback"}, ClientName: "Portal of " + sector, SectorIdentifier: sector,
		Manifest: map[string]any{"purpose": "Let adults into the " + sector + " community.", "claims": claims, "retention": "90 days", "framework": env.srv.Framework.ID},
	})
	require.NoError(t, err)
	p, err := portal.New(ctx, hc, env.base, base, id, secret, append([]string{"openid"}, claims...))
	require.NoError(t, err)
	hs := &http.Server{Handler: p.Handler()}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	return base
}

func signIn(t *testing.T, portalURL, credential string, key jwk.Key) *portal.Result {
	t.Helper()
	ctx := context.Background()
	b := portal.NewBrowser()
	link, err := b.SignIn(ctx, portalURL)
	require.NoError(t, err)
	req, err := wallet.FetchRequest(ctx, http.DefaultClient, link)
	require.NoError(t, err)
	require.NoError(t, wallet.AnswerRequest(ctx, http.DefaultClient, req, credential, key))
	res, err := b.Consent(ctx, true)
	require.NoError(t, err)
	require.Empty(t, res.Error)
	return res
}

// A person signs in to portals of two sectors with personas proven in
// zero knowledge: the sub is the persona's pseudonym, stable within a
// sector, different across sectors.
func TestOIDCLoginAcrossSectors(t *testing.T) {
	w, pin, fw := enrolled(t)
	shop := startPortal(t, "shop.example", []string{"age_over_18"})
	shop2 := startPortal(t, "shop.example", nil)
	forum := startPortal(t, "forum.example", nil)

	cred, key := personaFor(t, w, pin, fw, "shop.example", []string{"age>=18"})
	first := signIn(t, shop, cred, key)
	require.Equal(t, true, first.Claims["age_over_18"])
	require.Equal(t, "http://eidas.europa.eu/LoA/substantial", first.Claims["acr"])
	require.Equal(t, first.Subject, signIn(t, shop2, cred, key).Subject, "same sector, another client")

	fcred, fkey := personaFor(t, w, pin, fw, "forum.example", nil)
	other := signIn(t, forum, fcred, fkey)
	require.NotEqual(t, first.Subject, other.Subject)

	// The shop.example persona is refused by the forum: wrong sector.
	b := portal.NewBrowser()
	link, err := b.SignIn(context.Background(), forum)
	require.NoError(t, err)
	req, err := wallet.FetchRequest(context.Background(), http.DefaultClient, link)
	require.NoError(t, err)
	err = wallet.AnswerRequest(context.Background(), http.DefaultClient, req, cred, key)
	var pe *wallet.ProblemError
	require.ErrorAs(t, err, &pe)
	require.Equal(t, "urn:mustard:problem:wrong-scope", pe.Type)
}

// chromium finds Debian's chromium; outside CI its absence skips the test.
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is missing in CI: .ci/run installs Debian's chromium")
	}
	t.Skip("chromium not installed (apt-get install chromium); CI runs this test")
	return ""
}

// The sign-in and consent pages, driven in headless Chromium: the page
// shows the QR code and wallet command, moves on by itself (no JavaScript:
// a Refresh header) once the wallet has answered, and the consent page
// shows the trust manifest; allowing lands the browser at the portal,
// signed in.
func TestOIDCLoginInChromium(t *testing.T) {
	bin := chromium(t)
	w, pin, fw := enrolled(t)
	shop := startPortal(t, "shop.example", []string{"age_over_18"})
	cred, key := personaFor(t, w, pin, fw, "shop.example", []string{"age>=18"})

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(bin), chromedp.NoSandbox, chromedp.WindowSize(900, 1100))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 90*time.Second)
	defer cancel()

	shots := t.TempDir()
	if d := os.Getenv("MUSTARD_SCREENSHOTS"); d != "" {
		shots = d
	}
	screenshot := func(name string) {
		var buf []byte
		require.NoError(t, chromedp.Run(ctx, chromedp.FullScreenshot(&buf, 100)))
		img, err := png.Decode(bytes.NewReader(buf))
		require.NoError(t, err, "screenshot is a PNG")
		require.Greater(t, img.Bounds().Dx(), 300)
		require.NoError(t, os.WriteFile(filepath.Join(shots, name+".png"), buf, 0o644))
	}

	var text, link, qr string
	var qrWidth int
	require.NoError(t, chromedp.Run(ctx,
		chromedp.Navigate(shop+"/login"),
		chromedp.WaitVisible(`#wallet-link`, chromedp.ByID),
		chromedp.Text(`body`, &text, chromedp.ByQuery),
		chromedp.AttributeValue(`#wallet-link`, "href", &link, nil, chromedp.ByID),
		chromedp.AttributeValue(`img.qr`, "src", &qr, nil, chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelector("img.qr").naturalWidth`, &qrWidth),
	))
	screenshot("1-sign-in")
	require.Contains(t, text, "Sign in to Portal of shop.example with a persona")
	require.Contains(t, text, "that you are over 18")
	require.Contains(t, text, "mustard wallet present 'mustard://present?request_uri=")
	require.True(t, strings.HasPrefix(qr, "data:image/png;base64,"), "QR code image")
	require.Equal(t, 256, qrWidth, "the QR code renders (a broken image has no width)")

	req, err := wallet.FetchRequest(ctx, http.DefaultClient, link)
	require.NoError(t, err)
	require.NoError(t, wallet.AnswerRequest(ctx, http.DefaultClient, req, cred, key))

	require.NoError(t, chromedp.Run(ctx,
		chromedp.WaitVisible(`button.allow`, chromedp.ByQuery), // the page's refresh moved it on
		chromedp.Text(`body`, &text, chromedp.ByQuery),
	))
	screenshot("2-consent")
	require.Contains(t, text, "Portal of shop.example asks for your consent")
	require.Contains(t, text, "Let adults into the shop.example community.")
	require.Contains(t, text, "90 days")
	require.Contains(t, text, "age_over_18")

	require.NoError(t, chromedp.Run(ctx,
		chromedp.Click(`button.allow`, chromedp.ByQuery),
		chromedp.WaitVisible(`body`, chromedp.ByQuery),
		chromedp.Sleep(200*time.Millisecond),
		chromedp.Text(`body`, &text, chromedp.ByQuery),
	))
	screenshot("3-signed-in")
	require.Contains(t, text, "Signed in.", fmt.Sprintf("portal result: %s", text))
	require.Contains(t, text, `"age_over_18": true`)
	require.NotContains(t, text, `"error"`)
}
