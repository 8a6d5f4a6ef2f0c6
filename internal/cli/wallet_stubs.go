package cli

import "github.com/spf13/cobra"

func newWalletTransferCmd(e *walletEnv) *cobra.Command { return &cobra.Command{Use: "transfer"} }
func newWalletUICmd(e *walletEnv) *cobra.Command       { return &cobra.Command{Use: "ui"} }
