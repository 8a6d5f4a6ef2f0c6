package cli

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/mustard-id/mustard/internal/keystore"
	"github.com/mustard-id/mustard/persona"
)

// walletEnv is what every wallet subcommand shares: the wallet directory,
// the output mode and the streams.
type walletEnv struct {
	dir     string
	json    bool
	pinFile string
	cmd     *cobra.Command
}

func newWalletCmd() *cobra.Command {
	env := &walletEnv{}
	cmd := &cobra.Command{
		Use:   "wallet",
		Short: "The holder's wallet: enroll, derive personas, present them, recover",
		Long: `The holder's wallet keeps the core secret sealed in the TPM (or a software
keystore), the core credential, the personas and their credentials, and
an audit trail of what was shown to whom. Everything but wallet.json is
encrypted at rest.

The wallet lives in --wallet DIR, else $MUSTARD_WALLET, else
$XDG_DATA_HOME/mustard/wallet. The PIN comes from $MUSTARD_PIN, --pin-file,
or a prompt.`,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			env.cmd = cmd
			if env.dir == "" {
				d, err := persona.DefaultDir()
				if err != nil {
					return err
				}
				env.dir = d
			}
			return nil
		},
	}
	f := cmd.PersistentFlags()
	f.StringVar(&env.dir, "wallet", "", "wallet directory (default $MUSTARD_WALLET or $XDG_DATA_HOME/mustard/wallet)")
	f.BoolVar(&env.json, "json", false, "print JSON for scripts instead of text")
	f.StringVar(&env.pinFile, "pin-file", "", "read the PIN from this file (default $MUSTARD_PIN, or a prompt)")
	cmd.AddCommand(
		newWalletInitCmd(env), newWalletEnrollCmd(env), newWalletPersonaCmd(env),
		newWalletCredentialsCmd(env), newWalletPresentCmd(env), newWalletRevokeCmd(env),
		newWalletStatusCmd(env), newWalletAuditCmd(env), newWalletExportCmd(env),
		newWalletImportCmd(env), newWalletRecoveryCmd(env), newWalletTransferCmd(env), newWalletUICmd(env),
		newWalletCommunityCmd(env),
	)
	cmd.AddCommand(newWalletRebindCmd(env))
	return cmd
}

func (e *walletEnv) out() io.Writer  { return e.cmd.OutOrStdout() }
func (e *walletEnv) errw() io.Writer { return e.cmd.ErrOrStderr() }

// say prints human output (nothing in --json mode).
func (e *walletEnv) say(format string, args ...any) {
	if !e.json {
		fmt.Fprintf(e.out(), format+"\n", args...)
	}
}

// warn prints a warning to stderr, in every mode.
func (e *walletEnv) warn(format string, args ...any) {
	fmt.Fprintf(e.errw(), "warning: "+format+"\n", args...)
}

// emit prints v as indented JSON in --json mode; human, if not nil, prints
// the text form otherwise.
func (e *walletEnv) emit(v any, human func(w io.Writer)) error {
	if e.json {
		enc := json.NewEncoder(e.out())
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	if human != nil {
		human(e.out())
	}
	return nil
}

// table prints aligned columns.
func table(w io.Writer, header []string, rows [][]string) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if header != nil {
		fmt.Fprintln(tw, strings.Join(header, "\t"))
	}
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	tw.Flush()
}

// store opens the wallet directory.
func (e *walletEnv) store() (*persona.Store, error) {
	return persona.OpenStore(e.dir)
}

// maxPIN bounds a PIN read from a file or the terminal.
const maxPIN = 1024

