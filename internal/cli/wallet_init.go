package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/spf13/cobra"

	"github.com/mustard-id/mustard/coreid"
	"github.com/mustard-id/mustard/internal/keystore"
	"github.com/mustard-id/mustard/internal/oid4vci"
	"github.com/mustard-id/mustard/internal/trust"
	"github.com/mustard-id/mustard/persona"
	"github.com/mustard-id/mustard/zk"
)

// keystoreFlags choose the keystore of a new wallet.
type keystoreFlags struct {
	sim      bool
	software bool
	device   string
}

func (k *keystoreFlags) register(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&k.sim, "tpm-sim", false, "use the go-tpm-tools TPM simulator (development: it protects nothing)")
	cmd.Flags().BoolVar(&k.software, "software", false, "use a software keystore (no TPM: enrolls at a lower grade, as strong as the PIN)")
	cmd.Flags().StringVar(&k.device, "tpm", "", "TPM device (default "+keystore.DefaultDevice+")")
}

// open opens the chosen keystore and returns it with the Meta fields that
// reopen it.
func (k *keystoreFlags) open(e *walletEnv) (keystore.Sealer, persona.Meta, error) {
	var meta persona.Meta
	if k.sim && k.software {
		return nil, meta, &usageError{"--tpm-sim and --software exclude each other: choose one"}
	}
	switch {
	case k.software:
		e.warn("software keystore: no TPM protects the core secret, so it is only as strong as your PIN (use a long passphrase); it enrolls at a lower grade: its personas prove at most \"substantial\"")
		return keystore.NewSoftware(), meta, nil
	case k.sim:
		var b [8]byte
		_, _ = rand.Read(b[:])
		meta.SimulatorSeed = int64(binary.BigEndian.Uint64(b[:]) >> 1)
		e.warn("TPM simulator: for development only; its seed is stored in wallet.json, so it protects nothing")
		s, err := keystore.OpenSimulator(meta.SimulatorSeed)
		return s, meta, err
	default:
		meta.Device = k.device
		s, err := keystore.Open(keystore.Options{Device: k.device})
		return s, meta, err
	}
}

func newWalletInitCmd(e *walletEnv) *cobra.Command {
	var ks keystoreFlags
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Create a wallet: a new core secret sealed in the TPM under a PIN",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := e.store(); err == nil {
				return persona.ErrWalletExists
			}
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
			if len(pin) < 4 {
				return errors.New("the PIN is too short: choose at least 4 characters")
			}
			if sealer.Kind() == keystore.KindSoftware && len(pin) < 10 {
				e.warn("a software keystore is only as strong as its PIN: a passphrase of 10 characters or more is advised")
			}
			st, err := persona.InitStore(e.dir, sealer, pin, meta)
			if err != nil {
				return err
			}
			return e.emit(initJSON{Wallet: st.Dir, Keystore: string(sealer.Kind()), HardwareBacked: sealer.Kind().HardwareBacked()}, func(w io.Writer) {
				fmt.Fprintf(w, "Created a wallet in %s.\n", st.Dir)
				fmt.Fprintf(w, "Its core secret is sealed by %s.\n", keystoreName(sealer.Kind()))
				fmt.Fprintln(w, "Next: mustard wallet enroll --credential FILE --server URL")
			})
		},
	}
	ks.register(cmd)
	return cmd
}

type initJSON struct {
	Wallet         string `json:"wallet"`
	Keystore       string `json:"keystore"`
	HardwareBacked bool   `json:"hardware_backed"`
}

func keystoreName(k keystore.Kind) string {
	switch k {
	case keystore.KindTPM:
		return "the TPM"
	case keystore.KindSimulator:
		return "the TPM simulator (development only)"
	default:
		return "the software keystore (lower grade)"
	}
}

