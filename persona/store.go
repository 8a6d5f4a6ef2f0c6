package persona

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/mustard-id/mustard/coreid"
	"github.com/mustard-id/mustard/internal/keystore"
	"github.com/mustard-id/mustard/zk"
)

// Wallet directory layout, version 1:
//
//	wallet.json           Meta: keystore kind, server, pinned governance keys (no secret, no attribute)
//	core.sealed           the core secret, sealed by the keystore under the PIN
//	core.enc              the core credential (encrypted)
//	personas/<id>.enc     one persona each: its private key and credential (encrypted)
//	audit/<time>-<r>.enc  one audit entry each: which persona was shown to whom, when (encrypted)
//
// Files ending in .enc are AES-256-GCM under the storage key, which HKDF
// derives from the core secret: whoever cannot unseal the core secret
// cannot read them, and a restored core secret (recovery, transfer) opens
// them again. Every write is atomic: a temporary file in the same
// directory, fsynced, renamed over the old one, and the directory fsynced.
const (
	StoreVersion = 1

	metaFile   = "wallet.json"
	sealedFile = "core.sealed"
	coreFile   = "core.enc"
	personaDir = "personas"
	auditDir   = "audit"

	encMagic   = "MSTW"
	encVersion = 1
	// maxFile bounds every wallet file read: a persona record holds an
	// SD-JWT VC of at most 64 KiB and a key.
	maxFile = 256 << 10
)

// Store errors.
var (
	ErrNoWallet      = errors.New("persona: no wallet in this directory: run `mustard wallet init` (or pass --wallet DIR)")
	ErrWalletExists  = errors.New("persona: a wallet already exists in this directory: use it, or pass --wallet with a new directory")
	ErrCorruptFile   = errors.New("wallet file is corrupt")
	ErrUnknownPerson = errors.New("persona: no such persona: see `mustard wallet persona list`")
	ErrRevokedCore   = errors.New("persona: this wallet's core identity was revoked: enroll a new wallet")
)

// FileError is a wallet file that cannot be read: it names the file and
// says how to fix it.
type FileError struct {
	Path string
	Err  error
	Fix  string
}

func (e *FileError) Error() string {
	return fmt.Sprintf("persona: wallet file %s is unreadable (%v): %s", e.Path, e.Err, e.Fix)
}

func (e *FileError) Unwrap() error { return e.Err }

const fixRestore = "restore it from a backup (`mustard wallet export`) or recover the wallet (`mustard wallet recovery restore`)"

// Meta is wallet.json: what can be known about a wallet without its PIN.
// It holds no secret and no personal attribute.
type Meta struct {
	Version       int           `json:"version"`
	Keystore      keystore.Kind `json:"keystore"`
	Device        string        `json:"device,omitempty"`         // TPM device path, when not the default
	SimulatorSeed int64         `json:"simulator_seed,omitempty"` // tpm-simulator only: protects nothing
	Created       time.Time     `json:"created"`
	// Server is the Mustard server the wallet enrolled with; Issuer the
	// persona-credential issuer's identifier there.
	Server string `json:"server,omitempty"`
	Issuer string `json:"issuer,omitempty"`
	// Governance are the trust framework's governance keys (a JWK set),
	// pinned at enrollment.
	Governance json.RawMessage `json:"governance,omitempty"`
	// GovernanceThreshold is how many of those keys must sign the
	// framework, pinned with them (0: one).
	GovernanceThreshold int       `json:"governance_threshold,omitempty"`
	Enrolled            time.Time `json:"enrolled,omitzero"`
	Grade               string    `json:"grade,omitempty"`
	CoreExpiry          int64     `json:"core_expiry,omitempty"`
	// Check is hex(SHA-256("mustard/wallet/check/v1" || commitment)): it
	// lets recovery and transfer tell the right core secret from a wrong
	// one without storing the commitment in clear.
	Check   string    `json:"check,omitempty"`
	Revoked time.Time `json:"revoked,omitzero"`
}

// Store is a wallet directory.
type Store struct {
	Dir  string
	Meta Meta
}

