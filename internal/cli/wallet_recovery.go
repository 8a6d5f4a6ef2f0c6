package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mustard-id/mustard/persona"
)

func newWalletRecoveryCmd(e *walletEnv) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "recovery",
		Short: "Split the core secret among guardians (k of n) and recover it on a new device",
		Long: `Recovery without a provider holding your secret.

  1. Each guardian makes a key:       mustard wallet recovery guardian-key --out alice.key
     and gives you alice.key.pub.
  2. You split your core secret:      mustard wallet recovery split --guardians 3-of-5 \
                                        --guardian-key alice.key.pub ... --out shares/
     and give share-N.json to guardian N.
  3. On a new device, make a key:     mustard wallet recovery guardian-key --out device.key
     and give device.key.pub to k guardians; each runs
                                      mustard wallet recovery open --share share-N.json \
                                        --guardian-key alice.key --to device.key.pub --out N.json
  4. You restore:                     mustard wallet recovery restore --key device.key \
                                        --share 1.json --share 3.json --share 5.json

A share is never in clear outside a device: it travels encrypted (HPKE with
ML-KEM-768 + X25519) to its guardian, and from the guardian to the new device.`,
	}
	cmd.AddCommand(newRecoveryKeyCmd(e), newRecoverySplitCmd(e), newRecoveryOpenCmd(e), newRecoveryRestoreCmd(e))
	return cmd
}

// writeNew writes a file that must not exist yet.
func writeNew(path string, b []byte, perm os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("%s exists: choose another name, or remove it first", path)
	}
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func newRecoveryKeyCmd(e *walletEnv) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "guardian-key --out FILE",
		Short: "Make a guardian's (or a recovering device's) key: FILE is private, FILE.pub is to hand out",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return &usageError{"guardian-key needs --out FILE"}
			}
			k, err := persona.NewGuardianKey()
			if err != nil {
				return err
			}
			priv, err := k.MarshalPrivate()
			if err != nil {
				return err
			}
			pub, err := k.Public().Marshal()
			if err != nil {
				return err
			}
			if err := writeNew(out, priv, 0o600); err != nil {
				return err
			}
			if err := writeNew(out+".pub", pub, 0o644); err != nil {
				return err
			}
			return e.emit(struct {
				Private string `json:"private"`
				Public  string `json:"public"`
				ID      string `json:"id"`
			}{out, out + ".pub", k.Public().ID()}, func(w io.Writer) {
				fmt.Fprintf(w, "Key %s: keep %s private; hand out %s.\n", k.Public().ID(), out, out+".pub")
			})
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "the private key file to write (the public key goes to FILE.pub)")
	return cmd
}

// parseThreshold parses "k-of-n".
func parseThreshold(s string) (int, int, error) {
	a, b, ok := strings.Cut(s, "-of-")
	k, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || k < 2 || n < k || n > 255 {
		return 0, 0, &usageError{fmt.Sprintf("--guardians %q: write k-of-n with 2 <= k <= n, e.g. 3-of-5", s)}
	}
	return k, n, nil
}

func newRecoverySplitCmd(e *walletEnv) *cobra.Command {
	var threshold, outDir string
	var keys []string
	cmd := &cobra.Command{
		Use:   "split --guardians K-of-N --guardian-key FILE.pub ... --out DIR",
		Short: "Split the core secret into N shares, any K of which recover it, one encrypted to each guardian",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			k, n, err := parseThreshold(threshold)
			if err != nil {
				return err
			}
			if len(keys) != n {
				return &usageError{fmt.Sprintf("%s needs %d --guardian-key files, one per guardian; got %d", threshold, n, len(keys))}
			}
			if outDir == "" {
				return &usageError{"split needs --out DIR for the share files"}
			}
			var pubs []*persona.GuardianPublic
			seen := map[string]bool{}
			for _, f := range keys {
				b, err := readInput(f, 64<<10)
				if err != nil {
					return err
				}
				p, err := persona.ParseGuardianPublic(b)
				if err != nil {
					return fmt.Errorf("%s: %w", f, err)
				}
				if seen[p.ID()] {
					return fmt.Errorf("%s: the same guardian key twice: each guardian holds one share", f)
				}
				seen[p.ID()] = true
				pubs = append(pubs, p)
			}
			u, pin, done, err := e.unlock()
			if err != nil {
				return err
			}
			defer done()
			shares, err := u.Split(pin, k, pubs)
			if err != nil {
				return keystoreHelp(err)
			}
			if err := os.MkdirAll(outDir, 0o700); err != nil {
				return err
			}
			var files []string
			for i, s := range shares {
				b, err := s.Marshal()
				if err != nil {
					return err
				}
				p := filepath.Join(outDir, fmt.Sprintf("share-%d.json", i+1))
				if err := writeNew(p, b, 0o600); err != nil {
					return err
				}
				files = append(files, p)
			}
			_ = u.Audit(persona.AuditEntry{Event: "recovery", Audience: fmt.Sprintf("%d guardians", n), Outcome: "split " + threshold})
			return e.emit(struct {
				Threshold int      `json:"threshold"`
				Count     int      `json:"count"`
				Shares    []string `json:"shares"`
			}{k, n, files}, func(w io.Writer) {
				fmt.Fprintf(w, "Split your core secret into %d shares; any %d recover it.\n", n, k)
				for i, f := range files {
					fmt.Fprintf(w, "  %s  → guardian %s (%s)\n", f, pubs[i].ID(), keys[i])
				}
			})
		},
	}
	cmd.Flags().StringVar(&threshold, "guardians", "", "how many guardians of how many, e.g. 3-of-5")
	cmd.Flags().StringArrayVar(&keys, "guardian-key", nil, "a guardian's public key file (repeat, one per guardian)")
	cmd.Flags().StringVar(&outDir, "out", "", "directory for the share files")
	return cmd
}

