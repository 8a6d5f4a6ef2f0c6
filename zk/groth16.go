package zk

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/backend/groth16"
	"github.com/consensys/gnark/backend/witness"
	"github.com/consensys/gnark/constraint"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"
	"github.com/consensys/gnark/logger"
)

// Keys is one circuit's compiled constraint system with its Groth16 keys.
// Load it once per process: proving keys are large.
type Keys struct {
	Name string
	CCS  constraint.ConstraintSystem
	PK   groth16.ProvingKey
	VK   groth16.VerifyingKey
	// VKID addresses the verifying key by content: "sha256:" and the hex
	// digest of its compressed serialization. Proofs and credentials name it.
	VKID string
	// Circuit fingerprints the constraint system the keys were made for.
	Circuit string
	// Development is true for keys from a single-party setup.
	Development bool
}

// Compile compiles circuit to an R1CS over BN254's scalar field.
func Compile(circuit frontend.Circuit) (constraint.ConstraintSystem, error) {
	logger.Disable() // gnark logs to stdout; Mustard reports progress itself
	ccs, err := frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, circuit)
	if err != nil {
		return nil, fmt.Errorf("zk: compile: %w", err)
	}
	return ccs, nil
}

// Fingerprint hashes a compiled constraint system, so keys made for one
// version of a circuit are never used with another.
func Fingerprint(ccs constraint.ConstraintSystem) (string, error) {
	h := sha256.New()
	if _, err := ccs.WriteTo(h); err != nil {
		return "", fmt.Errorf("zk: fingerprint: %w", err)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// VerifyingKeyID returns the content address of vk.
func VerifyingKeyID(vk groth16.VerifyingKey) (string, error) {
	h := sha256.New()
	if _, err := vk.WriteTo(h); err != nil {
		return "", fmt.Errorf("zk: verifying key id: %w", err)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// Progress receives one line per step of a long operation.
type Progress func(msg string)

// keyMeta is stored beside the key files.
type keyMeta struct {
	Name        string `json:"name"`
	Circuit     string `json:"circuit"`
	VKID        string `json:"vk_id"`
	Development bool   `json:"development"`
}

// LoadOrSetup loads name's keys from dir, or, when none are there (or they
// were made for another version of the circuit), runs a development
// single-party setup and stores them. A single-party setup knows its toxic
// waste: anyone holding it can forge proofs. Production keys come from a
// ceremony.
func LoadOrSetup(dir, name string, circuit frontend.Circuit, progress Progress) (*Keys, error) {
	if progress == nil {
		progress = func(string) {}
	}
	progress("compiling the " + name + " circuit")
	ccs, err := Compile(circuit)
	if err != nil {
		return nil, err
	}
	fp, err := Fingerprint(ccs)
	if err != nil {
		return nil, err
	}
	k, err := loadKeys(dir, name, ccs, fp)
	if err == nil {
		progress(fmt.Sprintf("loaded %s keys %s", name, k.VKID))
		return k, nil
	}
	if !errors.Is(err, os.ErrNotExist) && !errors.Is(err, errStale) {
		return nil, err
	}
	progress(fmt.Sprintf("running a DEVELOPMENT Groth16 setup for %s (%d constraints): NOT FOR PRODUCTION, use `mustard ceremony`", name, ccs.GetNbConstraints()))
	done := make(chan struct{})
	go func() {
		start := time.Now()
		t := time.NewTicker(2 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				progress(fmt.Sprintf("still setting up (%.0fs; about 5s on 2 cores)", time.Since(start).Seconds()))
			}
		}
	}()
	pk, vk, err := groth16.Setup(ccs)
	close(done)
	if err != nil {
		return nil, fmt.Errorf("zk: setup: %w", err)
	}
	id, err := VerifyingKeyID(vk)
	if err != nil {
		return nil, err
	}
	k = &Keys{Name: name, CCS: ccs, PK: pk, VK: vk, VKID: id, Circuit: fp, Development: true}
	progress("writing " + name + " keys")
	if err := k.Save(dir); err != nil {
		return nil, err
	}
	return k, nil
}

var errStale = errors.New("zk: keys were made for another circuit")

func loadKeys(dir, name string, ccs constraint.ConstraintSystem, fp string) (*Keys, error) {
	b, err := os.ReadFile(filepath.Join(dir, name+".json"))
	if err != nil {
		return nil, err
	}
	var m keyMeta
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("zk: %s.json: %w", name, err)
	}
	if m.Circuit != fp {
		return nil, errStale
	}
	k := &Keys{Name: name, CCS: ccs, VKID: m.VKID, Circuit: fp, Development: m.Development}
	k.PK = groth16.NewProvingKey(ecc.BN254)
	if err := readFile(filepath.Join(dir, name+".pk"), func(r io.Reader) error {
		_, err := k.PK.UnsafeReadFrom(r)
		return err
	}); err != nil {
		return nil, err
	}
	k.VK = groth16.NewVerifyingKey(ecc.BN254)
	if err := readFile(filepath.Join(dir, name+".vk"), func(r io.Reader) error {
		_, err := k.VK.ReadFrom(r)
		return err
	}); err != nil {
		return nil, err
	}
	id, err := VerifyingKeyID(k.VK)
	if err != nil {
		return nil, err
	}
	if id != m.VKID {
		return nil, fmt.Errorf("zk: %s.vk does not match its recorded id", name)
	}
	return k, nil
}

func readFile(path string, f func(io.Reader) error) error {
	fh, err := os.Open(path)
	if err != nil {
		return err
	}
	defer fh.Close()
	if err := f(bufio.NewReaderSize(fh, 1<<20)); err != nil {
		return fmt.Errorf("zk: read %s: %w", filepath.Base(path), err)
	}
	return nil
}

// Save writes the keys to dir atomically: name.pk (raw), name.vk and name.json.
func (k *Keys) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("zk: save keys: %w", err)
	}
	if err := writeFileAtomic(filepath.Join(dir, k.Name+".pk"), func(w io.Writer) error {
		_, err := k.PK.WriteRawTo(w)
		return err
	}); err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(dir, k.Name+".vk"), func(w io.Writer) error {
		_, err := k.VK.WriteTo(w)
		return err
	}); err != nil {
		return err
	}
	meta, _ := json.MarshalIndent(keyMeta{Name: k.Name, Circuit: k.Circuit, VKID: k.VKID, Development: k.Development}, "", "  ")
	return writeFileAtomic(filepath.Join(dir, k.Name+".json"), func(w io.Writer) error {
		_, err := w.Write(meta)
		return err
	})
}

