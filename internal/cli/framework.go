package cli

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/spf13/cobra"

	"github.com/mustard-id/mustard/internal/server"
	"github.com/mustard-id/mustard/internal/trust"
)

// newFrameworkCmd is the governance council's tooling: seal a framework
// document, add a member's signature, verify a document under pinned
// governance keys and a threshold.
func newFrameworkCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "framework",
		Short: "Sign and verify trust framework documents (m-of-n governance)",
	}
	var doc, in, out, keyFile, govFile, prevFile string
	var threshold int
	readKey := func() (jwk.Key, error) {
		b, err := os.ReadFile(keyFile)
		if err != nil {
			return nil, fmt.Errorf("cannot read --key: %v", err)
		}
		k, err := jwk.ParseKey(b)
		if err != nil {
			return nil, fmt.Errorf("--key %s is not a private JWK: %v", keyFile, err)
		}
		return k, nil
	}
	seal := &cobra.Command{
		Use:   "seal",
		Short: "Sign a framework document (JSON) with the first governance key",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := os.ReadFile(doc)
			if err != nil {
				return fmt.Errorf("cannot read --doc: %v", err)
			}
			var d trust.Document
			if err := json.Unmarshal(b, &d); err != nil {
				return fmt.Errorf("--doc %s is not a framework document: %v", doc, oneLine(err))
			}
			k, err := readKey()
			if err != nil {
				return err
			}
			signed, err := trust.SealBy(&d, k)
			if err != nil {
				return err
			}
			if err := os.WriteFile(out, signed, 0o644); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "sealed %s version %d with key %s into %s; other members add theirs with `mustard framework sign`\n", d.ID, d.Version, k.KeyID(), out)
			return nil
		},
	}
	seal.Flags().StringVar(&doc, "doc", "framework.json", "the framework document")
	sign := &cobra.Command{
		Use:   "sign",
		Short: "Add one governance member's signature to a framework document",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := os.ReadFile(in)
			if err != nil {
				return fmt.Errorf("cannot read --in: %v", err)
			}
			k, err := readKey()
			if err != nil {
				return err
			}
			signed, err := trust.AddSignature(b, k)
			if err != nil {
				return err
			}
			if err := os.WriteFile(out, signed, 0o644); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "added the signature of %s to %s\n", k.KeyID(), out)
			return nil
		},
	}
	verify := &cobra.Command{
		Use:   "verify",
		Short: "Verify a framework document under pinned governance keys and a threshold (and, with --previous, as its successor)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := os.ReadFile(in)
			if err != nil {
				return fmt.Errorf("cannot read --in: %v", err)
			}
			keys, err := os.ReadFile(govFile)
			if err != nil {
				return fmt.Errorf("cannot read --governance: %v", err)
			}
			g := trust.Governance{Threshold: threshold, Keys: keys}
			var d *trust.Document
			if prevFile != "" {
				prevSigned, err := os.ReadFile(prevFile)
				if err != nil {
					return fmt.Errorf("cannot read --previous: %v", err)
				}
				prev, err := trust.ParseGoverned(prevSigned, g)
				if err != nil {
					return fmt.Errorf("the previous document does not verify: %v", err)
				}
				d, err = trust.Succeed(prev, prevSigned, b, g)
				if err != nil {
					return err
				}
			} else if d, err = trust.ParseGoverned(b, g); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s version %d verifies: %d sources, %d providers, %d issuers; digest %s\n", d.ID, d.Version, len(d.Sources), len(d.Providers), len(d.Issuers), trust.Digest(b))
			return nil
		},
	}
	for _, c := range []*cobra.Command{seal, sign} {
		c.Flags().StringVar(&keyFile, "key", "", "this member's private governance key (JWK)")
		c.Flags().StringVar(&out, "out", "framework.jws", "where to write the signed document")
	}
	for _, c := range []*cobra.Command{sign, verify} {
		c.Flags().StringVar(&in, "in", "framework.jws", "the signed document")
	}
	verify.Flags().StringVar(&govFile, "governance", "governance.jwks", "the pinned governance public keys (JWK set)")
	verify.Flags().IntVar(&threshold, "threshold", 1, "how many distinct governance keys must have signed")
	verify.Flags().StringVar(&prevFile, "previous", "", "the current document, to check the new one succeeds it")
	var data string
	install := &cobra.Command{
		Use:   "install",
		Short: "Put a new framework document in service in a data directory: verified under the pinned governance, succeeding the installed one, logged",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := os.ReadFile(in)
			if err != nil {
				return fmt.Errorf("cannot read --in: %v", err)
			}
			g, err := pinnedGovernance(govFile, threshold)
			if err != nil {
				return err
			}
			d, err := server.InstallFramework(cmd.Context(), server.Options{DataDir: data, Governance: g}, b)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "installed %s version %d (digest %s), logged; restart the servers to serve it\n", d.ID, d.Version, trust.Digest(b))
			return nil
		},
	}
	install.Flags().StringVar(&in, "in", "framework.jws", "the signed document")
	install.Flags().StringVar(&data, "data", "./mustard-data", "data directory")
	install.Flags().StringVar(&govFile, "governance", "governance.jwks", "the pinned governance public keys (JWK set)")
	install.Flags().IntVar(&threshold, "threshold", 1, "how many distinct governance keys must have signed")
	cmd.AddCommand(seal, sign, verify, install)
	return cmd
}

// pinnedGovernance reads a governance key set file and a threshold.
func pinnedGovernance(file string, threshold int) (*trust.Governance, error) {
	keys, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("cannot read the governance keys: %v", err)
	}
	return &trust.Governance{Threshold: threshold, Keys: keys}, nil
}
