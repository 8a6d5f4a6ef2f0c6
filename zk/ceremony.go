package zk

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/backend/groth16/bn254/mpcsetup"
	"github.com/consensys/gnark/constraint"
	cs "github.com/consensys/gnark/constraint/bn254"
)

// A Ceremony is a multi-party Groth16 setup (gnark's mpcsetup, phases 1
// and 2) kept as a transcript directory:
//
//	ceremony.json          circuit name, fingerprint, domain size, state
//	phase1/init, 0001, …   the initial state and each contribution
//	commons                phase 1 sealed with its beacon
//	phase2/init, 0001, …   idem for the circuit-specific phase 2
//
// Each participant runs Contribute once, on their own machine, and
// publishes the digest it prints. The keys are sound if one participant
// destroyed their randomness (gnark's Contribute never returns it).
type Ceremony struct {
	Dir  string
	Meta CeremonyMeta
}

// CeremonyMeta describes a ceremony.
type CeremonyMeta struct {
	Circuit     string `json:"circuit"`
	Fingerprint string `json:"fingerprint"`
	Domain      uint64 `json:"domain"`
	Phase       int    `json:"phase"` // 1 or 2
	Beacon1     string `json:"beacon1,omitempty"`
}

// ErrCeremony is returned for a transcript that does not verify or a step
// taken out of order.
var ErrCeremony = errors.New("zk: ceremony")

// InitCeremony starts a ceremony for ccs in dir (which must not hold one).
func InitCeremony(dir, name string, ccs constraint.ConstraintSystem) (*Ceremony, error) {
	if _, err := os.Stat(filepath.Join(dir, "ceremony.json")); err == nil {
		return nil, fmt.Errorf("%w: %s already holds a ceremony", ErrCeremony, dir)
	}
	fp, err := Fingerprint(ccs)
	if err != nil {
		return nil, err
	}
	c := &Ceremony{Dir: dir, Meta: CeremonyMeta{Circuit: name, Fingerprint: fp, Domain: ecc.NextPowerOfTwo(uint64(ccs.GetNbConstraints())), Phase: 1}}
	if err := os.MkdirAll(filepath.Join(dir, "phase1"), 0o755); err != nil {
		return nil, err
	}
	p1 := mpcsetup.NewPhase1(c.Meta.Domain)
	if err := writeTo(filepath.Join(dir, "phase1", "init"), p1); err != nil {
		return nil, err
	}
	return c, c.saveMeta()
}

// OpenCeremony opens the ceremony in dir.
func OpenCeremony(dir string) (*Ceremony, error) {
	b, err := os.ReadFile(filepath.Join(dir, "ceremony.json"))
	if err != nil {
		return nil, fmt.Errorf("%w: no ceremony in %s (run init first)", ErrCeremony, dir)
	}
	c := &Ceremony{Dir: dir}
	if err := json.Unmarshal(b, &c.Meta); err != nil {
		return nil, fmt.Errorf("%w: ceremony.json: %v", ErrCeremony, err)
	}
	return c, nil
}

func (c *Ceremony) saveMeta() error {
	b, _ := json.MarshalIndent(c.Meta, "", "  ")
	return writeFileAtomic(filepath.Join(c.Dir, "ceremony.json"), func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}

func writeTo(path string, v io.WriterTo) error {
	return writeFileAtomic(path, func(w io.Writer) error {
		_, err := v.WriteTo(w)
		return err
	})
}

func readFrom(path string, v io.ReaderFrom) error {
	return readFile(path, func(r io.Reader) error {
		_, err := v.ReadFrom(r)
		return err
	})
}

// contributions lists the numbered contribution files of a phase in order.
func (c *Ceremony) contributions(phase int) ([]string, error) {
	dir := filepath.Join(c.Dir, fmt.Sprintf("phase%d", phase))
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if len(e.Name()) == 4 && e.Name() != "init" {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	sort.Strings(out)
	return out, nil
}

func (c *Ceremony) latest(phase int) (string, int, error) {
	files, err := c.contributions(phase)
	if err != nil {
		return "", 0, err
	}
	if len(files) == 0 {
		return filepath.Join(c.Dir, fmt.Sprintf("phase%d", phase), "init"), 0, nil
	}
	return files[len(files)-1], len(files), nil
}

// Contribute adds one participant's randomness to the current phase and
// returns the new contribution's SHA-256 digest, for the participant to
// publish.
func (c *Ceremony) Contribute() (string, error) {
	prev, n, err := c.latest(c.Meta.Phase)
	if err != nil {
		return "", err
	}
	var v interface {
		io.WriterTo
		io.ReaderFrom
	}
	switch c.Meta.Phase {
	case 1:
		p := new(mpcsetup.Phase1)
		if err := readFrom(prev, p); err != nil {
			return "", err
		}
		p.Contribute()
		v = p
	case 2:
		p := new(mpcsetup.Phase2)
		if err := readFrom(prev, p); err != nil {
			return "", err
		}
		p.Contribute()
		v = p
	}
	path := filepath.Join(c.Dir, fmt.Sprintf("phase%d", c.Meta.Phase), fmt.Sprintf("%04d", n+1))
	if err := writeTo(path, v); err != nil {
		return "", err
	}
	return fileDigest(path)
}

func fileDigest(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:]), nil
}

