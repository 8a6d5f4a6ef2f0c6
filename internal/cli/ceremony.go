package cli

import (
	"encoding/hex"
	"fmt"
	"path/filepath"

	"github.com/consensys/gnark/constraint"
	"github.com/spf13/cobra"

	"github.com/mustard-id/mustard/circuits/persona"
	"github.com/mustard-id/mustard/zk"
)

func newCeremonyCmd() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "ceremony",
		Short: "Run a multi-party Groth16 setup for the persona circuit",
		Long: `A ceremony makes production proving and verifying keys: the keys are sound
if at least one participant kept their randomness secret and destroyed it.

  mustard ceremony init --dir D               coordinator, once
  mustard ceremony contribute --dir D         each participant, in turn (phase 1)
  mustard ceremony seal --dir D --beacon HEX  coordinator: verify phase 1, start phase 2
  mustard ceremony contribute --dir D         each participant, in turn (phase 2)
  mustard ceremony verify --dir D --beacon HEX   anyone: check the whole transcript
  mustard ceremony export --dir D --beacon HEX --data DATA   install the keys for mustard serve

The beacons are public randomness fixed after the contributions (a future
block hash, a lottery draw).`,
	}
	cmd.PersistentFlags().StringVar(&dir, "dir", "./ceremony", "transcript directory")
	compile := func() (*zk.Ceremony, error) { return zk.OpenCeremony(dir) }
	var beacon, data string
	beaconBytes := func() ([]byte, error) {
		b, err := hex.DecodeString(beacon)
		if err != nil || len(b) < 16 {
			return nil, &usageError{"--beacon must be at least 16 bytes of hex (public randomness fixed after the contributions)"}
		}
		return b, nil
	}
	init := &cobra.Command{
		Use: "init", Short: "Start a ceremony for the persona circuit", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ccs, err := zk.Compile(&persona.Circuit{})
			if err != nil {
				return err
			}
			c, err := zk.InitCeremony(dir, "persona", ccs)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "ceremony for %s (%d constraints, domain %d) started in %s\n", c.Meta.Circuit, ccs.GetNbConstraints(), c.Meta.Domain, dir)
			return nil
		},
	}
	contribute := &cobra.Command{
		Use: "contribute", Short: "Add your randomness to the current phase", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := compile()
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "contributing to phase %d (this takes a while)…\n", c.Meta.Phase)
			d, err := c.Contribute()
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "contribution recorded; publish its digest: %s\n", d)
			return nil
		},
	}
	// sealed opens the ceremony, compiles the circuit and reads the beacon:
	// what seal, verify and export all need.
	sealed := func() (*zk.Ceremony, constraint.ConstraintSystem, []byte, error) {
		b, err := beaconBytes()
		if err != nil {
			return nil, nil, nil, err
		}
		c, err := compile()
		if err != nil {
			return nil, nil, nil, err
		}
		ccs, err := zk.Compile(&persona.Circuit{})
		return c, ccs, b, err
	}
	seal := &cobra.Command{
		Use: "seal", Short: "Verify phase 1, seal it with the beacon and start phase 2", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, ccs, b, err := sealed()
			if err != nil {
				return err
			}
			if err := c.SealPhase1(ccs, b); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), "phase 1 verified and sealed; phase 2 is open for contributions")
			return nil
		},
	}
	verifyRun := func(cmd *cobra.Command, install bool) error {
		c, ccs, b, err := sealed()
		if err != nil {
			return err
		}
		k, err := c.Verify(ccs, b)
		if err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "transcript verifies; verifying key %s\n", k.VKID)
		if install {
			if err := k.Save(filepath.Join(data, "zk")); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "keys installed in %s; mustard serve --data %s will use them\n", filepath.Join(data, "zk"), data)
		}
		return nil
	}
	verify := &cobra.Command{
		Use: "verify", Short: "Verify the whole transcript", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return verifyRun(cmd, false) },
	}
	export := &cobra.Command{
		Use: "export", Short: "Verify the transcript and install its keys in a data directory", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return verifyRun(cmd, true) },
	}
	for _, c := range []*cobra.Command{seal, verify, export} {
		c.Flags().StringVar(&beacon, "beacon", "", "public randomness as hex (required)")
	}
	export.Flags().StringVar(&data, "data", "./mustard-data", "data directory of mustard serve")
	cmd.AddCommand(init, contribute, seal, verify, export)
	return cmd
}
