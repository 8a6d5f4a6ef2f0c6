package persona

import (
	"bytes"
	"crypto/hpke"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/mustard-id/mustard/internal/keystore"
	"github.com/mustard-id/mustard/zk"
)

// Recovery without a provider holding the secret: the core secret is
// split k-of-n (Shamir over GF(2^8)), and each share is encrypted with
// HPKE (RFC 9180) to one guardian's key. The suite is the hybrid
// ML-KEM-768 + X25519 KEM, HKDF-SHA256 and AES-256-GCM: guardians keep
// shares for years, so they are protected against a future quantum
// computer as well as today's attacks.
//
// To recover, each of k guardians opens its share and re-encrypts it to a
// key the recovering person made on the new device (ReencryptShare): a
// share is never in clear outside a device. The new device combines them,
// checks the result against the wallet's check value, and seals it in its
// own keystore.

// Share file formats.
const (
	ShareFormat      = "mustard-recovery-share/v1"
	GuardianFormat   = "mustard-guardian-key/v1"
	GuardianPrivFmt  = "mustard-guardian-private-key/v1"
	maxShareFile     = 64 << 10
	recoveryInfoBase = "mustard/recovery/v1"
)

var (
	hpkeKEM  = hpke.MLKEM768X25519()
	hpkeKDF  = hpke.HKDFSHA256()
	hpkeAEAD = hpke.AES256GCM()
)

// GuardianKey is a guardian's (or a recovering device's) HPKE key pair.
type GuardianKey struct {
	priv hpke.PrivateKey
}

// GuardianPublic is a guardian's public key.
type GuardianPublic struct {
	pub hpke.PublicKey
}

type guardianKeyJSON struct {
	Format  string `json:"format"`
	KEM     uint16 `json:"kem"`
	Public  []byte `json:"public"`
	Private []byte `json:"private,omitempty"`
}

// NewGuardianKey makes a key pair.
func NewGuardianKey() (*GuardianKey, error) {
	k, err := hpkeKEM.GenerateKey()
	if err != nil {
		return nil, err
	}
	return &GuardianKey{priv: k}, nil
}

// Public returns the public half.
func (g *GuardianKey) Public() *GuardianPublic { return &GuardianPublic{pub: g.priv.PublicKey()} }

// MarshalPrivate encodes the private key file.
func (g *GuardianKey) MarshalPrivate() ([]byte, error) {
	b, err := g.priv.Bytes()
	if err != nil {
		return nil, err
	}
	return json.MarshalIndent(guardianKeyJSON{Format: GuardianPrivFmt, KEM: hpkeKEM.ID(), Public: g.priv.PublicKey().Bytes(), Private: b}, "", "  ")
}

// Marshal encodes the public key file.
func (p *GuardianPublic) Marshal() ([]byte, error) {
	return json.MarshalIndent(guardianKeyJSON{Format: GuardianFormat, KEM: hpkeKEM.ID(), Public: p.pub.Bytes()}, "", "  ")
}

// ID names the key: the first 8 bytes of SHA-256 of the public key, hex.
func (p *GuardianPublic) ID() string {
	h := sha256.Sum256(p.pub.Bytes())
	return hex.EncodeToString(h[:8])
}

// ParseGuardianPrivate decodes a private key file.
func ParseGuardianPrivate(b []byte) (*GuardianKey, error) {
	var j guardianKeyJSON
	if len(b) > maxShareFile || json.Unmarshal(b, &j) != nil || j.Format != GuardianPrivFmt || j.KEM != hpkeKEM.ID() {
		return nil, fmt.Errorf("%w: not a guardian private key file (%s)", ErrShares, GuardianPrivFmt)
	}
	k, err := hpkeKEM.NewPrivateKey(j.Private)
	if err != nil {
		return nil, fmt.Errorf("%w: guardian private key: %v", ErrShares, err)
	}
	return &GuardianKey{priv: k}, nil
}

// ParseGuardianPublic decodes a public key file.
func ParseGuardianPublic(b []byte) (*GuardianPublic, error) {
	var j guardianKeyJSON
	if len(b) > maxShareFile || json.Unmarshal(b, &j) != nil || j.Format != GuardianFormat || j.KEM != hpkeKEM.ID() {
		return nil, fmt.Errorf("%w: not a guardian public key file (%s)", ErrShares, GuardianFormat)
	}
	p, err := hpkeKEM.NewPublicKey(j.Public)
	if err != nil {
		return nil, fmt.Errorf("%w: guardian public key: %v", ErrShares, err)
	}
	return &GuardianPublic{pub: p}, nil
}

