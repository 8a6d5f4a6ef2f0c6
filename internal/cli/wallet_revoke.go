package cli

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/mustard-id/mustard/persona"
)

func newWalletRevokeCmd(e *walletEnv) *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   "revoke --yes",
		Short: "Revoke your core identity at its provider (a lost or compromised device): every persona stops working",
		Long: `Revoke this wallet's core credential at the core-identity provider, for
example because a device holding it was lost. From then on no persona
derived from it verifies. It cannot be undone: you enroll again afterwards.

A wallet in a TPM proves it with its device key (nothing secret leaves the
TPM); a software wallet reveals the retired core secret to the provider
as proof that it holds it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !yes {
				return &usageError{"revoking cannot be undone: pass --yes to revoke your core identity"}
			}
			u, pin, done, err := e.unlock()
			if err != nil {
				return err
			}
			defer done()
			if !u.Enrolled() {
				return persona.ErrNotEnrolled
			}
			if !u.Meta.Revoked.IsZero() {
				return errors.New("this wallet's core identity is already revoked")
			}
			c := &persona.Client{BaseURL: u.Meta.Server, HTTP: httpClient()}
			body, err := u.Wallet.HolderRevocation(cmd.Context(), c, pin)
			if err != nil {
				return keystoreHelp(err)
			}
			if err := c.RevokeCore(cmd.Context(), body); err != nil {
				var pe *persona.ProblemError
				if errors.As(err, &pe) && (pe.Status == http.StatusNotFound || pe.Status == http.StatusMethodNotAllowed) {
					return fmt.Errorf("%s does not offer holder revocation (POST %s): ask the provider to revoke your identity", u.Meta.Server, persona.HolderRevocationPath)
				}
				return fmt.Errorf("the provider refused the revocation: %w", err)
			}
			u.Meta.Revoked = time.Now().UTC().Truncate(time.Second)
			if err := u.SaveMeta(); err != nil {
				return err
			}
			_ = u.Audit(persona.AuditEntry{Event: "revoke", Audience: u.Meta.Server, Outcome: "revoked"})
			return e.emit(struct {
				Revoked bool   `json:"revoked"`
				Server  string `json:"server"`
			}{true, u.Meta.Server}, func(w io.Writer) {
				fmt.Fprintf(w, "Your core identity is revoked at %s: no persona derived from it verifies any more.\n", u.Meta.Server)
			})
		},
	}
	cmd.Flags().BoolVar(&yes, "yes", false, "confirm: revoke the core identity")
	return cmd
}
