package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/mustard-id/mustard/internal/server"
)

func newOIDCCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "oidc",
		Short: "Operate the OpenID Provider",
	}
	var data string
	rotate := &cobra.Command{
		Use:   "rotate-key",
		Short: "Put a new ID token signing key in service (the old one stays published for two hours)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			kid, err := server.RotateOIDCKey(cmd.Context(), server.Options{DataDir: data, Progress: progress(cmd.OutOrStdout())})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "new ID token key %s is in service once the servers restart; the previous key stays in the JWKS for two hours\n", kid)
			return nil
		},
	}
	rotate.Flags().StringVar(&data, "data", "./mustard-data", "data directory")
	cmd.AddCommand(rotate)
	return cmd
}
