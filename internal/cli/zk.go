package cli

import (
	"encoding/json"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/mustard-id/mustard/circuits/persona"
	"github.com/mustard-id/mustard/zk"
)

func newZKCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "zk", Short: "Zero-knowledge circuits and keys"}
	var asJSON bool
	var data string
	info := &cobra.Command{
		Use:   "info",
		Short: "Print each circuit's constraint count and public inputs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ccs, err := zk.Compile(&persona.Circuit{})
			if err != nil {
				return err
			}
			fp, err := zk.Fingerprint(ccs)
			if err != nil {
				return err
			}
			row := map[string]any{"circuit": "persona", "constraints": ccs.GetNbConstraints(), "public_inputs": ccs.GetNbPublicVariables() - 1, "fingerprint": fp, "vk": ""}
			if vk, dev, err := zk.InstalledKey(filepath.Join(data, "zk"), "persona", fp); err == nil {
				row["vk"], row["development"] = vk, dev
			}
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode([]any{row})
			}
			vk := row["vk"].(string)
			if vk == "" {
				vk = "(no keys in " + data + ")"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%-10s %12s %14s  %s\n%-10s %12d %14d  %s\n", "CIRCUIT", "CONSTRAINTS", "PUBLIC INPUTS", "VERIFYING KEY", "persona", row["constraints"], row["public_inputs"], vk)
			return nil
		},
	}
	info.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	info.Flags().StringVar(&data, "data", "./mustard-data", "data directory whose installed keys to show")
	cmd.AddCommand(info)
	return cmd
}
