package cli

import (
	"bufio"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/mustard-id/mustard/internal/keystore"
	"github.com/mustard-id/mustard/persona"
)

func newWalletTransferCmd(e *walletEnv) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "transfer",
		Short: "Move the wallet to another device, authenticated by a short code",
		Long: `Move the core identity, the personas and the audit trail to another device.

On the old device:  mustard wallet transfer send --tpm-ek-roots FILE [--listen ADDR] [--keep]
On the new device:  mustard wallet transfer receive --from ADDR --code CODE [--tpm-sim | --software]

The code shown on the old device is typed on the new one; it authenticates
an X25519 exchange, so only the device that knows it can receive. Both
devices show the same six-digit check: compare them. The new device's TPM
proves its storage key genuine (EK certificate chained to --tpm-ek-roots,
credential activation, TPM2_Certify); the old device's TPM then duplicates
the core secret to that key (TPM2_Duplicate), so it is never in clear on
the way. A receiver that cannot be attested is refused unless
--allow-unattested-receiver. Unless --keep, the old device then deletes
its copy.`,
	}
	cmd.AddCommand(newTransferSendCmd(e), newTransferReceiveCmd(e))
	return cmd
}

func newTransferSendCmd(e *walletEnv) *cobra.Command {
	var listen, roots string
	var keep, allowUnattested bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "send [--listen ADDR] [--keep]",
		Short: "Send this wallet to a new device",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var ekRoots *x509.CertPool
			switch {
			case roots != "":
				b, err := os.ReadFile(roots)
				if err != nil {
					return fmt.Errorf("cannot read --tpm-ek-roots: %w", err)
				}
				ekRoots = x509.NewCertPool()
				if !ekRoots.AppendCertsFromPEM(b) {
					return &usageError{"--tpm-ek-roots holds no PEM certificate"}
				}
			case allowUnattested:
				e.warn("--allow-unattested-receiver: the new device's TPM is not checked; the core secret's safety rests on the code alone")
			default:
				return &usageError{"send needs --tpm-ek-roots FILE (the TPM manufacturers' root CAs, to check the new device's TPM) or --allow-unattested-receiver"}
			}
			u, pin, done, err := e.unlock()
			if err != nil {
				return err
			}
			defer done()
			// Migration: a TPM wallet sealed before duplicable sealing is
			// re-sealed duplicable now, so that its TPM can duplicate it.
			wasDup := u.Duplicable()
			dup, err := u.MakeDuplicable(pin)
			if err != nil {
				return keystoreHelp(err)
			}
			if dup && !wasDup {
				e.say("The core secret was re-sealed as a duplicable TPM object (once, for transfers).")
			}
			payload, err := u.TransferFiles()
			if err != nil {
				return keystoreHelp(err)
			}
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return fmt.Errorf("cannot listen on %s: %w (choose another --listen address)", listen, err)
			}
			defer ln.Close()
			code := persona.NewTransferCode()
			addr := ln.Addr().String()
			if e.json {
				_ = json.NewEncoder(e.out()).Encode(struct {
					Code    string `json:"code"`
					Address string `json:"address"`
				}{code, addr})
			} else {
				fmt.Fprintf(e.out(), "Transfer code: %s\n", code)
				fmt.Fprintf(e.out(), "On the new device run:\n  mustard wallet transfer receive --from %s --code %s\n", addr, code)
				fmt.Fprintf(e.out(), "Waiting %s for it…\n", timeout)
			}
			if tl, ok := ln.(*net.TCPListener); ok {
				_ = tl.SetDeadline(time.Now().Add(timeout))
			}
			conn, err := ln.Accept()
			if err != nil {
				return fmt.Errorf("no device connected within %s: run transfer send again", timeout)
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(2 * time.Minute))
			// One attempt per code: whatever happens, the listener closes.
			ln.Close()
			var sas string
			res, err := persona.SendTransferWith(conn, code, payload, persona.SendOptions{
				Secret:          u.SecretFunc(pin),
				Duplicate:       u.DuplicateFunc(pin),
				EKRoots:         ekRoots,
				AllowUnattested: allowUnattested,
				Rebind:          u.RebindFunc(),
				SAS: func(s string) error {
					sas = s
					if !e.json {
						fmt.Fprintf(e.out(), "Check: the new device must show %s.\n", s)
					}
					if cmd.InOrStdin() == os.Stdin && term.IsTerminal(int(os.Stdin.Fd())) {
						fmt.Fprint(e.errw(), "Does it? [y/N] ")
						line, _ := bufio.NewReader(os.Stdin).ReadString('\n')
						if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
							return errors.New("the checks differ or were not confirmed: nothing was sent")
						}
					}
					return nil
				}})
			outcome := "sent"
			if err != nil {
				outcome = "failed"
			}
			_ = u.Audit(persona.AuditEntry{Event: "transfer", Audience: conn.RemoteAddr().String(), Outcome: outcome})
			if err != nil {
				return err
			}
			removed := false
			if !keep {
				if err := u.Retire(); err != nil {
					return fmt.Errorf("the wallet was sent, but removing it here failed: %w (remove %s yourself)", err, u.Dir)
				}
				removed = true
			}
			return e.emit(struct {
				Sent       bool   `json:"sent"`
				SAS        string `json:"sas"`
				TPM        bool   `json:"tpm"`
				Duplicated bool   `json:"duplicated"`
				Attested   bool   `json:"attested"`
				Removed    bool   `json:"removed"`
			}{true, sas, res.TPM, res.Duplicated, res.Attested, removed}, func(w io.Writer) {
				switch {
				case res.Duplicated:
					fmt.Fprintln(w, "Sent: this TPM duplicated the secret for the new device's TPM; it was never in clear on the way.")
				case res.TPM:
					fmt.Fprintln(w, "Sent, wrapped for the new device's TPM: only that TPM could open it.")
				default:
					fmt.Fprintln(w, "Sent.")
				}
				fmt.Fprintln(w, "The new device holds your wallet now.")
				if removed {
					fmt.Fprintln(w, "This device's copy is deleted.")
				}
			})
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:0", "address to wait on (use the LAN address to reach another machine)")
	cmd.Flags().BoolVar(&keep, "keep", false, "keep this device's copy (default: delete it once the new device has the wallet)")
	cmd.Flags().StringVar(&roots, "tpm-ek-roots", "", "PEM file of the TPM manufacturers' root CAs the new device's EK certificate must chain to")
	cmd.Flags().BoolVar(&allowUnattested, "allow-unattested-receiver", false, "send to a device whose TPM is not attested, or that has none (the code alone protects the secret)")
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Minute, "how long to wait for the new device")
	return cmd
}