// RecoveryKit is what a recovered wallet needs besides its core secret:
// where it enrolled and its core credential, still encrypted under the
// storage key that the core secret derives.
type RecoveryKit struct {
	Server     string          `json:"server"`
	Issuer     string          `json:"issuer"`
	Governance json.RawMessage `json:"governance"`
	Grade      string          `json:"grade"`
	CoreExpiry int64           `json:"core_expiry"`
	Enrolled   time.Time       `json:"enrolled"`
	Core       []byte          `json:"core"` // core.enc as on disk
}

// SealedShare is one share file: a share of the core secret encrypted to
// one recipient (a guardian, or a recovering device), with the recovery
// kit. The header (everything but Sealed and Recipient) is HPKE's info, so
// that no field of it can be changed unnoticed.
type SealedShare struct {
	Format    string `json:"format"`
	Wallet    string `json:"wallet"` // the wallet's check value
	Threshold int    `json:"threshold"`
	Count     int    `json:"count"`
	X         int    `json:"x"`
	Kit       []byte `json:"kit"` // RecoveryKit JSON
	Recipient string `json:"recipient"`
	Sealed    []byte `json:"sealed"` // HPKE encapsulated key || ciphertext
}

func (s *SealedShare) info() []byte {
	h := sha256.New()
	h.Write([]byte(recoveryInfoBase))
	for _, f := range []string{s.Format, s.Wallet} {
		_ = binary.Write(h, binary.BigEndian, uint32(len(f)))
		h.Write([]byte(f))
	}
	_ = binary.Write(h, binary.BigEndian, [3]uint32{uint32(s.Threshold), uint32(s.Count), uint32(s.X)})
	kh := sha256.Sum256(s.Kit)
	h.Write(kh[:])
	return h.Sum(nil)
}

// ParseSealedShare decodes and bounds-checks a share file.
func ParseSealedShare(b []byte) (*SealedShare, error) {
	if len(b) > maxShareFile {
		return nil, fmt.Errorf("%w: share file larger than %d bytes", ErrShares, maxShareFile)
	}
	var s SealedShare
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("%w: not a share file: %v", ErrShares, err)
	}
	switch {
	case s.Format != ShareFormat:
		return nil, fmt.Errorf("%w: not a share file (format %q)", ErrShares, s.Format)
	case s.Threshold < 2 || s.Count < s.Threshold || s.Count > 255 || s.X < 1 || s.X > s.Count:
		return nil, fmt.Errorf("%w: share %d of %d-of-%d is impossible", ErrShares, s.X, s.Threshold, s.Count)
	case len(s.Wallet) != 64 || len(s.Sealed) == 0:
		return nil, fmt.Errorf("%w: incomplete share file", ErrShares)
	}
	return &s, nil
}

// Marshal encodes a share file.
func (s *SealedShare) Marshal() ([]byte, error) { return json.MarshalIndent(s, "", "  ") }

// coreSecret unseals the core secret's bytes; the caller clears them.
func (u *Unlocked) coreSecret(pin []byte) ([]byte, error) {
	s, err := u.Wallet.secret(pin)
	if err != nil {
		return nil, err
	}
	b := s.Bytes()
	return b[:], nil
}

// kit returns the wallet's recovery kit.
func (u *Unlocked) kit() ([]byte, error) {
	if !u.Enrolled() {
		return nil, ErrNotEnrolled
	}
	core, err := readBounded(filepath.Join(u.Dir, coreFile))
	if err != nil {
		return nil, err
	}
	return json.Marshal(RecoveryKit{Server: u.Meta.Server, Issuer: u.Meta.Issuer, Governance: u.Meta.Governance, Grade: u.Meta.Grade,
		CoreExpiry: u.Meta.CoreExpiry, Enrolled: u.Meta.Enrolled, Core: core})
}

// Split splits the core secret k-of-len(guardians), one share encrypted
// to each guardian, in order.
func (u *Unlocked) Split(pin []byte, k int, guardians []*GuardianPublic) ([]*SealedShare, error) {
	kit, err := u.kit()
	if err != nil {
		return nil, err
	}
	secret, err := u.coreSecret(pin)
	if err != nil {
		return nil, err
	}
	defer clear(secret)
	ys, err := shamirSplit(secret, k, len(guardians))
	if err != nil {
		return nil, err
	}
	out := make([]*SealedShare, len(guardians))
	for i, g := range guardians {
		s := &SealedShare{Format: ShareFormat, Wallet: u.Meta.Check, Threshold: k, Count: len(guardians), X: i + 1, Kit: kit, Recipient: g.ID()}
		if s.Sealed, err = hpke.Seal(g.pub, hpkeKDF, hpkeAEAD, s.info(), ys[i]); err != nil {
			return nil, err
		}
		clear(ys[i])
		out[i] = s
	}
	return out, nil
}

