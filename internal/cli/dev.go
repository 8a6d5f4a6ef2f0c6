package cli

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mustard-id/mustard/coreid"
	"github.com/mustard-id/mustard/internal/portal"
	"github.com/mustard-id/mustard/internal/server"
)

// newDevCmd holds the development helpers that let a newcomer walk the
// whole path by hand: a source credential from the sample government
// issuer, and a sample portal to sign in to.
func newDevCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Development helpers: a sample source credential, a sample portal",
	}
	cmd.AddCommand(newDevCredentialCmd(), newDevPortalCmd(), newDevIssuerCmd())
	return cmd
}

func newDevCredentialCmd() *cobra.Command {
	var data, out, birth, nationality, given, family string
	cmd := &cobra.Command{
		Use:   "credential",
		Short: "Issue a JWT-VC from the development framework's sample government issuer",
		Long: `credential signs a PersonIdentificationData JWT-VC with the sample
government issuer's key from a development data directory (the framework
mustard serve writes on first start accredits it at grade high), for a
fresh person, and writes it to --out. Feed it to mustard wallet enroll.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := os.Stat(filepath.Join(data, "mustard.db")); err != nil {
				return fmt.Errorf("no data directory at %s: start mustard serve once first, or pass --data", data)
			}
			srv, err := server.Open(cmd.Context(), server.Options{DataDir: data})
			if err != nil {
				return err
			}
			defer srv.Close()
			if srv.SampleSource == nil || srv.Framework.ID != "urn:mustard:framework:development" {
				return errors.New("this data directory's framework is not a development one: it has no sample issuer")
			}
			if _, err := time.Parse(time.DateOnly, birth); err != nil {
				return fmt.Errorf("--birthdate %q is not YYYY-MM-DD", birth)
			}
			now := time.Now()
			claims := map[string]any{
				"personal_number": fmt.Sprintf("DEV-%d", now.UnixNano()), "birthdate": birth, "nationality": strings.ToUpper(nationality),
				"given_name": given, "family_name": family, "resident_country": strings.ToUpper(nationality),
			}
			jwt, err := coreid.SignJWTVC(srv.SampleSource, server.SampleSourceID, "did:example:dev-holder", []string{"PersonIdentificationData"}, claims, now, now.AddDate(1, 0, 0))
			if err != nil {
				return err
			}
			if err := os.WriteFile(out, []byte(jwt+"\n"), 0o600); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote a JWT-VC for a person born %s (%s) to %s\n", birth, strings.ToUpper(nationality), out)
			return nil
		},
	}
	cmd.Flags().StringVar(&data, "data", "./mustard-data", "the server's data directory")
	cmd.Flags().StringVar(&out, "out", "id.jwt", "where to write the credential")
	cmd.Flags().StringVar(&birth, "birthdate", "1990-04-12", "birth date, YYYY-MM-DD")
	cmd.Flags().StringVar(&nationality, "nationality", "NL", "ISO 3166 alpha-2 country")
	cmd.Flags().StringVar(&given, "given-name", "Sanne", "given name")
	cmd.Flags().StringVar(&family, "family-name", "de Vries", "family name")
	return cmd
}

func newDevPortalCmd() *cobra.Command {
	var server, addr, sector, token, data string
	var claims []string
	cmd := &cobra.Command{
		Use:   "portal",
		Short: "Run a sample portal that signs people in with Mustard personas (OpenID Connect)",
		Long: `portal registers a sample relying party at the server's OpenID Provider
(with the data directory's development registration token, or --token)
and serves it on --addr: open it in a browser, press "Sign in with a
persona", and answer the sign-in page with your wallet.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if token == "" {
				token = os.Getenv("MUSTARD_OIDC_REGISTRATION_TOKEN")
			}
			if token == "" {
				b, err := os.ReadFile(filepath.Join(data, "oidc-registration-token"))
				if err != nil {
					return fmt.Errorf("no registration token: pass --token, set MUSTARD_OIDC_REGISTRATION_TOKEN, or point --data at the server's data directory")
				}
				token = strings.TrimSpace(string(b))
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("cannot listen on %s: %v (choose another with --addr)", addr, err)
			}
			defer ln.Close()
			base := "http://" + ln.Addr().String()
			hc := &http.Client{Timeout: 30 * time.Second}
			ctx := cmd.Context()
			id, secret, err := portal.Register(ctx, hc, server, token, portal.Registration{
				RedirectURIs: []string{base + "/callback"}, ClientName: "Sample portal", SectorIdentifier: sector,
				Manifest: map[string]any{"purpose": "Show how a relying party signs people in with personas.", "claims": claims, "retention": "nothing is kept", "framework": "urn:mustard:framework:development"},
			})
			if err != nil {
				return err
			}
			p, err := portal.New(ctx, hc, server, base, id, secret, append([]string{"openid"}, claims...))
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "sample portal for sector %s at %s (client %s); Ctrl-C to stop\n", sector, base, id)
			return serveUntilDone(ctx, p.Handler(), ln, cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&server, "server", "http://127.0.0.1:8080", "the Mustard server (its OpenID Provider)")
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8090", "where the portal listens")
	cmd.Flags().StringVar(&sector, "sector", "shop.example", "the portal's sector: the persona scope its users present")
	cmd.Flags().StringSliceVar(&claims, "claim", []string{"age_over_18"}, "claims the portal asks for (repeatable)")
	cmd.Flags().StringVar(&token, "token", "", "initial access token for registration")
	cmd.Flags().StringVar(&data, "data", "./mustard-data", "the server's data directory (for its development registration token)")
	return cmd
}
