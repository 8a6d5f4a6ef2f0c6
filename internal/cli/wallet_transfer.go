package cli

import (
	"bufio"
	"crypto/rand"
	"encoding/binary"
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
	"github.com/mustard-id/mustard/internal/wallettpm"
	"github.com/mustard-id/mustard/persona"
)

func newWalletTransferCmd(e *walletEnv) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "transfer",
		Short: "Move the wallet to another device, authenticated by a short code",
		Long: `Move the core identity, the personas and the audit trail to another device.

On the old device:  mustard wallet transfer send [--listen ADDR] [--keep]
On the new device:  mustard wallet transfer receive --from ADDR --code CODE [--tpm-sim | --software]

The code shown on the old device is typed on the new one; it authenticates
an X25519 exchange, so only the device that knows it can receive. Both
devices show the same six-digit check: compare them. The core secret is
encrypted end to end and sealed into the new device's keystore; unless
--keep, the old device then deletes its copy.`,
	}
	cmd.AddCommand(newTransferSendCmd(e), newTransferReceiveCmd(e))
	return cmd
}

func newTransferSendCmd(e *walletEnv) *cobra.Command {
	var listen string
	var keep bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "send [--listen ADDR] [--keep]",
		Short: "Send this wallet to a new device",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			u, pin, done, err := e.unlock()
			if err != nil {
				return err
			}
			defer done()
			payload, err := u.TransferPayload(pin)
			if err != nil {
				return keystoreHelp(err)
			}
			defer clear(payload.Secret)
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
			res, err := persona.SendTransfer(conn, code, payload, func(s string) error {
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
			})
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
				Sent    bool   `json:"sent"`
				SAS     string `json:"sas"`
				TPM     bool   `json:"tpm"`
				Removed bool   `json:"removed"`
			}{true, sas, res.TPM, removed}, func(w io.Writer) {
				if res.TPM {
					fmt.Fprintln(w, "Sent, wrapped for the new device's TPM: only that TPM could open it.")
				} else {
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
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Minute, "how long to wait for the new device")
	return cmd
}

func newTransferReceiveCmd(e *walletEnv) *cobra.Command {
	var ks keystoreFlags
	var from, code string
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
			// With a TPM here, the secret comes wrapped for its storage key
			// (TPM2_Import). The importer closes before the keystore opens:
			// the simulator is one per process.
			var imp *wallettpm.Importer
			switch {
			case ks.software:
			case ks.sim:
				var b [8]byte
				_, _ = rand.Read(b[:])
				imp, err = wallettpm.OpenSimulator(int64(binary.BigEndian.Uint64(b[:]) >> 1))
			default:
				dev := ks.device
				if dev == "" {
					dev = keystore.DefaultDevice
				}
				if _, serr := os.Stat(dev); serr != nil {
					return keystoreHelp(fmt.Errorf("%w", keystore.ErrNoTPM))
				}
				imp, err = wallettpm.OpenDevice(dev)
			}
			if err != nil {
				return keystoreHelp(err)
			}
			closeImporter := func() {
				if imp != nil {
					imp.Close()
					imp = nil
				}
			}
			defer closeImporter()
			var sealer keystore.Sealer
			defer func() {
				if sealer != nil {
					sealer.Close()
				}
			}()
			conn, err := net.DialTimeout("tcp", from, 30*time.Second)
			if err != nil {
				return fmt.Errorf("cannot reach the old device at %s: %w", from, err)
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(2 * time.Minute))
			var sas string
			var st *persona.Store
			opts := persona.ReceiveOptions{SAS: func(s string) {
				sas = s
				if !e.json {
					fmt.Fprintf(e.out(), "Check: the old device must show %s.\n", s)
				}
			}}
			viaTPM := imp != nil
			if viaTPM {
				opts.Importer = imp
			}
			err = persona.ReceiveTransfer(conn, code, opts, func(p *persona.TransferPayload) error {
				closeImporter()
				var meta persona.Meta
				var err error
				if sealer, meta, err = ks.open(e); err != nil {
					sealer = nil
					return keystoreHelp(err)
				}
				st, err = persona.RestoreTransfer(e.dir, sealer, pin, p, meta)
				return err
			})
			if err != nil {
				return err
			}
			if u, err := st.Unlock(sealer, pin); err == nil {
				_ = u.Audit(persona.AuditEntry{Event: "transfer", Audience: from, Outcome: "received"})
				u.Close()
			}
			return e.emit(struct {
				Wallet   string `json:"wallet"`
				Keystore string `json:"keystore"`
				SAS      string `json:"sas"`
				TPM      bool   `json:"tpm"`
			}{st.Dir, string(sealer.Kind()), sas, viaTPM}, func(w io.Writer) {
				if viaTPM {
					fmt.Fprintln(w, "The secret arrived wrapped for this TPM and was imported by it.")
				}
				fmt.Fprintf(w, "Received your wallet into %s, sealed by %s.\n", st.Dir, keystoreName(sealer.Kind()))
			})
		},
	}
	ks.register(cmd)
	cmd.Flags().StringVar(&from, "from", "", "the old device's address, as it shows it")
	cmd.Flags().StringVar(&code, "code", "", "the transfer code the old device shows")
	return cmd
}