func newWalletEnrollCmd(e *walletEnv) *cobra.Command {
	var credFile, server, issuerID, govFile, federation string
	var offerArg, txCode string
	var govThreshold int
	var providers string
	var kofn int
	var noBrowser bool
	cmd := &cobra.Command{
		Use:   "enroll (--credential FILE | --federation IDP | --offer URL) --server URL",
		Short: "Enroll with a core-identity provider: with a source credential (a JWT-VC), or by logging in at a federation's identity provider",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if providers != "" && (server != "" || federation != "" || offerArg != "") {
				return &usageError{"--providers replaces --server, and works with --credential only (a login or an offer is bound to one provider)"}
			}
			if providers != "" {
				server = strings.Split(providers, ",")[0]
			}
			if n := countSet(credFile, federation, offerArg); n != 1 || server == "" {
				return &usageError{"enroll needs --server URL and one of --credential FILE (a JWT-VC from your source issuer), --federation IDP (log in at that identity provider) or --offer URL (a credential offer from your source issuer)"}
			}
			var offer *oid4vci.OfferRef
			if offerArg != "" {
				var err error
				if offer, err = oid4vci.ParseOffer(offerArg); err != nil {
					return fmt.Errorf("cannot read the credential offer: %w", err)
				}
			}
			var source string
			if credFile != "" {
				src, err := readInput(credFile, 64<<10)
				if err != nil {
					return fmt.Errorf("cannot read the credential: %w", err)
				}
				source = strings.TrimSpace(string(src))
				if strings.Count(source, ".") != 2 {
					return fmt.Errorf("%s is not a JWT-VC (expected a compact JWT: header.payload.signature)", credFile)
				}
			}
			u, pin, done, err := e.unlock()
			if err != nil {
				return err
			}
			defer done()
			if u.Enrolled() {
				return errors.New("this wallet is already enrolled: make a new wallet (--wallet DIR) to enroll another identity")
			}
			ctx := cmd.Context()
			c := &persona.Client{BaseURL: strings.TrimRight(server, "/"), HTTP: httpClient()}
			gov, govRaw, err := governanceKeys(ctx, c, govFile, nil)
			if err != nil {
				return err
			}
			if govFile == "" {
				e.warn("trusting the governance keys %s published on first use: pass --governance FILE to pin them yourself", server)
			}
			threshold := govThreshold
			if threshold == 0 {
				// Pinned on first use with the keys, when not given.
				if p, err := c.GovernancePolicy(ctx); err == nil {
					threshold = p.Threshold
				}
			}
			c.GovernanceThreshold = threshold
			fw, err := c.Framework(ctx, gov)
			if err != nil {
				return fmt.Errorf("cannot fetch the trust framework from %s: %w", server, err)
			}
			iss, err := pickIssuer(fw, issuerID)
			if err != nil {
				return err
			}
			comm, err := u.Wallet.Commitment(pin)
			if err != nil {
				return keystoreHelp(err)
			}
			if providers != "" {
				return e.enrollThreshold(ctx, u, pin, fw, strings.Split(providers, ","), kofn, source, iss, govRaw, c.GovernanceThreshold)
			}
			ticket, err := u.Wallet.Attest(ctx, c)
			if err != nil {
				return fmt.Errorf("the TPM attestation failed: %w", err)
			}
			if offer != nil {
				if source, err = offerCredential(ctx, offer, txCode); err != nil {
					return fmt.Errorf("the source issuer gave no credential: %w", err)
				}
			}
			var enr *coreid.EnrollmentJSON
			if federation != "" {
				enr, err = e.enrollFederation(ctx, c, federation, comm, u.Wallet.DeviceKeyHash(), ticket, noBrowser)
			} else {
				enr, err = c.Enroll(ctx, coreid.EnrollBody{Source: source, Commitment: zk.Hex(comm), DeviceKeyHash: zk.Hex(u.Wallet.DeviceKeyHash()), Attestation: ticket})
			}
			if err != nil {
				return fmt.Errorf("the provider refused the enrollment: %w", err)
			}
			if err := u.Wallet.Accept(pin, fw, enr); err != nil {
				return err
			}
			u.Meta.GovernanceThreshold = c.GovernanceThreshold
			if err := u.SaveCore(c.BaseURL, iss, govRaw); err != nil {
				return err
			}
			_ = u.Audit(persona.AuditEntry{Event: "enroll", Audience: c.BaseURL, Outcome: "enrolled"})
			cr := u.Wallet.Core.Credential
			return e.emit(enrollJSON{Server: c.BaseURL, Issuer: iss, Grade: zk.GradeName(cr.Grade), Expires: unixTime(cr.Expiry), DeviceBound: !cr.DeviceKeyHash.IsZero()}, func(w io.Writer) {
				fmt.Fprintf(w, "Enrolled with %s: core credential at grade %s, valid until %s.\n", c.BaseURL, zk.GradeName(cr.Grade), day(cr.Expiry))
				fmt.Fprintln(w, "The provider saw your source credential and a commitment to your core secret, nothing else.")
				fmt.Fprintln(w, "Next: mustard wallet persona new --scope SITE [--predicate age>=18]")
			})
		},
	}
	cmd.Flags().StringVar(&credFile, "credential", "", "file with the source credential (a JWT-VC)")
	cmd.Flags().StringVar(&federation, "federation", "", "enroll by logging in at this identity provider (its issuer URL, as the trust framework lists it)")
	cmd.Flags().StringVar(&offerArg, "offer", "", "enroll with the credential a source issuer offers over OpenID4VCI: an openid-credential-offer:// URL (credential_offer or credential_offer_uri), the offer JSON, or a file holding either")
	cmd.Flags().StringVar(&txCode, "tx-code", "", "with --offer: the transaction code the source issuer gave you, when its offer asks for one")
	cmd.Flags().BoolVar(&noBrowser, "no-browser", false, "with --federation: print the login URL instead of opening a browser")
	cmd.Flags().StringVar(&server, "server", "", "the Mustard server (core-identity provider and issuer), e.g. https://id.example")
	cmd.Flags().StringVar(&issuerID, "issuer", "", "persona-credential issuer to use when the framework accredits several")
	cmd.Flags().StringVar(&govFile, "governance", "", "file with the trust framework's governance keys (a JWK set) to pin")
	cmd.Flags().IntVar(&govThreshold, "governance-threshold", 0, "how many of the governance keys must sign the framework (default: what the server publishes, pinned on first use)")
	cmd.Flags().StringVar(&providers, "providers", "", "k-of-n enrollment: comma-separated core-identity provider URLs (the first leads), instead of --server")
	cmd.Flags().IntVar(&kofn, "threshold", 0, "with --providers: how many distinct providers must sign (default: all of them)")
	return cmd
}

