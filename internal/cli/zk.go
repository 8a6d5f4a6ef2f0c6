package cli

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/mustard-id/mustard/circuits/persona"
	"github.com/mustard-id/mustard/zk"
)

func newZKCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "zk", Short: "Zero-knowledge circuits and keys"}
	var asJSON bool
	info := &cobra.Command{
		Use:   "info",
		Short: "Print each circuit's constraint count and public inputs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ccs, err := zk.Compile(&persona.Circuit{})
			if err != nil {
				return err
			}
			row := map[string]any{"circuit": "persona", "constraints": ccs.GetNbConstraints(), "public_inputs": ccs.GetNbPublicVariables() - 1}
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode([]any{row})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%-10s %12s %14s\n%-10s %12d %14d\n", "CIRCUIT", "CONSTRAINTS", "PUBLIC INPUTS", "persona", row["constraints"], row["public_inputs"])
			return nil
		},
	}
	info.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.AddCommand(info)
	return cmd
}