// open decrypts a share with the recipient's key.
func (s *SealedShare) open(k *GuardianKey) ([]byte, error) {
	if s.Recipient != k.Public().ID() {
		return nil, fmt.Errorf("%w: share %d is encrypted to key %s, not to %s", ErrShares, s.X, s.Recipient, k.Public().ID())
	}
	y, err := hpke.Open(k.priv, hpkeKDF, hpkeAEAD, s.info(), s.Sealed)
	if err != nil {
		return nil, fmt.Errorf("%w: share %d does not open: it was altered", ErrShares, s.X)
	}
	if len(y) != fr.Bytes {
		clear(y)
		return nil, fmt.Errorf("%w: share %d has the wrong size", ErrShares, s.X)
	}
	return y, nil
}

// Reencrypt is the guardian's step: it opens its share and encrypts it to
// the recovering device's key.
func (s *SealedShare) Reencrypt(guardian *GuardianKey, to *GuardianPublic) (*SealedShare, error) {
	y, err := s.open(guardian)
	if err != nil {
		return nil, err
	}
	defer clear(y)
	out := *s
	out.Recipient = to.ID()
	if out.Sealed, err = hpke.Seal(to.pub, hpkeKDF, hpkeAEAD, out.info(), y); err != nil {
		return nil, err
	}
	return &out, nil
}

// Recover combines shares encrypted to key and returns the core secret
// and the kit. It fails with fewer shares than the threshold, with shares
// of different wallets, and when the result does not match the wallet's
// check value (an altered share).
func Recover(shares []*SealedShare, key *GuardianKey) (secret []byte, kit *RecoveryKit, check string, err error) {
	if len(shares) == 0 {
		return nil, nil, "", fmt.Errorf("%w: no shares", ErrShares)
	}
	first := shares[0]
	if len(shares) < first.Threshold {
		return nil, nil, "", fmt.Errorf("%w: %d shares given, this wallet needs %d", ErrShares, len(shares), first.Threshold)
	}
	xs := make([]byte, 0, len(shares))
	ys := make([][]byte, 0, len(shares))
	defer func() {
		for _, y := range ys {
			clear(y)
		}
	}()
	for _, s := range shares {
		if s.Wallet != first.Wallet || s.Threshold != first.Threshold || s.Count != first.Count || !bytes.Equal(s.Kit, first.Kit) {
			return nil, nil, "", fmt.Errorf("%w: the shares come from different wallets or splits", ErrShares)
		}
		y, err := s.open(key)
		if err != nil {
			return nil, nil, "", err
		}
		xs = append(xs, byte(s.X))
		ys = append(ys, y)
	}
	secret, err = shamirCombine(xs, ys)
	if err != nil {
		return nil, nil, "", err
	}
	var e fr.Element
	if e.SetBytesCanonical(secret) != nil {
		clear(secret)
		return nil, nil, "", fmt.Errorf("%w: the shares do not combine to a core secret", ErrShares)
	}
	comm := zk.Commit(e)
	c := comm.Bytes()
	if checkValue(c[:]) != first.Wallet {
		clear(secret)
		return nil, nil, "", fmt.Errorf("%w: the shares do not combine to this wallet's core secret (one was altered)", ErrShares)
	}
	kit = new(RecoveryKit)
	if err := json.Unmarshal(first.Kit, kit); err != nil {
		clear(secret)
		return nil, nil, "", fmt.Errorf("%w: recovery kit: %v", ErrShares, err)
	}
	return secret, kit, first.Wallet, nil
}

// RestoreStore creates a wallet in dir around a recovered (or transferred)
// core secret, sealed by sealer under pin, with the kit's core credential.
func RestoreStore(dir string, sealer keystore.Sealer, pin, secret []byte, kit *RecoveryKit, check string, meta Meta) (*Store, error) {
	return restoreStore(dir, sealer, pin, secret, nil, kit, check, meta)
}

// restoreStore is RestoreStore with the secret already sealed when
// sealed is not nil.
func restoreStore(dir string, sealer keystore.Sealer, pin, secret, sealed []byte, kit *RecoveryKit, check string, meta Meta) (*Store, error) {
	if _, err := os.Stat(filepath.Join(dir, metaFile)); err == nil {
		return nil, ErrWalletExists
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if len(kit.Core) > 0 {
		// Before wallet.json exists: a failure leaves no wallet.
		if err := writeAtomic(filepath.Join(dir, coreFile), kit.Core); err != nil {
			return nil, err
		}
		meta.Server, meta.Issuer, meta.Governance = kit.Server, kit.Issuer, kit.Governance
		meta.Grade, meta.CoreExpiry, meta.Enrolled, meta.Check = kit.Grade, kit.CoreExpiry, kit.Enrolled, check
	}
	st, err := initStoreSealed(dir, sealer, pin, meta, secret, sealed)
	if err != nil {
		return nil, err
	}
	u, err := st.Unlock(sealer, pin)
	if err != nil {
		return nil, fmt.Errorf("persona: the restored wallet does not open: %w", err)
	}
	u.Close()
	return st, nil
}
