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
	var population, base, rounds int
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure a server end to end on this machine: enrollment, proofs, issuance, verification, OIDC sign-ins",
		Long: `bench starts a server on a loopback port and measures it the way its
users meet it, over HTTP with real keys, proofs and signatures. Each phase
is bounded in count and time. It prints a table and writes bench.json and
bench.png to --out.

--data reuses a data directory's circuit keys (the default, a temporary
directory, runs a development setup first: a few seconds).

--population N measures two data directories under --data: base/ with
--base (10,000) core identities and as many revocations, population/ with
N of each (loaded in bulk the first time: the rows and transparency-log
entries enrollments and revocations write; reused after). It measures
them alternately, --rounds times, takes each figure's best per population
and reports its degradation. A million takes a few minutes to load and
about 1 GB of disk.`,
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
			rep, err := bench.Run(cmd.Context(), bench.Options{DataDir: data, Out: w, Quick: quick, Population: population, Base: base, Rounds: rounds})
			if err != nil {
				return fmt.Errorf("the benchmark failed: %w", err)
			}
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintln(tw, "\nfigure\tvalue\tunit\tn\t")
			for _, f := range rep.Figures {
				fmt.Fprintf(tw, "%s\t%.1f\t%s\t%d\t\n", f.Name, f.Value, f.Unit, f.N)
			}
			_ = tw.Flush()
			if len(rep.Scale) > 0 {
				tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
				fmt.Fprintf(tw, "\nfigure (best of %d)\tat %d\tat %d\tunit\tdegradation\t\n", rounds, base, population)
				for _, c := range rep.Scale {
					fmt.Fprintf(tw, "%s\t%.1f\t%.1f\t%s\t%.2fx\t\n", c.Name, c.Small, c.Large, c.Unit, c.Degradation)
				}
				_ = tw.Flush()
			}
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
	cmd.Flags().IntVar(&population, "population", 0, "measure at --base and at this many core identities and revocations (e.g. 1000000)")
	cmd.Flags().IntVar(&base, "base", 10000, "the smaller population of a --population run")
	cmd.Flags().IntVar(&rounds, "rounds", 2, "how many times a --population run measures each population")
	return cmd
}
