package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/crypto/acme/autocert"
	"gopkg.in/yaml.v3"

	"github.com/mustard-id/mustard/internal/server"
	"github.com/mustard-id/mustard/internal/trust"
)

// serveConfig is mustard serve's configuration. Each setting comes from,
// in order of precedence: its flag, its MUSTARD_* environment variable,
// the --config file (YAML), the default.
type serveConfig struct {
	Data       string `yaml:"data"`
	Database   string `yaml:"database"`
	Addr       string `yaml:"addr"`
	PublicURL  string `yaml:"public_url"`
	TLSCert    string `yaml:"tls_cert"`
	TLSKey     string `yaml:"tls_key"`
	ACMEDomain string `yaml:"acme_domain"`
	LogFormat  string `yaml:"log_format"`
	LogLevel   string `yaml:"log_level"`
	RateLimit  string `yaml:"rate_limit"`
	GovKeys    string `yaml:"governance_keys"`
	GovThresh  string `yaml:"governance_threshold"`
	TPMEKRoots string `yaml:"tpm_ek_roots"`

	DeviceBound string `yaml:"device_bound"`
	Threshold   string `yaml:"threshold"`
	// Federations are set in the file only: identity providers this
	// provider runs logins at for federation enrollment.
	Federations []server.Federation `yaml:"federations"`
}

// serveSettings names each setting's flag, environment variable, and
// field.
func serveSettings(c *serveConfig) []struct {
	flag, env, def, usage string
	v                     *string
} {
	return []struct {
		flag, env, def, usage string
		v                     *string
	}{
		{"data", "MUSTARD_DATA", "./mustard-data", "data directory", &c.Data},
		{"database", "MUSTARD_DATABASE", "sqlite", "store: sqlite (the data directory's mustard.db) or a postgres:// URL several servers share", &c.Database},
		{"addr", "MUSTARD_ADDR", "127.0.0.1:8080", "listen address", &c.Addr},
		{"public-url", "MUSTARD_PUBLIC_URL", "", "the URL clients reach this server at, the OpenID Provider's issuer (default http(s)://<addr>)", &c.PublicURL},
		{"tls-cert", "MUSTARD_TLS_CERT", "", "TLS certificate file (PEM, with chain)", &c.TLSCert},
		{"tls-key", "MUSTARD_TLS_KEY", "", "TLS private key file (PEM)", &c.TLSKey},
		{"acme-domain", "MUSTARD_ACME_DOMAIN", "", "obtain a certificate for this public name with ACME (Let's Encrypt); listens on :443", &c.ACMEDomain},
		{"log-format", "MUSTARD_LOG_FORMAT", "json", "log format: json or text", &c.LogFormat},
		{"log-level", "MUSTARD_LOG_LEVEL", "info", "log level: debug, info, warn or error", &c.LogLevel},
		{"governance-keys", "MUSTARD_GOVERNANCE_KEYS", "", "file with the trust framework's governance public keys (a JWK set): serve only a framework a threshold of them signed", &c.GovKeys},
		{"governance-threshold", "MUSTARD_GOVERNANCE_THRESHOLD", "1", "how many distinct governance keys must sign the framework", &c.GovThresh},
		{"rate-limit", "MUSTARD_RATE_LIMIT", "1000", "requests per second per client address (bursts of twice that); 0 turns the limit off", &c.RateLimit},
		{"tpm-ek-roots", "MUSTARD_TPM_EK_ROOTS", "", "PEM file of the TPM manufacturers' root CAs: TPM attestations need an EK certificate chaining to one of them (even in a development framework)", &c.TPMEKRoots},
		{"device-bound", "MUSTARD_DEVICE_BOUND", "false", "accept device-bound personas (circuits/devicebound) and serve their keys: true or false; the first start sets the keys up (about a minute)", &c.DeviceBound},
		{"threshold", "MUSTARD_THRESHOLD", "0", "accept K-of-n personas (circuits/threshold) for this K (2 to 16; 0 off) and serve their keys; the first start sets the keys up (K=2: about 12 CPU seconds)", &c.Threshold},
	}
}

// resolve applies the precedence: flag > environment > file > default.
func (c *serveConfig) resolve(flags *pflag.FlagSet, file string) error {
	var fromFile serveConfig
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return fmt.Errorf("cannot read the config file: %v", err)
		}
		dec := yaml.NewDecoder(strings.NewReader(string(b)))
		dec.KnownFields(true)
		if err := dec.Decode(&fromFile); err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("config file %s: %v (settings: data, database, addr, public_url, tls_cert, tls_key, acme_domain, log_format, log_level, rate_limit, governance_keys, governance_threshold, tpm_ek_roots, device_bound, threshold, federations)", file, oneLine(err))
		}
	}
	c.Federations = fromFile.Federations
	fileSettings := serveSettings(&fromFile)
	for i, s := range serveSettings(c) {
		switch {
		case flags.Changed(s.flag):
		case os.Getenv(s.env) != "":
			*s.v = os.Getenv(s.env)
		case *fileSettings[i].v != "":
			*s.v = *fileSettings[i].v
		default:
			*s.v = s.def
		}
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return errors.New("give both --tls-cert and --tls-key, or neither")
	}
	if c.ACMEDomain != "" && c.TLSCert != "" {
		return errors.New("choose --acme-domain or --tls-cert/--tls-key, not both")
	}
	if c.DeviceBound != "true" && c.DeviceBound != "false" {
		return fmt.Errorf("--device-bound is true or false, not %q", c.DeviceBound)
	}
	if k, err := strconv.Atoi(c.Threshold); err != nil || k < 0 || k == 1 || k > 16 {
		return fmt.Errorf("--threshold is 0 (off) or a number of providers from 2 to 16, not %q", c.Threshold)
	}
	if r, err := strconv.ParseFloat(c.RateLimit, 64); err != nil || r < 0 {
		return fmt.Errorf("--rate-limit is a number of requests per second, not %q", c.RateLimit)
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		return fmt.Errorf("--log-format is json or text, not %q", c.LogFormat)
	}
	return nil
}

