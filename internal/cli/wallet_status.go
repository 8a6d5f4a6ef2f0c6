package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mustard-id/mustard/internal/keystore"
	"github.com/mustard-id/mustard/persona"
	"github.com/mustard-id/mustard/zk"
)

type statusJSON struct {
	Wallet         string `json:"wallet"`
	Keystore       string `json:"keystore"`
	HardwareBacked bool   `json:"hardware_backed"`
	Enrolled       bool   `json:"enrolled"`
	Server         string `json:"server"`
	Issuer         string `json:"issuer"`
	Grade          string `json:"grade"`
	CoreExpires    string `json:"core_expires"`
	Revoked        bool   `json:"revoked"`
	Personas       int    `json:"personas"`
	AuditEntries   int    `json:"audit_entries"`
}

func newWalletStatusCmd(e *walletEnv) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show the wallet's state (no PIN needed)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := e.store()
			if err != nil {
				return err
			}
			np, na, err := st.Counts()
			if err != nil {
				return err
			}
			m := st.Meta
			out := statusJSON{Wallet: st.Dir, Keystore: string(m.Keystore), HardwareBacked: m.Keystore.HardwareBacked(), Enrolled: st.Enrolled(),
				Server: m.Server, Issuer: m.Issuer, Grade: m.Grade, CoreExpires: unixTime(m.CoreExpiry), Revoked: !m.Revoked.IsZero(), Personas: np, AuditEntries: na}
			return e.emit(out, func(w io.Writer) {
				rows := [][]string{
					{"wallet", st.Dir},
					{"keystore", keystoreName(m.Keystore)},
				}
				switch {
				case !out.Enrolled:
					rows = append(rows, []string{"enrolled", "no: mustard wallet enroll --credential FILE --server URL"})
				default:
					grade := m.Grade
					if m.Keystore == keystore.KindSoftware && grade == "high" {
						grade += " (personas prove at most substantial: software keystore)"
					}
					rows = append(rows, []string{"enrolled", "yes, with " + m.Server}, []string{"grade", grade}, []string{"core credential", "valid until " + day(m.CoreExpiry)})
					if m.CoreExpiry != 0 && time.Unix(m.CoreExpiry, 0).Before(time.Now()) {
						rows[len(rows)-1][1] = "EXPIRED on " + day(m.CoreExpiry) + ": enroll a new wallet"
					}
				}
				if out.Revoked {
					rows = append(rows, []string{"revoked", "yes, on " + m.Revoked.Format(time.DateOnly)})
				}
				rows = append(rows, []string{"personas", fmt.Sprint(np)}, []string{"audit entries", fmt.Sprint(na)})
				for _, r := range rows {
					r[0] += ":"
				}
				table(w, nil, rows)
			})
		},
	}
}

type credentialJSON struct {
	Kind    string `json:"kind"` // core, persona
	ID      string `json:"id"`
	Issuer  string `json:"issuer"`
	Scope   string `json:"scope,omitempty"`
	Grade   string `json:"grade,omitempty"`
	Format  string `json:"format"`
	Expires string `json:"expires"`
	State   string `json:"state"` // valid, expired, revoked
}

func newWalletCredentialsCmd(e *walletEnv) *cobra.Command {
	return &cobra.Command{
		Use:   "credentials",
		Short: "List the credentials the wallet holds: the core credential and each persona's",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			u, _, done, err := e.unlock()
			if err != nil {
				return err
			}
			defer done()
			now := time.Now()
			state := func(exp int64) string {
				if exp != 0 && time.Unix(exp, 0).Before(now) {
					return "expired"
				}
				return "valid"
			}
			out := struct {
				Credentials []credentialJSON `json:"credentials"`
			}{Credentials: []credentialJSON{}}
			if c := u.Wallet.Core; c != nil {
				s := state(c.Credential.Expiry)
				if !u.Meta.Revoked.IsZero() {
					s = "revoked"
				}
				out.Credentials = append(out.Credentials, credentialJSON{Kind: "core", ID: "core", Issuer: u.Meta.Server, Grade: zk.GradeName(c.Credential.Grade),
					Format: "mustard-core/v1", Expires: unixTime(c.Credential.Expiry), State: s})
			}
			all, err := u.Personas()
			if err != nil {
				return err
			}
			for _, r := range all {
				out.Credentials = append(out.Credentials, credentialJSON{Kind: "persona", ID: r.ID, Issuer: r.Issuer, Scope: r.Scope, Format: r.Format, Expires: unixTime(r.Expiry), State: state(r.Expiry)})
			}
			return e.emit(out, func(w io.Writer) {
				if len(out.Credentials) == 0 {
					fmt.Fprintln(w, "No credentials yet: mustard wallet enroll --credential FILE --server URL")
					return
				}
				var rows [][]string
				for _, c := range out.Credentials {
					exp := "-"
					if c.Expires != "" {
						exp = c.Expires[:10]
					}
					rows = append(rows, []string{c.Kind, c.ID, dash(c.Scope), abbreviate(c.Issuer, 40), exp, c.State})
				}
				table(w, []string{"KIND", "ID", "SCOPE", "ISSUER", "EXPIRES", "STATE"}, rows)
			})
		},
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func abbreviate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}

