package cli

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/mustard-id/mustard/persona"
	"github.com/mustard-id/mustard/verifier"
	"github.com/mustard-id/mustard/zk"
)

func newWalletPresentCmd(e *walletEnv) *cobra.Command {
	var personaID, keysDir string
	var yes, noDerive bool
	cmd := &cobra.Command{
		Use:   "present REQUEST",
		Short: "Answer a presentation request (an openid4vp:// or mustard:// link, a QR code's text, a URL, a file, or - for stdin)",
		Long: `Answer a relying party's presentation request with a key-bound presentation
of your persona for its scope, disclosing only the claims it requires, sent
to its response_uri.

REQUEST is an OpenID4VP link (openid4vp://?client_id=…&request_uri=…, whose
signed Request Object the wallet checks against the verifier's DID), a
mustard://present?request_uri=… link (what a QR code carries),
the https URL of the request document, a file holding either or the
document itself, or - to read it from stdin. When you have no persona for
the scope yet, or yours does not prove what the request asks, the wallet
derives one first (unless --no-derive).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			req, err := loadRequest(ctx, cmd.InOrStdin(), args[0])
			if err != nil {
				return err
			}
			u, pin, done, err := e.unlock()
			if err != nil {
				return err
			}
			defer done()
			if personaID != "" {
				rec, err := u.Persona(personaID)
				if err != nil {
					return err
				}
				if rec.Scope != req.Scope {
					return fmt.Errorf("persona %s is for %s, but the request is for %s: presenting it would link your personas", rec.ID, rec.Scope, req.Scope)
				}
			}
			who := req.Audience
			if req.ClientName != "" {
				who = req.ClientName + " (" + req.Audience + ")"
			}
			what := "only that you hold a persona, and your pseudonym there"
			if len(req.RequiredClaims) > 0 {
				what = strings.Join(req.RequiredClaims, ", ") + ", and your pseudonym there"
			}
			if req.OID4VP != nil {
				fmt.Fprintf(e.errw(), "OpenID4VP request from %s (%s).\n", req.OID4VP.ClientID, clientAuth(req.OID4VP.ClientID))
			}
			fmt.Fprintf(e.errw(), "%s asks for your %s persona: it will see %s.\n", who, req.Scope, what)
			if req.DeviceBound {
				fmt.Fprintln(e.errw(), "It requires a device-bound persona: one proved with this device's TPM key.")
			}
			if !yes && cmd.InOrStdin() == os.Stdin && term.IsTerminal(int(os.Stdin.Fd())) {
				fmt.Fprint(e.errw(), "Share it? [y/N] ")
				line, _ := bufio.NewReader(os.Stdin).ReadString('\n')
				if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
					_ = u.Audit(persona.AuditEntry{Event: "present", Scope: req.Scope, Audience: req.Audience, Outcome: "declined"})
					if req.OID4VP != nil {
						_ = persona.DeclineOID4VP(ctx, httpClient(), req)
					}
					return errors.New("declined: nothing was shared")
				}
			}
			out, err := e.answer(ctx, u, pin, req, !noDerive, keysDir)
			if err != nil {
				return err
			}
			return e.emit(out, func(w io.Writer) {
				if out.Derived {
					fmt.Fprintf(w, "Derived a new persona %s for %s.\n", out.Persona, out.Scope)
				}
				fmt.Fprintf(w, "Shared with %s: accepted.\n", who)
				if out.RedirectURI != "" {
					fmt.Fprintf(w, "Continue in your browser: %s\n", out.RedirectURI)
				}
			})
		},
	}
	cmd.Flags().StringVar(&personaID, "persona", "", "the persona to present (id or scope; it must be for the request's scope)")
	cmd.Flags().StringVar(&keysDir, "keys", "", "proving key directory, for deriving a persona (default $MUSTARD_ZK_KEYS, else WALLET/zk)")
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "share without asking")
	cmd.Flags().BoolVar(&noDerive, "no-derive", false, "fail rather than derive a persona the request needs")
	return cmd
}

// presentJSON is present's --json output.
type presentJSON struct {
	Persona    string   `json:"persona"`
	Scope      string   `json:"scope"`
	Audience   string   `json:"audience"`
	ClientName string   `json:"client_name"`
	Disclosed  []string `json:"disclosed"`
	Derived    bool     `json:"derived"`
	SentTo     string   `json:"sent_to"`
	Accepted   bool     `json:"accepted"`
	// RedirectURI is where an OpenID4VP verifier sends the browser next
	// (same-device flow).
	RedirectURI string `json:"redirect_uri,omitempty"`
}

// covers reports whether rec proves everything req asks a persona to.
func covers(rec *persona.Record, req *verifier.PresentationRequest) bool {
	for _, p := range req.Predicates {
		if !slices.Contains(rec.Predicates, p) {
			return false
		}
	}
	for _, d := range req.Disclose {
		if !slices.Contains(rec.Disclosed, d) {
			return false
		}
	}
	if !persona.Answers(rec, req) {
		return false
	}
	if req.MinGrade != "" {
		want, err1 := zk.ParseGrade(req.MinGrade)
		have, err2 := zk.ParseGrade(rec.Grade)
		if err1 != nil || err2 != nil || have < want {
			return false
		}
	}
	return true
}

// answer finds (or derives) the persona req needs, presents it, sends the
// presentation to req's response URI, and records it in the audit trail.
func (e *walletEnv) answer(ctx context.Context, u *persona.Unlocked, pin []byte, req *verifier.PresentationRequest, derive bool, keysDir string) (*presentJSON, error) {
	if !u.Meta.Revoked.IsZero() {
		return nil, persona.ErrRevokedCore
	}
	if !req.ExpiresAt.IsZero() && time.Now().After(req.ExpiresAt) {
		return nil, errors.New("the presentation request has expired: ask the site for a new one")
	}
	rec, err := u.Persona(req.Scope)
	if err != nil && !errors.Is(err, persona.ErrUnknownPerson) {
		return nil, err
	}
	derived := false
	if rec == nil || !covers(rec, req) {
		if !derive {
			if rec == nil {
				return nil, fmt.Errorf("you have no persona for %s: make one with `mustard wallet persona new --scope %s`", req.Scope, req.Scope)
			}
			if !persona.Answers(rec, req) {
				return nil, fmt.Errorf("%s asks for a device-bound persona and your %s persona is not one: run present without --no-derive", req.Audience, req.Scope)
			}
			return nil, fmt.Errorf("your %s persona does not prove what %s asks (%s): run present without --no-derive", req.Scope, req.Audience, strings.Join(append(append([]string{}, req.Predicates...), req.Disclose...), ", "))
		}
		if !u.Enrolled() {
			return nil, persona.ErrNotEnrolled
		}
		if req.DeviceBound {
			if err := u.Wallet.CanDeriveDeviceBound(); err != nil {
				return nil, fmt.Errorf("%s asks for a device-bound persona, which only a wallet whose core credential is bound to this device's TPM can make (%s): answer from a wallet made with `mustard wallet init` (without --software) on a device with a TPM", req.Audience, strings.TrimPrefix(err.Error(), "persona: "))
			}
		}
		if req.MinGrade != "" {
			want, err := zk.ParseGrade(req.MinGrade)
			if err != nil {
				return nil, fmt.Errorf("the request asks for an unknown grade %q", req.MinGrade)
			}
			if walletGrade(u) < want {
				return nil, fmt.Errorf("%s asks for grade %s; this wallet proves at most %s (a software keystore is a lower grade)", req.Audience, req.MinGrade, zk.GradeName(walletGrade(u)))
			}
		}
		for _, p := range req.Predicates {
			if _, err := persona.ParsePredicate(p, time.Now()); err != nil {
				return nil, fmt.Errorf("the request asks for a predicate the wallet cannot prove: %w", err)
			}
		}
		if rec, _, err = e.derivePersona(ctx, u, pin, deriveSpec{scope: req.Scope, preds: req.Predicates, disclose: req.Disclose, keysDir: keysDir, deviceBound: req.DeviceBound}); err != nil {
			return nil, err
		}
		derived = true
	}
	if !persona.Answers(rec, req) {
		// Never an ordinary persona for a device-bound request.
		return nil, fmt.Errorf("%s asks for a device-bound persona and your %s persona is not one", req.Audience, req.Scope)
	}
	key, err := jwk.ParseKey(rec.Key)
	if err != nil {
		return nil, fmt.Errorf("the key of persona %s is unreadable: %w", rec.ID, err)
	}
	var redirect string
	if req.OID4VP != nil {
		redirect, err = persona.AnswerOID4VP(ctx, httpClient(), req, rec.Credential, key)
	} else {
		err = persona.AnswerRequest(ctx, httpClient(), req, rec.Credential, key)
	}
	outcome := "accepted"
	if err != nil {
		outcome = "refused"
	}
	_ = u.Audit(persona.AuditEntry{Event: "present", Persona: rec.ID, Scope: rec.Scope, Audience: req.Audience, Disclosed: req.RequiredClaims, Outcome: outcome})
	if err != nil {
		return nil, fmt.Errorf("%s refused the presentation: %w", req.Audience, err)
	}
	return &presentJSON{Persona: rec.ID, Scope: rec.Scope, Audience: req.Audience, ClientName: req.ClientName, Disclosed: append([]string{}, req.RequiredClaims...),
		Derived: derived, SentTo: req.ResponseURI, Accepted: true, RedirectURI: redirect}, nil
}

// loadRequest reads a presentation request: a link or URL (fetched), a
// request document, a file holding either, or stdin ("-").
func loadRequest(ctx context.Context, stdin io.Reader, arg string) (*verifier.PresentationRequest, error) {
	text := arg
	switch {
	case arg == "-":
		b, err := io.ReadAll(io.LimitReader(stdin, verifier.MaxRequest+1))
		if err != nil {
			return nil, err
		}
		text = string(b)
	case strings.HasPrefix(arg, "{"), strings.HasPrefix(arg, verifier.DeepLinkScheme+":"), strings.HasPrefix(arg, "https://"), strings.HasPrefix(arg, "http://"),
		strings.HasPrefix(arg, verifier.OID4VPScheme+":"):
	default:
		b, err := readInput(arg, verifier.MaxRequest)
		if err != nil {
			return nil, fmt.Errorf("cannot read the request: %w (give a mustard:// link, an https URL or a file)", err)
		}
		text = string(b)
	}
	text = string(bytes.TrimSpace([]byte(text)))
	var r *verifier.PresentationRequest
	var err error
	if strings.HasPrefix(text, "{") {
		r, err = verifier.ParseRequest([]byte(text))
	} else {
		r, err = persona.FetchRequest(ctx, httpClient(), text)
	}
	if err != nil {
		return nil, fmt.Errorf("bad presentation request: %s: ask the site for a new one", strings.TrimPrefix(err.Error(), "verifier: "))
	}
	return r, nil
}

// clientAuth says how an OpenID4VP client was authenticated.
func clientAuth(clientID string) string {
	switch {
	case strings.HasPrefix(clientID, verifier.PrefixDID):
		return "request signed by a key of " + strings.TrimPrefix(clientID, verifier.PrefixDID) + "'s DID document"
	default:
		return "unsigned request: the answer goes only to this address"
	}
}