func (c *serveConfig) threshold() int {
	k, _ := strconv.Atoi(c.Threshold)
	return k
}

func (c *serveConfig) rateLimit() float64 {
	r, _ := strconv.ParseFloat(c.RateLimit, 64)
	return r
}

func (c *serveConfig) logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return nil, fmt.Errorf("--log-level is debug, info, warn or error, not %q", c.LogLevel)
	}
	opts := &slog.HandlerOptions{Level: level}
	if c.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return slog.New(slog.NewJSONHandler(w, opts)), nil
}

func newServeCmd() *cobra.Command {
	var cfg serveConfig
	var configFile string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the core-identity provider, the issuer, the verification API and the OpenID Provider",
		Long: `serve runs every Mustard party on one listener.

Each setting comes from, in order of precedence: its flag, its MUSTARD_*
environment variable (MUSTARD_DATA, MUSTARD_DATABASE, MUSTARD_ADDR, MUSTARD_PUBLIC_URL,
MUSTARD_TLS_CERT, MUSTARD_TLS_KEY, MUSTARD_ACME_DOMAIN, MUSTARD_LOG_FORMAT,
MUSTARD_LOG_LEVEL, MUSTARD_RATE_LIMIT, MUSTARD_TPM_EK_ROOTS, MUSTARD_DEVICE_BOUND,
MUSTARD_THRESHOLD), the YAML file given
with --config (keys data, database, addr, public_url, tls_cert, tls_key,
acme_domain, log_format, log_level, rate_limit, tpm_ek_roots, device_bound,
threshold), its
default. Federation identity providers (issuer, client_id, client_secret)
are listed under "federations" in the file. Keys are sealed under MUSTARD_PASSPHRASE.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cfg.resolve(cmd.Flags(), configFile); err != nil {
				return err
			}
			var gov *trust.Governance
			if cfg.GovKeys != "" {
				n, err := strconv.Atoi(cfg.GovThresh)
				if err != nil || n < 1 {
					return fmt.Errorf("--governance-threshold is a positive number, not %q", cfg.GovThresh)
				}
				keys, err := os.ReadFile(cfg.GovKeys)
				if err != nil {
					return fmt.Errorf("cannot read --governance-keys: %v", err)
				}
				gov = &trust.Governance{Threshold: n, Keys: keys}
			}
			logger, err := cfg.logger(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			prev := slog.Default()
			slog.SetDefault(logger)
			defer slog.SetDefault(prev)
			out := cmd.OutOrStdout()
			scheme := "http"
			var tlsConfig *tls.Config
			switch {
			case cfg.ACMEDomain != "":
				m := &autocert.Manager{Prompt: autocert.AcceptTOS, HostPolicy: autocert.HostWhitelist(cfg.ACMEDomain), Cache: autocert.DirCache(filepath.Join(cfg.Data, "acme"))}
				tlsConfig, scheme = m.TLSConfig(), "https"
				if !cmd.Flags().Changed("addr") && os.Getenv("MUSTARD_ADDR") == "" {
					cfg.Addr = ":443"
				}
				if cfg.PublicURL == "" {
					cfg.PublicURL = "https://" + cfg.ACMEDomain
				}
			case cfg.TLSCert != "":
				cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
				if err != nil {
					return fmt.Errorf("cannot load the TLS certificate: %v", err)
				}
				tlsConfig, scheme = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, "https"
			}
			ln, err := net.Listen("tcp", cfg.Addr)
			if err != nil {
				return fmt.Errorf("cannot listen on %s: %v (choose another with --addr)", cfg.Addr, err)
			}
			defer ln.Close()
			if cfg.PublicURL == "" {
				cfg.PublicURL = scheme + "://" + ln.Addr().String()
			}
			srv, err := server.Open(cmd.Context(), server.Options{DataDir: cfg.Data, Database: cfg.Database, Progress: progress(out), PublicURL: cfg.PublicURL, Federations: cfg.Federations, RateLimit: cfg.rateLimit(), Governance: gov, EKRoots: cfg.TPMEKRoots, DeviceBound: cfg.DeviceBound == "true", Threshold: cfg.threshold()})
			if err != nil {
				return err
			}
			defer srv.Close()
			if tlsConfig != nil {
				ln = tls.NewListener(ln, tlsConfig)
			}
			fmt.Fprintf(out, "mustard is serving on %s://%s as %s (data in %s)\n", scheme, ln.Addr(), cfg.PublicURL, cfg.Data)
			return serveUntilDone(cmd.Context(), srv.Handler(), ln, out)
		},
	}
	for _, s := range serveSettings(&cfg) {
		cmd.Flags().StringVar(s.v, s.flag, s.def, s.usage)
	}
	cmd.Flags().StringVar(&configFile, "config", "", "YAML configuration file")
	return cmd
}

// serveUntilDone serves until ctx ends, then shuts down gracefully,
// finishing requests in flight.
func serveUntilDone(ctx context.Context, h http.Handler, ln net.Listener, out io.Writer) error {
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 60 * time.Second, MaxHeaderBytes: 64 << 10}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	fmt.Fprintln(out, "shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// progress prints a line per step, with the time it started.
func progress(out io.Writer) func(string) {
	start := time.Now()
	return func(msg string) {
		fmt.Fprintf(out, "  [%5.1fs] %s\n", time.Since(start).Seconds(), msg)
	}
}