// writeFileAtomic writes through a temporary file, syncs and renames, so a
// crash never leaves a half-written file under the final name.
func writeFileAtomic(path string, f func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	if err != nil {
		return fmt.Errorf("zk: write %s: %w", filepath.Base(path), err)
	}
	defer os.Remove(tmp.Name())
	bw := bufio.NewWriterSize(tmp, 1<<20)
	if err := f(bw); err != nil {
		tmp.Close()
		return fmt.Errorf("zk: write %s: %w", filepath.Base(path), err)
	}
	if err := bw.Flush(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Prove proves assignment (a full witness) and returns the compressed proof.
func (k *Keys) Prove(assignment frontend.Circuit) ([]byte, error) {
	w, err := frontend.NewWitness(assignment, ecc.BN254.ScalarField())
	if err != nil {
		return nil, fmt.Errorf("zk: witness: %w", err)
	}
	proof, err := groth16.Prove(k.CCS, k.PK, w)
	if err != nil {
		return nil, fmt.Errorf("zk: prove: %w", err)
	}
	var buf bytes.Buffer
	if _, err := proof.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("zk: encode proof: %w", err)
	}
	return buf.Bytes(), nil
}

// MaxProofSize bounds an encoded proof accepted from outside.
const MaxProofSize = 1024

// ParseProof decodes a compressed Groth16 proof, checking that its points
// are on the curve and in the right subgroups.
func ParseProof(b []byte) (groth16.Proof, error) {
	if len(b) == 0 || len(b) > MaxProofSize {
		return nil, fmt.Errorf("%w: proof size", ErrProof)
	}
	p := groth16.NewProof(ecc.BN254)
	n, err := p.ReadFrom(bytes.NewReader(b))
	if err != nil || n != int64(len(b)) {
		return nil, fmt.Errorf("%w: malformed proof", ErrProof)
	}
	return p, nil
}

// PublicWitness returns the public part of assignment.
func PublicWitness(assignment frontend.Circuit) (witness.Witness, error) {
	w, err := frontend.NewWitness(assignment, ecc.BN254.ScalarField(), frontend.PublicOnly())
	if err != nil {
		return nil, fmt.Errorf("zk: public witness: %w", err)
	}
	return w, nil
}

// Verify checks an encoded proof against the public assignment.
func (k *Keys) Verify(proof []byte, public frontend.Circuit) error {
	p, err := ParseProof(proof)
	if err != nil {
		return err
	}
	w, err := PublicWitness(public)
	if err != nil {
		return err
	}
	if err := groth16.Verify(p, k.VK, w); err != nil {
		return ErrProof
	}
	return nil
}

// InstalledKey returns the verifying-key id of name's keys in dir when they
// were made for the circuit with fingerprint fp, and whether they come from
// a development setup.
func InstalledKey(dir, name, fp string) (string, bool, error) {
	b, err := os.ReadFile(filepath.Join(dir, name+".json"))
	if err != nil {
		return "", false, err
	}
	var m keyMeta
	if err := json.Unmarshal(b, &m); err != nil {
		return "", false, err
	}
	if m.Circuit != fp {
		return "", false, errStale
	}
	return m.VKID, m.Development, nil
}
