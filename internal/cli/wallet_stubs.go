package cli

import "github.com/spf13/cobra"

func newWalletUICmd(e *walletEnv) *cobra.Command { return &cobra.Command{Use: "ui"} }
