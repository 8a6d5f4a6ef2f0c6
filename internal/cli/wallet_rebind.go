package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/mustard-id/mustard/persona"
)

func newWalletRebindCmd(e *walletEnv) *cobra.Command {
	return &cobra.Command{
		Use:   "rebind",
		Short: "Bind the core credential to this device after a transfer (the old device's credential is revoked)",
		Long: `After mustard wallet transfer, the core credential still names the old
device's key. transfer receive rebinds it at the provider at once; if the
provider could not be reached then, rebind does it later, within a day
of the transfer: this device's TPM is attested, the old device's signed
authorization is presented, and the provider issues the credential bound
to this device and revokes the old one, so that the old device can no
longer derive personas.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			u, pin, done, err := e.unlock()
			if err != nil {
				return err
			}
			defer done()
			if !u.RebindPending() {
				return persona.ErrNoRebind
			}
			if err := rebindWallet(cmd.Context(), u, pin); err != nil {
				return err
			}
			return e.emit(struct {
				Rebound bool   `json:"rebound"`
				Server  string `json:"server"`
			}{true, u.Meta.Server}, func(w io.Writer) {
				fmt.Fprintf(w, "The core credential is bound to this device at %s; the old device's is revoked.\n", u.Meta.Server)
			})
		},
	}
}

// rebindWallet runs the pending rebinding against the wallet's provider.
func rebindWallet(ctx context.Context, u *persona.Unlocked, pin []byte) error {
	c, fw, err := walletFramework(ctx, u)
	if err != nil {
		return err
	}
	if err := u.Rebind(ctx, c, fw, pin); err != nil {
		return err
	}
	_ = u.Audit(persona.AuditEntry{Event: "rebind", Audience: u.Meta.Server, Outcome: "rebound"})
	return nil
}
