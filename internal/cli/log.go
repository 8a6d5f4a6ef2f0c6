package cli

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mustard-id/mustard/internal/tlog"
)

func newLogCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "log",
		Short: "Audit a Mustard server's transparency log",
	}
	var server, statePath, key string
	verify := &cobra.Command{
		Use:   "verify",
		Short: "Check the log from outside: signed checkpoint, consistency with the last audit, every entry hashed",
		Long: `verify downloads the server's signed checkpoint, checks its signature
against the pinned key, checks that the log only grew since the last audit
(consistency proof), downloads every new entry, recomputes the root from
them, and checks that no entry holds anything but digests. What it has
verified is kept in --state, so the next audit fetches only new entries.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			st := &tlog.AuditState{}
			b, err := os.ReadFile(statePath)
			switch {
			case err == nil:
				if err := json.Unmarshal(b, st); err != nil {
					return fmt.Errorf("the audit state %s is corrupt (%v): move it away to start a fresh audit", statePath, err)
				}
			case !errors.Is(err, os.ErrNotExist):
				return err
			}
			if key != "" && st.VerifierKey != "" && key != st.VerifierKey {
				return fmt.Errorf("--key differs from the key pinned in %s: the log's key changed, which an honest log never does", statePath)
			}
			hc := &http.Client{Timeout: time.Minute}
			if st.VerifierKey == "" {
				st.VerifierKey = key
			}
			if st.VerifierKey == "" {
				k, err := fetchKey(hc, server)
				if err != nil {
					return err
				}
				st.VerifierKey = k
				fmt.Fprintf(out, "pinning the log key %s on first use (pass --key to pin it out of band)\n", k)
			}
			before := st.Size
			cp, err := tlog.Audit(cmd.Context(), hc, server, st)
			if err != nil {
				return fmt.Errorf("the log failed the audit: %v", err)
			}
			if err := writeAtomic(statePath, st); err != nil {
				return err
			}
			fmt.Fprintf(out, "log %s verified: %d entries (%d new since the last audit), root %s\n", cp.Origin, cp.Size, cp.Size-before, hex.EncodeToString(cp.Root))
			return nil
		},
	}
	verify.Flags().StringVar(&server, "server", "http://127.0.0.1:8080", "the server whose log to audit")
	verify.Flags().StringVar(&statePath, "state", "mustard-log-audit.json", "what earlier audits verified (created on the first)")
	verify.Flags().StringVar(&key, "key", "", "the log's verifier key, obtained out of band (default: trust on first use)")
	cmd.AddCommand(verify)
	return cmd
}

func fetchKey(hc *http.Client, server string) (string, error) {
	resp, err := hc.Get(strings.TrimRight(server, "/") + "/v1/log/key")
	if err != nil {
		return "", fmt.Errorf("cannot reach %s: %v", server, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1024))
	if err != nil || resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s does not serve a log key (%s)", server, resp.Status)
	}
	return strings.TrimSpace(string(b)), nil
}

// writeAtomic writes v as JSON to path: a temporary file, synced, renamed.
func writeAtomic(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".audit-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
