// Package cli is the mustard command tree. Every command is built by a
// constructor from its output streams (no package-level flag variables), so
// tests run commands in-process.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
)

// NewRootCmd returns the mustard command tree writing to stdout and stderr.
func NewRootCmd(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "mustard",
		Short:         "Mustard: a decentralized identity provider with zero-knowledge personas",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newServeCmd(), newDemoCmd(), newZKCmd(), newCeremonyCmd())
	root.AddCommand(newOIDCCmd(), newLogCmd(), newBenchCmd(), newWalletCmd(), newDevCmd(), newFrameworkCmd())
	root.AddCommand(newIssuerCmd())
	root.AddCommand(newBackupCmd(), newRestoreCmd())
	return root
}

// Main runs the command line and returns the exit code. Errors are printed
// as one line saying what was wrong and how to fix it.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) (code int) {
	defer func() {
		if v := recover(); v != nil {
			fmt.Fprintf(stderr, "mustard: internal error: %v (please report it)\n", v)
			code = 70
		}
	}()
	root := NewRootCmd(stdout, stderr)
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(stderr, "mustard: "+oneLine(err))
		var u *usageError
		if errors.As(err, &u) {
			return 2
		}
		return 1
	}
	return 0
}

// usageError is a mistake in the command line.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}
