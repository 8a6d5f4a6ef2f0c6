package portal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Browser does what a person's browser does on the OP's pages, which need
// no JavaScript: follow redirects, keep cookies, reload the sign-in page,
// press a consent button.
type Browser struct {
	c    *http.Client
	page string
	url  string
}

// NewBrowser returns a browser with its own cookies.
func NewBrowser() *Browser {
	jar, _ := cookiejar.New(nil)
	return &Browser{c: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
}

var (
	deepLinkRE = regexp.MustCompile(`id="wallet-link" href="(mustard://present\?request_uri=[^"]+)"`)
	csrfRE     = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
)

func (b *Browser) do(req *http.Request) error {
	resp, err := b.c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	b.page, b.url = string(body), resp.Request.URL.String()
	return nil
}

// SignIn opens the portal's login and returns the deep link the sign-in
// page offers the wallet (the QR code's content).
func (b *Browser) SignIn(ctx context.Context, portalURL string) (string, error) {
	req, _ := http.NewRequestWithContext(ctx, "GET", strings.TrimRight(portalURL, "/")+"/login", nil)
	if err := b.do(req); err != nil {
		return "", err
	}
	m := deepLinkRE.FindStringSubmatch(b.page)
	if m == nil {
		return "", fmt.Errorf("portal: the sign-in page offers no wallet link (at %s)", b.url)
	}
	return html.UnescapeString(m[1]), nil
}

// Page is the last page's text.
func (b *Browser) Page() string { return b.page }

// Consent reloads the sign-in page (as its refresh does), which moves on to
// the consent page once the wallet has answered, and presses allow or
// deny; it returns the portal's result.
func (b *Browser) Consent(ctx context.Context, allow bool) (*Result, error) {
	req, _ := http.NewRequestWithContext(ctx, "GET", b.url, nil)
	if err := b.do(req); err != nil {
		return nil, err
	}
	m := csrfRE.FindStringSubmatch(b.page)
	if m == nil || !strings.Contains(b.page, "consent") {
		return nil, errors.New("portal: the sign-in page did not move on to consent")
	}
	decision := "deny"
	if allow {
		decision = "allow"
	}
	action := strings.Replace(b.url, "/oauth2/login/", "/oauth2/consent/", 1)
	req, _ = http.NewRequestWithContext(ctx, "POST", action, strings.NewReader(url.Values{"csrf": {m[1]}, "decision": {decision}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if err := b.do(req); err != nil {
		return nil, err
	}
	var res Result
	if err := json.Unmarshal([]byte(b.page), &res); err != nil {
		return nil, fmt.Errorf("portal: no sign-in result (at %s)", b.url)
	}
	return &res, nil
}