// DefaultDir is $MUSTARD_WALLET, else $XDG_DATA_HOME/mustard/wallet, else
// ~/.local/share/mustard/wallet.
func DefaultDir() (string, error) {
	if d := os.Getenv("MUSTARD_WALLET"); d != "" {
		return d, nil
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "mustard", "wallet"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("persona: no home directory: pass --wallet DIR: %w", err)
	}
	return filepath.Join(home, ".local", "share", "mustard", "wallet"), nil
}

// InitStore creates a wallet in dir (which must not hold one): a fresh
// core secret sealed by sealer under pin.
func InitStore(dir string, sealer keystore.Sealer, pin []byte, meta Meta) (*Store, error) {
	s, err := zk.RandomElement()
	if err != nil {
		return nil, err
	}
	b := s.Bytes()
	defer clear(b[:])
	return initStore(dir, sealer, pin, meta, b[:])
}

// initStore creates a wallet in dir around a given core secret.
func initStore(dir string, sealer keystore.Sealer, pin []byte, meta Meta, secret []byte) (*Store, error) {
	return initStoreSealed(dir, sealer, pin, meta, secret, nil)
}

// initStoreSealed is initStore with the secret already sealed by sealer
// under pin when sealed is not nil (a TPM imported it). A sealer that
// can seal duplicably does so.
func initStoreSealed(dir string, sealer keystore.Sealer, pin []byte, meta Meta, secret, sealed []byte) (*Store, error) {
	if _, err := os.Stat(filepath.Join(dir, metaFile)); err == nil {
		return nil, ErrWalletExists
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("persona: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("persona: create wallet directory: %w", err)
	}
	if sealed == nil {
		var err error
		if sealed, err = sealDuplicable(sealer, secret, pin); err != nil {
			return nil, fmt.Errorf("persona: seal core secret: %w", err)
		}
	}
	meta.Version = StoreVersion
	meta.Keystore = sealer.Kind()
	if meta.Created.IsZero() {
		meta.Created = time.Now().UTC().Truncate(time.Second)
	}
	st := &Store{Dir: dir, Meta: meta}
	// The sealed secret goes first: a wallet.json without it would be a
	// wallet that cannot open; a core.sealed without wallet.json is
	// overwritten by the next init.
	if err := writeAtomic(filepath.Join(dir, sealedFile), sealed); err != nil {
		return nil, err
	}
	if err := st.SaveMeta(); err != nil {
		return nil, err
	}
	return st, nil
}

// OpenStore opens the wallet in dir.
func OpenStore(dir string) (*Store, error) {
	path := filepath.Join(dir, metaFile)
	b, err := readBounded(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNoWallet
	}
	if err != nil {
		return nil, err
	}
	st := &Store{Dir: dir}
	if err := json.Unmarshal(b, &st.Meta); err != nil {
		return nil, &FileError{Path: path, Err: fmt.Errorf("%w: %v", ErrCorruptFile, err), Fix: fixRestore}
	}
	switch {
	case st.Meta.Version != StoreVersion:
		return nil, &FileError{Path: path, Err: fmt.Errorf("%w: version %d", ErrCorruptFile, st.Meta.Version), Fix: "this wallet was written by another version of mustard: use that version"}
	case st.Meta.Keystore != keystore.KindTPM && st.Meta.Keystore != keystore.KindSimulator && st.Meta.Keystore != keystore.KindSoftware:
		return nil, &FileError{Path: path, Err: fmt.Errorf("%w: unknown keystore %q", ErrCorruptFile, st.Meta.Keystore), Fix: fixRestore}
	}
	return st, nil
}

// SaveMeta writes wallet.json atomically.
func (st *Store) SaveMeta() error {
	b, err := json.MarshalIndent(st.Meta, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(filepath.Join(st.Dir, metaFile), append(b, '\n'))
}

// OpenSealer opens the keystore this wallet was created with.
func (st *Store) OpenSealer() (keystore.Sealer, error) {
	switch st.Meta.Keystore {
	case keystore.KindTPM:
		dev := st.Meta.Device
		if dev == "" {
			dev = keystore.DefaultDevice
		}
		return keystore.OpenTPM(dev)
	case keystore.KindSimulator:
		return keystore.OpenSimulator(st.Meta.SimulatorSeed)
	default:
		return keystore.NewSoftware(), nil
	}
}

// Enrolled reports whether the wallet holds a core credential.
func (st *Store) Enrolled() bool { return !st.Meta.Enrolled.IsZero() }

// Counts returns how many personas and audit entries the wallet holds,
// without opening them.
func (st *Store) Counts() (personas, audit int, err error) {
	p, err := listEnc(filepath.Join(st.Dir, personaDir))
	if err != nil {
		return 0, 0, err
	}
	a, err := listEnc(filepath.Join(st.Dir, auditDir))
	if err != nil {
		return 0, 0, err
	}
	return len(p), len(a), nil
}

// Unlocked is a wallet opened with its PIN.
type Unlocked struct {
	*Store
	Wallet *Wallet
	key    []byte // storage key; cleared by Close
}

// Unlock unseals the core secret with pin (checking the PIN once, so that
// a wrong one fails here), derives the storage key and loads the core
// credential if there is one.
func (st *Store) Unlock(sealer keystore.Sealer, pin []byte) (*Unlocked, error) {
	path := filepath.Join(st.Dir, sealedFile)
	sealed, err := readBounded(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &FileError{Path: path, Err: err, Fix: fixRestore}
	}
	if err != nil {
		return nil, err
	}
	w := &Wallet{Sealer: sealer, Sealed: sealed}
	s, err := w.secret(pin)
	if errors.Is(err, keystore.ErrCorrupt) {
		return nil, &FileError{Path: path, Err: err, Fix: fixRestore}
	}
	if err != nil {
		return nil, err
	}
	b := s.Bytes()
	key, err := storageKey(b[:])
	clear(b[:])
	if err != nil {
		return nil, err
	}
	u := &Unlocked{Store: st, Wallet: w, key: key}
	if st.Enrolled() {
		var cj coreJSON
		if err := u.readEnc(coreFile, &cj); err != nil {
			return nil, err
		}
		if w.Core, err = cj.core(); err != nil {
			return nil, &FileError{Path: filepath.Join(st.Dir, coreFile), Err: fmt.Errorf("%w: %v", ErrCorruptFile, err), Fix: fixRestore}
		}
	}
	return u, nil
}

// Close forgets the storage key.
func (u *Unlocked) Close() { clear(u.key) }

// storageKey derives the key of the wallet's .enc files from the core
// secret.
func storageKey(secret []byte) ([]byte, error) {
	return hkdf.Key(sha256.New, secret, nil, "mustard/wallet/storage/v1", 32)
}

// checkValue is Meta.Check for a commitment.
func checkValue(c []byte) string {
	h := sha256.New()
	h.Write([]byte("mustard/wallet/check/v1"))
	h.Write(c)
	return hex.EncodeToString(h.Sum(nil))
}

// coreJSON is core.enc's content.
type coreJSON struct {
	Enrollment coreid.EnrollmentJSON `json:"enrollment"`
	MaxGrade   uint64                `json:"max_grade"`
	ValidUntil int64                 `json:"valid_until"`
}

func (c *coreJSON) core() (*Core, error) {
	cred, err := coreid.FromJSON(c.Enrollment.Credential)
	if err != nil {
		return nil, err
	}
	kb, err := hex.DecodeString(c.Enrollment.ProviderKey)
	if err != nil {
		return nil, err
	}
	pk, err := zk.ParsePublicKey(kb)
	if err != nil {
		return nil, err
	}
	sig, err := hex.DecodeString(c.Enrollment.Signature)
	if err != nil {
		return nil, err
	}
	if err := pk.Verify(cred.Message(), sig); err != nil {
		return nil, err
	}
	return &Core{Credential: cred, Signature: sig, ProviderKey: pk, MaxGrade: c.MaxGrade, ValidUntil: c.ValidUntil}, nil
}

func coreToJSON(c *Core) coreJSON {
	return coreJSON{
		Enrollment: coreid.EnrollmentJSON{
			Credential:  coreid.ToJSON(&c.Credential),
			Signature:   hex.EncodeToString(c.Signature),
			ProviderKey: hex.EncodeToString(c.ProviderKey.Bytes()),
			MaxGrade:    c.MaxGrade,
			ValidUntil:  c.ValidUntil,
		},
		MaxGrade:   c.MaxGrade,
		ValidUntil: c.ValidUntil,
	}
}

// SaveCore writes the core credential (encrypted) and records the
// enrollment in wallet.json.
func (u *Unlocked) SaveCore(server, issuerID string, governance []byte) error {
	if u.Wallet.Core == nil {
		return ErrNotEnrolled
	}
	cj := coreToJSON(u.Wallet.Core)
	if err := u.writeEnc(coreFile, cj); err != nil {
		return err
	}
	cb := u.Wallet.Core.Credential.Commitment.Bytes()
	u.Meta.Server, u.Meta.Issuer, u.Meta.Governance = server, issuerID, governance
	u.Meta.Enrolled = time.Now().UTC().Truncate(time.Second)
	u.Meta.Grade = zk.GradeName(u.Wallet.Core.Credential.Grade)
	u.Meta.CoreExpiry = u.Wallet.Core.Credential.Expiry
	u.Meta.Check = checkValue(cb[:])
	return u.SaveMeta()
}

// Record is a persona the wallet holds: its key and its credential.
type Record struct {
	ID          string          `json:"id"`
	Scope       string          `json:"scope"`
	Pseudonym   string          `json:"pseudonym"`
	Key         json.RawMessage `json:"key"` // the private persona key, a JWK
	Credential  string          `json:"credential"`
	Format      string          `json:"format"`
	Issuer      string          `json:"issuer"`
	StatusIndex int64           `json:"status_index"`
	Expiry      int64           `json:"exp"`
	Grade       string          `json:"grade,omitempty"` // the grade the persona proves
	Predicates  []string        `json:"predicates,omitempty"`
	Disclosed   []string        `json:"disclosed,omitempty"`
	Created     time.Time       `json:"created"`
	// DeviceBound: the persona was proved with the TPM's device key
	// (circuits/devicebound), so its credential names the device-bound
	// verifying key; only such a persona answers a device_bound request.
	DeviceBound bool `json:"device_bound,omitempty"`
}

// NewID returns a random identifier for a persona: random, so that file
// names say nothing about the persona.
func NewID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func validID(id string) bool {
	if len(id) != 16 {
		return false
	}
	_, err := hex.DecodeString(id)
	return err == nil
}

// SavePersona writes a persona record (encrypted).
func (u *Unlocked) SavePersona(r *Record) error {
	if !validID(r.ID) {
		return fmt.Errorf("persona: bad persona id %q", r.ID)
	}
	return u.writeEnc(filepath.Join(personaDir, r.ID+".enc"), r)
}

// DeletePersona removes a persona record.
func (u *Unlocked) DeletePersona(id string) error {
	if !validID(id) {
		return ErrUnknownPerson
	}
	err := os.Remove(filepath.Join(u.Dir, personaDir, id+".enc"))
	if errors.Is(err, fs.ErrNotExist) {
		return ErrUnknownPerson
	}
	return err
}

// Personas returns every persona, sorted by scope.
func (u *Unlocked) Personas() ([]*Record, error) {
	names, err := listEnc(filepath.Join(u.Dir, personaDir))
	if err != nil {
		return nil, err
	}
	out := make([]*Record, 0, len(names))
	for _, n := range names {
		var r Record
		if err := u.readEnc(filepath.Join(personaDir, n), &r); err != nil {
			return nil, err
		}
		out = append(out, &r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Scope < out[j].Scope })
	return out, nil
}

// Persona finds a persona by id or by scope.
func (u *Unlocked) Persona(idOrScope string) (*Record, error) {
	all, err := u.Personas()
	if err != nil {
		return nil, err
	}
	for _, r := range all {
		if r.ID == idOrScope || r.Scope == idOrScope {
			return r, nil
		}
	}
	return nil, ErrUnknownPerson
}

// AuditEntry is one line of the holder's own audit trail.
type AuditEntry struct {
	Time      time.Time `json:"time"`
	Event     string    `json:"event"` // enroll, persona, present, revoke, export, recovery, transfer
	Persona   string    `json:"persona,omitempty"`
	Scope     string    `json:"scope,omitempty"`
	Audience  string    `json:"audience,omitempty"`
	Disclosed []string  `json:"disclosed,omitempty"`
	Outcome   string    `json:"outcome"`
}

// Audit appends an entry to the audit trail.
func (u *Unlocked) Audit(e AuditEntry) error {
	if e.Time.IsZero() {
		e.Time = time.Now().UTC()
	}
	name := fmt.Sprintf("%020d-%s.enc", e.Time.UnixNano(), NewID()[:8])
	return u.writeEnc(filepath.Join(auditDir, name), e)
}

// AuditTrail returns the audit trail, oldest first.
func (u *Unlocked) AuditTrail() ([]AuditEntry, error) {
	names, err := listEnc(filepath.Join(u.Dir, auditDir))
	if err != nil {
		return nil, err
	}
	out := make([]AuditEntry, 0, len(names))
	for _, n := range names {
		var e AuditEntry
		if err := u.readEnc(filepath.Join(auditDir, n), &e); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// listEnc lists the .enc files of dir, sorted; a missing dir is empty.
func listEnc(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("persona: %w", err)
	}
	var out []string
	for _, e := range ents {
		if e.Type().IsRegular() && strings.HasSuffix(e.Name(), ".enc") {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out, nil
}

// writeEnc encrypts v's JSON under the storage key, with the file's name
// inside the wallet as additional data (so that files cannot be swapped),
// and writes it atomically.
func (u *Unlocked) writeEnc(name string, v any) error {
	plain, err := json.Marshal(v)
	if err != nil {
		return err
	}
	defer clear(plain)
	box, err := sealFile(u.key, filepath.ToSlash(name), plain)
	if err != nil {
		return err
	}
	path := filepath.Join(u.Dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("persona: %w", err)
	}
	return writeAtomic(path, box)
}

func (u *Unlocked) readEnc(name string, v any) error {
	path := filepath.Join(u.Dir, name)
	box, err := readBounded(path)
	if err != nil {
		return &FileError{Path: path, Err: err, Fix: fixRestore}
	}
	plain, err := openFile(u.key, filepath.ToSlash(name), box)
	if err != nil {
		return &FileError{Path: path, Err: err, Fix: fixRestore}
	}
	defer clear(plain)
	if err := json.Unmarshal(plain, v); err != nil {
		return &FileError{Path: path, Err: fmt.Errorf("%w: %v", ErrCorruptFile, err), Fix: fixRestore}
	}
	return nil
}

// sealFile encrypts plain: magic | version | nonce | AES-256-GCM, with
// magic, version and name as additional data.
func sealFile(key []byte, name string, plain []byte) ([]byte, error) {
	aead, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(encMagic)+1+aead.NonceSize()+len(plain)+aead.Overhead())
	out = append(out, encMagic...)
	out = append(out, encVersion)
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	out = append(out, nonce...)
	return aead.Seal(out, nonce, plain, fileAD(name)), nil
}

// openFile decrypts a sealFile box. Every failure wraps ErrCorruptFile:
// the storage key comes from a core secret that was just unsealed, so a
// box that does not open was damaged, altered or belongs to another wallet.
func openFile(key []byte, name string, box []byte) ([]byte, error) {
	aead, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	hdr := len(encMagic) + 1 + aead.NonceSize()
	if len(box) < hdr+aead.Overhead() || string(box[:len(encMagic)]) != encMagic {
		return nil, fmt.Errorf("%w: not a wallet file", ErrCorruptFile)
	}
	if box[len(encMagic)] != encVersion {
		return nil, fmt.Errorf("%w: unknown version %d", ErrCorruptFile, box[len(encMagic)])
	}
	plain, err := aead.Open(nil, box[len(encMagic)+1:hdr], box[hdr:], fileAD(name))
	if err != nil {
		return nil, fmt.Errorf("%w: it was damaged, altered or comes from another wallet", ErrCorruptFile)
	}
	return plain, nil
}

func fileAD(name string) []byte {
	return append([]byte{encMagic[0], encMagic[1], encMagic[2], encMagic[3], encVersion}, name...)
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// readBounded reads a wallet file of at most maxFile bytes.
func readBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxFile {
		return nil, &FileError{Path: path, Err: fmt.Errorf("%w: larger than %d bytes", ErrCorruptFile, maxFile), Fix: fixRestore}
	}
	return b, nil
}

// writeAtomic replaces path with data: never half-written, whatever
// happens in between. The file is private to its owner.
func writeAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("persona: write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = f.Chmod(0o600); err != nil {
		return fmt.Errorf("persona: write %s: %w", path, err)
	}
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("persona: write %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("persona: write %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("persona: write %s: %w", path, err)
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("persona: write %s: %w", path, err)
	}
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
