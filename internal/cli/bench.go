package cli

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/mustard-id/mustard/internal/bench"
)

func newBenchCmd() *cobra.Command {
	var data, out string
	var quick bool
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure a server end to end on this machine: enrollment, proofs, issuance, verification, OIDC sign-ins",
		Long: `bench starts a server on a loopback port and measures it the way its
users meet it, over HTTP with real keys, proofs and signatures. Each phase
is bounded in count and time. It prints a table and writes bench.json and
bench.png to --out.

--data reuses a data directory's circuit keys (the default, a temporary
directory, runs a development setup first: a few seconds).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			w := cmd.OutOrStdout()
			prev := slog.Default()
			slog.SetDefault(slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn})))
			defer slog.SetDefault(prev)
			if data == "" {
				dir, err := os.MkdirTemp("", "mustard-bench-")
				if err != nil {
					return err
				}
				defer os.RemoveAll(dir)
				data = dir
			}
			if err := os.MkdirAll(out, 0o755); err != nil {
				return fmt.Errorf("cannot create --out %s: %v", out, err)
			}
			fmt.Fprintln(w, "mustard bench: starting a server on a loopback port")
			rep, err := bench.Run(cmd.Context(), bench.Options{DataDir: data, Out: w, Quick: quick})
			if err != nil {
				return fmt.Errorf("the benchmark failed: %w", err)
			}
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintln(tw, "\nfigure\tvalue\tunit\tn\t")
			for _, f := range rep.Figures {
				fmt.Fprintf(tw, "%s\t%.1f\t%s\t%d\t\n", f.Name, f.Value, f.Unit, f.N)
			}
			_ = tw.Flush()
			jsonPath, pngPath := filepath.Join(out, "bench.json"), filepath.Join(out, "bench.png")
			if err := rep.WriteJSON(jsonPath); err != nil {
				return err
			}
			if err := rep.WritePNG(pngPath); err != nil {
				return err
			}
			fmt.Fprintf(w, "\nwrote %s and %s (%.0f s)\n", jsonPath, pngPath, rep.Duration)
			return nil
		},
	}
	cmd.Flags().StringVar(&data, "data", "", "data directory whose circuit keys to reuse (default: a temporary one)")
	cmd.Flags().StringVar(&out, "out", ".", "where to write bench.json and bench.png")
	cmd.Flags().BoolVar(&quick, "quick", false, "a small run (seconds), for a smoke test")
	return cmd
}