// pin reads the PIN: $MUSTARD_PIN, else --pin-file, else a prompt on the
// terminal (twice when confirm).
func (e *walletEnv) pin(confirm bool) ([]byte, error) {
	if p := os.Getenv("MUSTARD_PIN"); p != "" {
		return []byte(p), nil
	}
	if e.pinFile != "" {
		f, err := os.Open(e.pinFile)
		if err != nil {
			return nil, fmt.Errorf("cannot read the PIN file: %w", err)
		}
		defer f.Close()
		line, err := bufio.NewReader(io.LimitReader(f, maxPIN)).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("cannot read the PIN file: %w", err)
		}
		p := strings.TrimRight(line, "\r\n")
		if p == "" {
			return nil, fmt.Errorf("the PIN file %s is empty: write the PIN on its first line", e.pinFile)
		}
		return []byte(p), nil
	}
	fd := int(os.Stdin.Fd())
	if e.cmd.InOrStdin() != os.Stdin || !term.IsTerminal(fd) {
		return nil, errors.New("no PIN: set MUSTARD_PIN, pass --pin-file FILE, or run in a terminal to be asked")
	}
	ask := func(prompt string) ([]byte, error) {
		fmt.Fprint(e.errw(), prompt)
		p, err := term.ReadPassword(fd)
		fmt.Fprintln(e.errw())
		return p, err
	}
	p, err := ask("Wallet PIN: ")
	if err != nil {
		return nil, err
	}
	if confirm {
		again, err := ask("Again, to confirm: ")
		if err != nil {
			return nil, err
		}
		if string(again) != string(p) {
			return nil, errors.New("the two PINs differ: run the command again")
		}
	}
	if len(p) == 0 {
		return nil, errors.New("empty PIN: choose a PIN of at least 4 characters")
	}
	return p, nil
}

// unlock opens the wallet's keystore and unseals it with the PIN. done
// closes both and forgets the PIN, which the caller may use until then.
func (e *walletEnv) unlock() (u *persona.Unlocked, pin []byte, done func(), err error) {
	st, err := e.store()
	if err != nil {
		return nil, nil, nil, err
	}
	pin, err = e.pin(false)
	if err != nil {
		return nil, nil, nil, err
	}
	sealer, err := st.OpenSealer()
	if err != nil {
		clear(pin)
		return nil, nil, nil, keystoreHelp(err)
	}
	u, err = st.Unlock(sealer, pin)
	if err != nil {
		clear(pin)
		sealer.Close()
		return nil, nil, nil, keystoreHelp(err)
	}
	return u, pin, func() { u.Close(); sealer.Close(); clear(pin) }, nil
}

// keystoreHelp turns keystore errors into what the person should do.
func keystoreHelp(err error) error {
	switch {
	case errors.Is(err, keystore.ErrWrongPIN):
		return errors.New("wrong PIN: try again (on a TPM, repeated failures lock the wallet for a while)")
	case errors.Is(err, keystore.ErrLockedOut):
		return errors.New("the TPM is locked out after too many wrong PINs: wait for its lockout to pass, then try again")
	case errors.Is(err, keystore.ErrWrongDevice):
		return errors.New("this wallet's core secret was sealed by another TPM: move it with `mustard wallet transfer` or restore it with `mustard wallet recovery restore`")
	case errors.Is(err, keystore.ErrNoTPM):
		return errors.New("no TPM found: pass --tpm-sim for the TPM simulator (development), or --software for a software keystore (lower grade)")
	case errors.Is(err, keystore.ErrSimulatorBusy):
		return errors.New("the TPM simulator is in use by this process: close the other wallet first")
	}
	return err
}

// httpClient is the client for every wallet call to a server.
func httpClient() *http.Client { return &http.Client{Timeout: 2 * time.Minute} }

// withProgress runs f and, while it takes longer than a second, prints a
// line per second to stderr.
func (e *walletEnv) withProgress(label string, f func() error) error {
	done := make(chan struct{})
	finished := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(finished)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				fmt.Fprintf(e.errw(), "  %s… %.0fs\n", label, time.Since(start).Seconds())
			}
		}
	}()
	err := f()
	close(done)
	<-finished
	return err
}

// readInput reads a file named on the command line, bounded.
func readInput(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, limit)
	}
	return b, nil
}

func unixTime(sec int64) string {
	if sec == 0 {
		return ""
	}
	return time.Unix(sec, 0).UTC().Format(time.RFC3339)
}

func day(sec int64) string {
	if sec == 0 {
		return "-"
	}
	return time.Unix(sec, 0).UTC().Format(time.DateOnly)
}
