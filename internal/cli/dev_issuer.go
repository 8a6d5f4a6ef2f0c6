package cli

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/skip2/go-qrcode"
	"github.com/spf13/cobra"

	"github.com/mustard-id/mustard/internal/devsource"
	"github.com/mustard-id/mustard/internal/server"
)

// newDevIssuerCmd serves the sample government issuer over OpenID4VCI and
// prints a credential offer for a fresh person (issue #7).
func newDevIssuerCmd() *cobra.Command {
	var data, addr, birth, nationality, given, family string
	var txCode, qr bool
	cmd := &cobra.Command{
		Use:   "issuer",
		Short: "Serve the sample government issuer over OpenID4VCI and print a credential offer",
		Long: `issuer serves the development framework's sample government issuer as an
OpenID for Verifiable Credential Issuance credential issuer on --addr
(loopback), makes a credential offer (pre-authorized code, single use, ten
minutes) for a fresh person, and prints its URL (and with --qr its QR
code). Give it to mustard wallet enroll --offer URL --server URL.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := os.Stat(filepath.Join(data, "mustard.db")); err != nil {
				return fmt.Errorf("no data directory at %s: start mustard serve once first, or pass --data", data)
			}
			if _, err := time.Parse(time.DateOnly, birth); err != nil {
				return fmt.Errorf("--birthdate %q is not YYYY-MM-DD", birth)
			}
			srv, err := server.Open(cmd.Context(), server.Options{DataDir: data})
			if err != nil {
				return err
			}
			defer srv.Close()
			if srv.SampleSource == nil || srv.Framework.ID != "urn:mustard:framework:development" {
				return errors.New("this data directory's framework is not a development one: it has no sample issuer")
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("cannot listen on %s: %v (choose another with --addr)", addr, err)
			}
			defer ln.Close()
			svc, err := devsource.New("http://"+ln.Addr().String(), server.SampleSourceID, srv.SampleSource, srv.Store)
			if err != nil {
				return err
			}
			nat := strings.ToUpper(nationality)
			res, err := devsource.Offer(cmd.Context(), svc, devsource.Person{
				PersonalNumber: fmt.Sprintf("DEV-%d", time.Now().UnixNano()), BirthDate: birth, Nationality: nat,
				GivenName: given, FamilyName: family, ResidentCountry: nat,
			}, txCode)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "sample government issuer at %s (OpenID4VCI); Ctrl-C to stop\n", svc.Issuer())
			fmt.Fprintf(out, "credential offer for a person born %s (%s), valid until %s:\n%s\n", birth, nat, res.Expires.Local().Format(time.TimeOnly), res.ByReference)
			if res.TxCode != "" {
				fmt.Fprintf(out, "transaction code (give it by another channel): %s\n", res.TxCode)
			}
			if qr {
				q, err := qrcode.New(res.ByReference, qrcode.Medium)
				if err != nil {
					return err
				}
				fmt.Fprint(out, q.ToSmallString(false))
			}
			return serveUntilDone(cmd.Context(), svc.Handler(), ln, out)
		},
	}
	f := cmd.Flags()
	f.StringVar(&data, "data", "./mustard-data", "the server's data directory")
	f.StringVar(&addr, "addr", "127.0.0.1:8091", "where the issuer listens (loopback)")
	f.StringVar(&birth, "birthdate", "1990-04-12", "birth date, YYYY-MM-DD")
	f.StringVar(&nationality, "nationality", "NL", "ISO 3166 alpha-2 country")
	f.StringVar(&given, "given-name", "Sanne", "given name")
	f.StringVar(&family, "family-name", "de Vries", "family name")
	f.BoolVar(&txCode, "tx-code", false, "protect the offer with a 6-digit transaction code")
	f.BoolVar(&qr, "qr", false, "print the offer URL as a QR code too")
	return cmd
}
