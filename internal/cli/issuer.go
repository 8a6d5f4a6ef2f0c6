package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/mustard-id/mustard/internal/server"
)

func newIssuerCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "issuer",
		Short: "Operate the persona-credential issuer",
	}
	var data string
	rotate := &cobra.Command{
		Use:   "rotate-key",
		Short: "Put a new issuer signing key in service (the old one stays published until its credentials expire)",
		Long: `Put a new issuer signing key in service. The issuer must be named by its
did:web (an https public URL whose DID the trust framework lists): its keys
are its DID document's. The previous key signs nothing more but stays in the
DID document and the JWKS until every credential it signed has expired. A
running server puts the new key in service within seconds; a stopped one at
its start. The rotation is appended to the transparency log.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			kid, err := server.RotateIssuerKey(cmd.Context(), server.Options{DataDir: data, Progress: progress(cmd.OutOrStdout())})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "new issuer key %s is in service (running servers pick it up within seconds); the previous key stays published until its credentials expire\n", kid)
			return nil
		},
	}
	rotate.Flags().StringVar(&data, "data", "./mustard-data", "data directory")
	cmd.AddCommand(rotate)
	return cmd
}
