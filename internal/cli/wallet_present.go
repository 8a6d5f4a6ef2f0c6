package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/mustard-id/mustard/internal/sdjwt"
	"github.com/mustard-id/mustard/persona"
	"github.com/mustard-id/mustard/verifier"
)

func newWalletPresentCmd(e *walletEnv) *cobra.Command {
	var personaID string
	var yes bool
	cmd := &cobra.Command{
		Use:   "present REQUEST",
		Short: "Answer a presentation request (a URL, a QR code's text, a file, or - for stdin)",
		Long: `Answer a relying party's presentation request with a key-bound presentation
of the persona for its scope, disclosing only the claims it asks for.

REQUEST is a mustard://present?nonce=…&audience=… link (what a QR code
carries), an https URL serving the request as JSON, a file holding either,
or - to read it from stdin. When the request names a response_uri the
wallet sends the presentation there; otherwise it prints it.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			req, err := loadRequest(ctx, cmd.InOrStdin(), args[0])
			if err != nil {
				return err
			}
			u, _, done, err := e.unlock()
			if err != nil {
				return err
			}
			defer done()
			which := req.Scope
			if personaID != "" {
				which = personaID
			}
			rec, err := u.Persona(which)
			if errors.Is(err, persona.ErrUnknownPerson) {
				return fmt.Errorf("you have no persona for %s: make one with `mustard wallet persona new --scope %s`", which, which)
			}
			if err != nil {
				return err
			}
			if !e.json {
				what := "only that you hold a persona"
				if len(req.Claims) > 0 {
					what = strings.Join(req.Claims, ", ")
				}
				fmt.Fprintf(e.errw(), "%s asks for your %s persona %s: it will see %s.\n", req.Audience, rec.Scope, rec.ID, what)
			}
			if !yes && cmd.InOrStdin() == os.Stdin && term.IsTerminal(int(os.Stdin.Fd())) {
				fmt.Fprint(e.errw(), "Share it? [y/N] ")
				line, _ := bufio.NewReader(os.Stdin).ReadString('\n')
				if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
					_ = u.Audit(persona.AuditEntry{Event: "present", Persona: rec.ID, Scope: rec.Scope, Audience: req.Audience, Outcome: "declined"})
					return errors.New("declined: nothing was shared")
				}
			}
			out, err := presentPersona(ctx, u, req, rec)
			if err != nil {
				return err
			}
			return e.emit(out, func(w io.Writer) {
				if out.SentTo == "" {
					fmt.Fprintln(w, out.Presentation)
					return
				}
				fmt.Fprintf(w, "Sent to %s: accepted.\n", out.SentTo)
			})
		},
	}
	cmd.Flags().StringVar(&personaID, "persona", "", "the persona to present (id or scope; default: the request's scope)")
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "share without asking")
	return cmd
}

type presentJSON struct {
	Persona      string   `json:"persona"`
	Scope        string   `json:"scope"`
	Audience     string   `json:"audience"`
	Disclosed    []string `json:"disclosed"`
	Presentation string   `json:"presentation,omitempty"`
	SentTo       string   `json:"sent_to,omitempty"`
	Accepted     bool     `json:"accepted"`
}

// presentPersona makes a key-bound presentation of rec for req, sends it
// to the request's response_uri if it has one, and records it in the audit
// trail.
func presentPersona(ctx context.Context, u *persona.Unlocked, req *persona.PresentationRequest, rec *persona.Record) (*presentJSON, error) {
	key, err := jwk.ParseKey(rec.Key)
	if err != nil {
		return nil, fmt.Errorf("the key of persona %s is unreadable: %w", rec.ID, err)
	}
	tok, err := sdjwt.Parse(rec.Credential)
	if err != nil {
		return nil, fmt.Errorf("the credential of persona %s is unreadable: %w", rec.ID, err)
	}
	vp, err := tok.Present(sdjwt.PresentRequest{Disclose: req.Claims, Audience: req.Audience, Nonce: req.Nonce}, key)
	if err != nil {
		return nil, fmt.Errorf("cannot present persona %s: %w", rec.ID, err)
	}
	out := &presentJSON{Persona: rec.ID, Scope: rec.Scope, Audience: req.Audience, Disclosed: append([]string{}, req.Claims...)}
	if req.ResponseURI == "" {
		out.Presentation = vp
		_ = u.Audit(persona.AuditEntry{Event: "present", Persona: rec.ID, Scope: rec.Scope, Audience: req.Audience, Disclosed: req.Claims, Outcome: "printed"})
		return out, nil
	}
	c := &persona.Client{BaseURL: req.ResponseURI, HTTP: httpClient()}
	var verdict verifier.VerdictJSON
	err = c.Post(ctx, "", verifier.VerifyJSON{Presentation: vp, Audience: req.Audience, Scope: rec.Scope, Nonce: req.Nonce, MinGrade: req.MinGrade, RequiredClaims: req.Claims}, &verdict)
	outcome := "accepted"
	if err != nil {
		outcome = "refused"
	}
	_ = u.Audit(persona.AuditEntry{Event: "present", Persona: rec.ID, Scope: rec.Scope, Audience: req.Audience, Disclosed: req.Claims, Outcome: outcome})
	if err != nil {
		return nil, fmt.Errorf("%s refused the presentation: %w", req.ResponseURI, err)
	}
	out.SentTo, out.Accepted = req.ResponseURI, verdict.Valid
	return out, nil
}

// loadRequest reads a presentation request from a link, a URL serving it,
// a file, or stdin ("-").
func loadRequest(ctx context.Context, stdin io.Reader, arg string) (*persona.PresentationRequest, error) {
	text := arg
	switch {
	case arg == "-":
		b, err := io.ReadAll(io.LimitReader(stdin, persona.MaxRequestSize+1))
		if err != nil {
			return nil, err
		}
		text = string(b)
	case strings.HasPrefix(arg, "{") || strings.HasPrefix(arg, persona.RequestScheme+":"):
	case strings.HasPrefix(arg, "https://") || strings.HasPrefix(arg, "http://"):
		u, err := url.Parse(arg)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", persona.ErrRequest, err)
		}
		if !u.Query().Has("nonce") {
			b, err := fetchRequest(ctx, arg)
			if err != nil {
				return nil, err
			}
			text = string(b)
		}
	default:
		b, err := readInput(arg, persona.MaxRequestSize)
		if err != nil {
			return nil, fmt.Errorf("cannot read the request: %w (give a mustard:// link, an https URL or a file)", err)
		}
		text = string(b)
	}
	r, err := persona.ParsePresentationRequest(text)
	if err != nil {
		return nil, fmt.Errorf("%w: ask the site for a new request", err)
	}
	return r, nil
}

func fetchRequest(ctx context.Context, rawURL string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := httpClient().Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot fetch the request: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("cannot fetch the request: %s answered %s", rawURL, resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, persona.MaxRequestSize+1))
	if err != nil {
		return nil, fmt.Errorf("cannot fetch the request: %w", err)
	}
	return b, nil
}
