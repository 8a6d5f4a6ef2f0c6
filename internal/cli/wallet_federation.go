package cli

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"runtime"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/mustard-id/mustard/coreid"
	"github.com/mustard-id/mustard/persona"
)

// federationWait bounds how long the wallet waits for the person to log
// in at the identity provider.
const federationWait = 5 * time.Minute

// enrollFederation runs an enrollment through a login at a federation's
// identity provider: the browser goes to the IdP, the wallet waits for
// the provider to enroll its commitment.
func (e *walletEnv) enrollFederation(ctx context.Context, c *persona.Client, idp string, comm, dkh fr.Element, ticket string, noBrowser bool) (*coreid.EnrollmentJSON, error) {
	start, err := c.EnrollFederation(ctx, idp, comm, dkh, ticket)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(e.errw(), "Log in at %s to enroll: %s\n", idp, start.AuthorizationURL)
	if !noBrowser {
		if err := openBrowser(start.AuthorizationURL); err != nil {
			fmt.Fprintln(e.errw(), "(no browser could be opened: open the URL above yourself)")
		}
	}
	deadline := time.Now().Add(federationWait)
	for {
		enr, err := c.PollEnrollment(ctx, start.PollURL)
		if !errors.Is(err, persona.ErrPending) {
			return enr, err
		}
		if time.Now().After(deadline) {
			return nil, errors.New("the login at the identity provider did not finish in five minutes: run enroll again")
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// openBrowser opens url in the desktop's browser.
func openBrowser(url string) error {
	name := "xdg-open"
	switch runtime.GOOS {
	case "darwin":
		name = "open"
	case "windows":
		return exec.Command("rundll32", "url.dll,FileProtocolHandler", url).Start()
	}
	return exec.Command(name, url).Start()
}