func newTransferReceiveCmd(e *walletEnv) *cobra.Command {
	var ks keystoreFlags
	var from, code, simEKCA string
	cmd := &cobra.Command{
		Use:   "receive --from ADDR --code CODE [--tpm-sim | --software]",
		Short: "Receive a wallet from the old device into a new wallet here",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if from == "" || code == "" {
				return &usageError{"receive needs --from ADDR and --code CODE, as the old device shows them"}
			}
			if _, err := e.store(); err == nil {
				return persona.ErrWalletExists
			}
			if ks.sim && ks.software {
				return &usageError{"--tpm-sim and --software exclude each other: choose one"}
			}
			pin, err := e.pin(true)
			if err != nil {
				return err
			}
			defer clear(pin)
			if simEKCA != "" && !ks.sim {
				return &usageError{"--tpm-sim-ek-ca goes with --tpm-sim"}
			}
			// With a TPM here, it proves its storage key genuine and the
			// secret arrives duplicated (or wrapped) for that key.
			sealer, meta, err := ks.open(e)
			if err != nil {
				return keystoreHelp(err)
			}
			defer sealer.Close()
			tpm, viaTPM := sealer.(*keystore.TPM)
			if simEKCA != "" {
				if err := simulatorEKCertificate(tpm, simEKCA); err != nil {
					return err
				}
			}
			conn, err := net.DialTimeout("tcp", from, 30*time.Second)
			if err != nil {
				return fmt.Errorf("cannot reach the old device at %s: %w", from, err)
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(2 * time.Minute))
			var sas string
			var st *persona.Store
			opts := persona.ReceiveOptions{PIN: pin, SAS: func(s string) {
				sas = s
				if !e.json {
					fmt.Fprintf(e.out(), "Check: the old device must show %s.\n", s)
				}
			}}
			if viaTPM {
				opts.TPM = tpm
			}
			duplicated := false
			err = persona.ReceiveTransfer(conn, code, opts, func(p *persona.TransferPayload) error {
				duplicated = len(p.Sealed) > 0
				var err error
				st, err = persona.RestoreTransfer(e.dir, sealer, pin, p, meta)
				return err
			})
			if err != nil {
				return err
			}
			// The core credential still names the old device's key: rebind
			// it to this device at the provider (the old one is revoked).
			rebound, rebindErr := false, error(nil)
			if u, err := st.Unlock(sealer, pin); err == nil {
				_ = u.Audit(persona.AuditEntry{Event: "transfer", Audience: from, Outcome: "received"})
				if u.RebindPending() {
					if rebindErr = rebindWallet(cmd.Context(), u, pin); rebindErr == nil {
						rebound = true
					} else {
						e.warn("the core credential is still bound to the old device (%v): run mustard wallet rebind within a day", rebindErr)
					}
				}
				u.Close()
			}
			return e.emit(struct {
				Wallet     string `json:"wallet"`
				Keystore   string `json:"keystore"`
				SAS        string `json:"sas"`
				TPM        bool   `json:"tpm"`
				Duplicated bool   `json:"duplicated"`
				Rebound    bool   `json:"rebound"`
			}{st.Dir, string(sealer.Kind()), sas, viaTPM, duplicated, rebound}, func(w io.Writer) {
				switch {
				case duplicated:
					fmt.Fprintln(w, "The secret arrived duplicated by the old device's TPM for this one, which imported it under your PIN.")
				case viaTPM:
					fmt.Fprintln(w, "The secret arrived wrapped for this TPM and was imported by it.")
				}
				fmt.Fprintf(w, "Received your wallet into %s, sealed by %s.\n", st.Dir, keystoreName(sealer.Kind()))
				if rebound {
					fmt.Fprintln(w, "The core credential is bound to this device now; the old device's is revoked.")
				}
			})
		},
	}
	ks.register(cmd)
	cmd.Flags().StringVar(&from, "from", "", "the old device's address, as it shows it")
	cmd.Flags().StringVar(&code, "code", "", "the transfer code the old device shows")
	cmd.Flags().StringVar(&simEKCA, "tpm-sim-ek-ca", "", "development: PEM file with a CA certificate and its key that issues the simulator an EK certificate, standing in for a TPM manufacturer")
	_ = cmd.Flags().MarkHidden("tpm-sim-ek-ca")
	return cmd
}