type enrollJSON struct {
	Server      string `json:"server"`
	Issuer      string `json:"issuer"`
	Grade       string `json:"grade"`
	Expires     string `json:"expires"`
	DeviceBound bool   `json:"device_bound"`
}

// governanceKeys returns the governance keys: from file, else pinned, else
// fetched from the server (trust on first use).
func governanceKeys(ctx context.Context, c *persona.Client, file string, pinned []byte) (jwk.Set, []byte, error) {
	var raw []byte
	switch {
	case file != "":
		b, err := readInput(file, 64<<10)
		if err != nil {
			return nil, nil, fmt.Errorf("cannot read the governance keys: %w", err)
		}
		raw = b
	case len(pinned) > 0:
		raw = pinned
	default:
		set, err := c.Governance(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("cannot reach %s: %w", c.BaseURL, err)
		}
		if raw, err = json.Marshal(set); err != nil {
			return nil, nil, err
		}
	}
	set, err := jwk.Parse(bytes.TrimSpace(raw))
	if err != nil {
		return nil, nil, fmt.Errorf("the governance keys are not a JWK set: %w", err)
	}
	return set, raw, nil
}

func pickIssuer(fw *trust.Document, id string) (string, error) {
	if id != "" {
		if _, err := fw.Issuer(id); err != nil {
			return "", fmt.Errorf("the trust framework does not accredit issuer %s", id)
		}
		return id, nil
	}
	switch len(fw.Issuers) {
	case 0:
		return "", errors.New("the trust framework accredits no persona-credential issuer")
	case 1:
		return fw.Issuers[0].ID, nil
	}
	ids := make([]string, len(fw.Issuers))
	for i, iss := range fw.Issuers {
		ids[i] = iss.ID
	}
	return "", fmt.Errorf("the framework accredits several issuers: choose one with --issuer (%s)", strings.Join(ids, ", "))
}

// framework fetches and verifies the trust framework under the wallet's
// pinned governance keys.
func walletFramework(ctx context.Context, u *persona.Unlocked) (*persona.Client, *trust.Document, error) {
	if !u.Enrolled() {
		return nil, nil, persona.ErrNotEnrolled
	}
	if !u.Meta.Revoked.IsZero() {
		return nil, nil, persona.ErrRevokedCore
	}
	c := &persona.Client{BaseURL: u.Meta.Server, HTTP: httpClient(), GovernanceThreshold: u.Meta.GovernanceThreshold}
	gov, _, err := governanceKeys(ctx, c, "", u.Meta.Governance)
	if err != nil {
		return nil, nil, err
	}
	fw, err := c.Framework(ctx, gov)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot fetch the trust framework from %s: %w", c.BaseURL, err)
	}
	return c, fw, nil
}