func newRecoveryOpenCmd(e *walletEnv) *cobra.Command {
	var shareFile, keyFile, toFile, out string
	cmd := &cobra.Command{
		Use:   "open --share FILE --guardian-key FILE --to DEVICE.pub --out FILE",
		Short: "(guardian) Open your share and re-encrypt it to the recovering device's key",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if shareFile == "" || keyFile == "" || toFile == "" || out == "" {
				return &usageError{"open needs --share, --guardian-key (yours, private), --to (the device's .pub) and --out"}
			}
			share, err := readShare(shareFile)
			if err != nil {
				return err
			}
			b, err := readInput(keyFile, 64<<10)
			if err != nil {
				return err
			}
			gk, err := persona.ParseGuardianPrivate(b)
			if err != nil {
				return fmt.Errorf("%s: %w", keyFile, err)
			}
			b, err = readInput(toFile, 64<<10)
			if err != nil {
				return err
			}
			to, err := persona.ParseGuardianPublic(b)
			if err != nil {
				return fmt.Errorf("%s: %w", toFile, err)
			}
			re, err := share.Reencrypt(gk, to)
			if err != nil {
				return err
			}
			rb, err := re.Marshal()
			if err != nil {
				return err
			}
			if err := writeNew(out, rb, 0o600); err != nil {
				return err
			}
			return e.emit(struct {
				Out string `json:"out"`
				To  string `json:"to"`
			}{out, to.ID()}, func(w io.Writer) {
				fmt.Fprintf(w, "Share %d re-encrypted to device key %s in %s: give it to the person recovering.\n", share.X, to.ID(), out)
			})
		},
	}
	cmd.Flags().StringVar(&shareFile, "share", "", "the share file you keep")
	cmd.Flags().StringVar(&keyFile, "guardian-key", "", "your private guardian key file")
	cmd.Flags().StringVar(&toFile, "to", "", "the recovering device's public key file")
	cmd.Flags().StringVar(&out, "out", "", "the re-encrypted share file to write")
	return cmd
}

func readShare(path string) (*persona.SealedShare, error) {
	b, err := readInput(path, 64<<10)
	if err != nil {
		return nil, err
	}
	s, err := persona.ParseSealedShare(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

func newRecoveryRestoreCmd(e *walletEnv) *cobra.Command {
	var ks keystoreFlags
	var keyFile string
	var shareFiles []string
	cmd := &cobra.Command{
		Use:   "restore --key DEVICE_KEY --share FILE ... [--tpm-sim | --software]",
		Short: "Recover the core secret from guardians' shares into a new wallet on this device",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if keyFile == "" || len(shareFiles) == 0 {
				return &usageError{"restore needs --key (this device's private key) and the guardians' --share files"}
			}
			if _, err := e.store(); err == nil {
				return persona.ErrWalletExists
			}
			b, err := readInput(keyFile, 64<<10)
			if err != nil {
				return err
			}
			dk, err := persona.ParseGuardianPrivate(b)
			if err != nil {
				return fmt.Errorf("%s: %w", keyFile, err)
			}
			var shares []*persona.SealedShare
			for _, f := range shareFiles {
				s, err := readShare(f)
				if err != nil {
					return err
				}
				shares = append(shares, s)
			}
			secret, kit, check, err := persona.Recover(shares, dk)
			if err != nil {
				return fmt.Errorf("%w: ask more guardians for their shares", err)
			}
			defer clear(secret)
			sealer, meta, err := ks.open(e)
			if err != nil {
				return keystoreHelp(err)
			}
			defer sealer.Close()
			pin, err := e.pin(true)
			if err != nil {
				return err
			}
			defer clear(pin)
			st, err := persona.RestoreStore(e.dir, sealer, pin, secret, kit, check, meta)
			if err != nil {
				return err
			}
			if u, err := st.Unlock(sealer, pin); err == nil {
				_ = u.Audit(persona.AuditEntry{Event: "recovery", Outcome: fmt.Sprintf("restored from %d shares", len(shares))})
				u.Close()
			}
			return e.emit(struct {
				Wallet   string `json:"wallet"`
				Keystore string `json:"keystore"`
				Shares   int    `json:"shares"`
			}{st.Dir, string(sealer.Kind()), len(shares)}, func(w io.Writer) {
				fmt.Fprintf(w, "Recovered your core identity into %s, sealed by %s.\n", st.Dir, keystoreName(sealer.Kind()))
				fmt.Fprintln(w, "Derive your personas again with mustard wallet persona new --scope SITE: they keep their pseudonyms.")
			})
		},
	}
	ks.register(cmd)
	cmd.Flags().StringVar(&keyFile, "key", "", "this device's private key file (made with guardian-key)")
	cmd.Flags().StringArrayVar(&shareFiles, "share", nil, "a share re-encrypted to this device (repeat)")
	return cmd
}