func newWalletAuditCmd(e *walletEnv) *cobra.Command {
	return &cobra.Command{
		Use:   "audit",
		Short: "Show your own audit trail: which persona was shown to whom, and when",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			u, _, done, err := e.unlock()
			if err != nil {
				return err
			}
			defer done()
			trail, err := u.AuditTrail()
			if err != nil {
				return err
			}
			out := struct {
				Entries []persona.AuditEntry `json:"entries"`
			}{Entries: trail}
			if out.Entries == nil {
				out.Entries = []persona.AuditEntry{}
			}
			return e.emit(out, func(w io.Writer) {
				if len(trail) == 0 {
					fmt.Fprintln(w, "Nothing yet.")
					return
				}
				var rows [][]string
				for _, a := range trail {
					rows = append(rows, []string{a.Time.Local().Format("2006-01-02 15:04:05"), a.Event, dash(a.Scope), dash(abbreviate(a.Audience, 40)), dash(strings.Join(a.Disclosed, ",")), a.Outcome})
				}
				table(w, []string{"WHEN", "WHAT", "PERSONA", "TO", "SHOWN", "OUTCOME"}, rows)
			})
		},
	}
}

func newWalletExportCmd(e *walletEnv) *cobra.Command {
	var outFile string
	cmd := &cobra.Command{
		Use:   "export --out FILE",
		Short: "Write a backup of the wallet (everything stays sealed or encrypted)",
		Long: `Write a backup of the wallet directory as one file. Nothing in it is in
clear: the core secret stays sealed (by the TPM: the backup restores only on
the same TPM, so keep recovery shares too; by the software keystore: it
restores anywhere with the PIN) and the rest stays encrypted under a key
derived from the core secret. Restore with ` + "`mustard wallet import`" + `.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if outFile == "" {
				return &usageError{"export needs --out FILE"}
			}
			st, err := e.store()
			if err != nil {
				return err
			}
			b, n, err := persona.Backup(st)
			if err != nil {
				return err
			}
			if _, err := os.Stat(outFile); err == nil {
				return fmt.Errorf("%s exists: choose another --out", outFile)
			} else if !errors.Is(err, os.ErrNotExist) {
				return err
			}
			if err := os.WriteFile(outFile, b, 0o600); err != nil {
				return err
			}
			return e.emit(struct {
				Out   string `json:"out"`
				Files int    `json:"files"`
				Bytes int    `json:"bytes"`
			}{outFile, n, len(b)}, func(w io.Writer) {
				fmt.Fprintf(w, "Wrote a backup of %d files to %s (%d bytes, nothing in clear).\n", n, outFile, len(b))
			})
		},
	}
	cmd.Flags().StringVar(&outFile, "out", "", "the backup file to write")
	return cmd
}

func newWalletImportCmd(e *walletEnv) *cobra.Command {
	var in string
	cmd := &cobra.Command{
		Use:   "import --backup FILE",
		Short: "Restore a wallet from a backup made by export, into an empty wallet directory",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if in == "" {
				return &usageError{"import needs --backup FILE"}
			}
			b, err := readInput(in, persona.MaxBackup)
			if err != nil {
				return err
			}
			n, err := persona.RestoreBackup(e.dir, b)
			if err != nil {
				return err
			}
			return e.emit(struct {
				Wallet string `json:"wallet"`
				Files  int    `json:"files"`
			}{e.dir, n}, func(w io.Writer) {
				fmt.Fprintf(w, "Restored %d files into %s. Check it with: mustard wallet credentials\n", n, e.dir)
			})
		},
	}
	cmd.Flags().StringVar(&in, "backup", "", "the backup file")
	return cmd
}
