package cli

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/mustard-id/mustard/internal/backup"
)

func newBackupCmd() *cobra.Command {
	var data, out string
	cmd := &cobra.Command{
		Use:   "backup",
		Short: "Write a backup of a data directory while the server runs (keys stay sealed)",
		Long: `backup writes the data directory as one file (a gzip'd tar): the SQLite
database as a consistent snapshot (VACUUM INTO, which blocks no writer, so
the server keeps serving), and every other file as it is. Nothing is
decrypted: the key bundle stays sealed under the server's passphrase.
Restore it with ` + "`mustard restore`" + `. With PostgreSQL, this copies the data
directory only: back up the database with pg_dump.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return fmt.Errorf("--out is required")
			}
			if _, err := os.Stat(data); err != nil {
				return fmt.Errorf("cannot read the data directory %s: %v", data, err)
			}
			tmp, err := os.CreateTemp(filepath.Dir(out), ".mustard-backup-*")
			if err != nil {
				return fmt.Errorf("cannot write next to %s: %v", out, err)
			}
			defer os.Remove(tmp.Name())
			sum, err := backup.Create(cmd.Context(), data, tmp)
			if cerr := tmp.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
			if err := os.Rename(tmp.Name(), out); err != nil {
				return err
			}
			st, _ := os.Stat(out)
			what := "no SQLite database (PostgreSQL? back it up with pg_dump)"
			if sum.Database {
				what = "the database as a consistent snapshot"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Wrote %s: %d files, %s; %d bytes (keys sealed, as on disk).\n", out, sum.Files, what, st.Size())
			return nil
		},
	}
	cmd.Flags().StringVar(&data, "data", "./mustard-data", "the data directory to back up")
	cmd.Flags().StringVar(&out, "out", "", "the backup file to write")
	return cmd
}

func newRestoreCmd() *cobra.Command {
	var data, from string
	cmd := &cobra.Command{
		Use:   "restore",
		Short: "Restore a backup into a new data directory",
		Long: `restore unpacks a backup written by ` + "`mustard backup`" + ` into --data, which
must not exist or be empty, and checks the database. Serve it with the
same MUSTARD_PASSPHRASE as the original.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := os.Open(from)
			if err != nil {
				return fmt.Errorf("cannot read the backup: %v", err)
			}
			defer f.Close()
			sum, err := backup.Restore(f, data)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Restored %d files (%d bytes) into %s.\n", sum.Files, sum.Bytes, data)
			return nil
		},
	}
	cmd.Flags().StringVar(&data, "data", "", "the new data directory")
	cmd.Flags().StringVar(&from, "from", "", "the backup file")
	_ = cmd.MarkFlagRequired("data")
	_ = cmd.MarkFlagRequired("from")
	return cmd
}