func (c *Ceremony) phase1() ([]*mpcsetup.Phase1, error) {
	files, err := c.contributions(1)
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%w: phase 1 has no contribution", ErrCeremony)
	}
	out := make([]*mpcsetup.Phase1, len(files))
	for i, f := range files {
		out[i] = new(mpcsetup.Phase1)
		if err := readFrom(f, out[i]); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrCeremony, err)
		}
	}
	return out, nil
}

// SealPhase1 verifies phase 1's transcript, seals it with the public
// beacon (randomness nobody could know while contributing, e.g. a future
// block hash) and starts phase 2 for ccs.
func (c *Ceremony) SealPhase1(ccs constraint.ConstraintSystem, beacon []byte) error {
	if c.Meta.Phase != 1 {
		return fmt.Errorf("%w: phase 1 is already sealed", ErrCeremony)
	}
	r1cs, err := c.check(ccs)
	if err != nil {
		return err
	}
	ps, err := c.phase1()
	if err != nil {
		return err
	}
	commons, err := mpcsetup.VerifyPhase1(c.Meta.Domain, beacon, ps...)
	if err != nil {
		return fmt.Errorf("%w: phase 1 transcript does not verify: %v", ErrCeremony, err)
	}
	if err := writeTo(filepath.Join(c.Dir, "commons"), &commons); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(c.Dir, "phase2"), 0o755); err != nil {
		return err
	}
	var p2 mpcsetup.Phase2
	p2.Initialize(r1cs, &commons)
	if err := writeTo(filepath.Join(c.Dir, "phase2", "init"), &p2); err != nil {
		return err
	}
	c.Meta.Phase, c.Meta.Beacon1 = 2, hex.EncodeToString(beacon)
	return c.saveMeta()
}

func (c *Ceremony) check(ccs constraint.ConstraintSystem) (*cs.R1CS, error) {
	fp, err := Fingerprint(ccs)
	if err != nil {
		return nil, err
	}
	if fp != c.Meta.Fingerprint {
		return nil, fmt.Errorf("%w: the ceremony is for another version of the circuit", ErrCeremony)
	}
	r1cs, ok := ccs.(*cs.R1CS)
	if !ok {
		return nil, fmt.Errorf("%w: not a BN254 R1CS", ErrCeremony)
	}
	return r1cs, nil
}

// Verify checks the whole transcript: phase 1 against its recorded beacon,
// and, given phase 2's beacon, phase 2 — returning the keys it yields.
func (c *Ceremony) Verify(ccs constraint.ConstraintSystem, beacon2 []byte) (*Keys, error) {
	r1cs, err := c.check(ccs)
	if err != nil {
		return nil, err
	}
	if c.Meta.Phase != 2 {
		return nil, fmt.Errorf("%w: phase 1 is not sealed yet", ErrCeremony)
	}
	ps, err := c.phase1()
	if err != nil {
		return nil, err
	}
	b1, err := hex.DecodeString(c.Meta.Beacon1)
	if err != nil {
		return nil, fmt.Errorf("%w: beacon1", ErrCeremony)
	}
	commons, err := mpcsetup.VerifyPhase1(c.Meta.Domain, b1, ps...)
	if err != nil {
		return nil, fmt.Errorf("%w: phase 1 transcript does not verify: %v", ErrCeremony, err)
	}
	var stored mpcsetup.SrsCommons
	if err := readFrom(filepath.Join(c.Dir, "commons"), &stored); err != nil {
		return nil, err
	}
	var a, b bytes.Buffer
	_, _ = commons.WriteTo(&a)
	_, _ = stored.WriteTo(&b)
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		return nil, fmt.Errorf("%w: the stored phase 1 result does not match its transcript", ErrCeremony)
	}
	files, err := c.contributions(2)
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%w: phase 2 has no contribution", ErrCeremony)
	}
	p2 := make([]*mpcsetup.Phase2, len(files))
	for i, f := range files {
		p2[i] = new(mpcsetup.Phase2)
		if err := readFrom(f, p2[i]); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrCeremony, err)
		}
	}
	pk, vk, err := mpcsetup.VerifyPhase2(r1cs, &commons, beacon2, p2...)
	if err != nil {
		return nil, fmt.Errorf("%w: phase 2 transcript does not verify: %v", ErrCeremony, err)
	}
	id, err := VerifyingKeyID(vk)
	if err != nil {
		return nil, err
	}
	return &Keys{Name: c.Meta.Circuit, CCS: ccs, PK: pk, VK: vk, VKID: id, Circuit: c.Meta.Fingerprint}, nil
}
