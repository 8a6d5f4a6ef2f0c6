package persona

import (
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/mustard-id/mustard/internal/aead"
	"github.com/mustard-id/mustard/internal/keystore"
	"github.com/mustard-id/mustard/zk"
)

// Device transfer: the core secret, and the wallet's encrypted files, move
// from one device to another over a channel that a short code typed on the
// receiving device authenticates.
//
// Protocol (each message a 4-byte big-endian length and a JSON object):
//
//	R → S  {"v":1,"pub":X25519 public key of R}
//	S → R  {"pub":X25519 public key of S}
//	       T   = "mustard/transfer/v1" | pubR | pubS
//	       prk = HKDF-Extract(salt = SHA-256("mustard/transfer/code" | code), X25519(R, S))
//	       kR, kS, kE, sas = HKDF-Expand(prk, label | T)
//	R → S  {"mac":HMAC(kR, T)}          R proves it knows the code
//	S → R  {"mac":HMAC(kS, T), "box":AES-256-GCM(kE, payload)}  only if R's MAC was right
//	R → S  {"ok":true}                  R sealed the secret in its keystore
//
// An attacker in the middle must know the code to pass R's confirmation;
// the sender accepts one attempt per code, so the code cannot be guessed
// online, and a wrong guess leaves only a MAC that must be brute-forced
// within the session's lifetime. Both devices also show a six-digit
// short authentication string (SAS) derived from T: with an attacker in
// the middle, they differ.

// Transfer errors.
var (
	ErrTransfer     = errors.New("persona: transfer")
	ErrTransferCode = errors.New("persona: transfer: the code does not match: start again on the sending device")
)

// codeAlphabet is Crockford's base32 without I, L, O, U: no two letters a
// person confuses.
const codeAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// NewTransferCode returns a fresh code of 10 symbols (50 bits), shown as
// XXXXX-XXXXX.
func NewTransferCode() string {
	var b [10]byte
	_, _ = rand.Read(b[:])
	var sb strings.Builder
	for i, x := range b {
		if i == 5 {
			sb.WriteByte('-')
		}
		sb.WriteByte(codeAlphabet[x&31])
	}
	return sb.String()
}

// normalizeCode maps what a person typed to the code's symbols: case,
// spaces and dashes do not matter; O reads as 0, I and L as 1.
func normalizeCode(c string) (string, error) {
	var sb strings.Builder
	for _, r := range strings.ToUpper(c) {
		switch {
		case r == '-' || r == ' ':
			continue
		case r == 'O':
			r = '0'
		case r == 'I' || r == 'L':
			r = '1'
		}
		if !strings.ContainsRune(codeAlphabet, r) {
			return "", fmt.Errorf("%w: the code has a character that is not in it (%q)", ErrTransfer, r)
		}
		sb.WriteRune(r)
	}
	if sb.Len() != 10 {
		return "", fmt.Errorf("%w: the code has 10 characters, like 7KQ2M-9XD4P", ErrTransfer)
	}
	return sb.String(), nil
}

// TransferPayload is what moves: the core secret and the wallet's files,
// which stay encrypted under the storage key that the secret derives.
type TransferPayload struct {
	Secret []byte            `json:"secret"`
	Check  string            `json:"check"`
	Kit    RecoveryKit       `json:"kit"`
	Files  map[string][]byte `json:"files"` // personas/…, audit/…
	// TPMImport, when the receiver offered its TPM's storage key and the
	// sender holds the secret in software, is the core secret wrapped for
	// that key, and Secret is empty.
	TPMImport *TPMImport `json:"tpm_import,omitempty"`
	// Duplicate, when both ends have a TPM, is the sealed core secret
	// duplicated by the sender's TPM for the receiver's storage key
	// (TPM2_Duplicate), and Secret is empty.
	Duplicate *keystore.Duplicated `json:"tpm_duplicate,omitempty"`
	// Rebind is the old device's authorization to bind the core
	// credential to the receiver's device key (coreid.Rebind).
	Rebind *RebindAuthorization `json:"rebind,omitempty"`
	// Sealed is, on the receiver, the core secret as the receiving TPM
	// imported it: a keystore blob under the new PIN. It never travels.
	Sealed []byte `json:"-"`
}

// TransferPayload gathers what a transfer sends, the core secret
// unsealed.
func (u *Unlocked) TransferPayload(pin []byte) (*TransferPayload, error) {
	p, err := u.TransferFiles()
	if err != nil {
		return nil, err
	}
	if p.Secret, err = u.coreSecret(pin); err != nil {
		return nil, err
	}
	return p, nil
}

// TransferFiles gathers what a transfer sends except the core secret:
// the recovery kit, the personas and the audit trail, all still
// encrypted under the storage key.
func (u *Unlocked) TransferFiles() (*TransferPayload, error) {
	kb, err := u.kit()
	if err != nil {
		return nil, err
	}
	p := &TransferPayload{Check: u.Meta.Check, Files: map[string][]byte{}}
	if err := json.Unmarshal(kb, &p.Kit); err != nil {
		return nil, err
	}
	for _, d := range []string{personaDir, auditDir} {
		names, err := listEnc(filepath.Join(u.Dir, d))
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			b, err := readBounded(filepath.Join(u.Dir, d, n))
			if err != nil {
				return nil, err
			}
			p.Files[d+"/"+n] = b
		}
	}
	return p, nil
}

// maxTransferMessage bounds one protocol message.
const maxTransferMessage = 32 << 20

type transferMsg struct {
	V   int                    `json:"v,omitempty"`
	Pub []byte                 `json:"pub,omitempty"`
	TPM []byte                 `json:"tpm,omitempty"`       // the receiver's TPM storage key (TPMT_PUBLIC)
	Att *ReceiverAttestation   `json:"att,omitempty"`       // and its TPM's EK and AK
	Chl *receiverChallenge     `json:"challenge,omitempty"` // the sender's credential challenge
	Crt *receiverCertification `json:"cert,omitempty"`      // the receiver's answer
	MAC []byte                 `json:"mac,omitempty"`
	Box []byte                 `json:"box,omitempty"`
	OK  bool                   `json:"ok,omitempty"`
	Err string                 `json:"err,omitempty"`
}

func writeMsg(w io.Writer, m transferMsg) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], uint32(len(b)))
	if _, err := w.Write(append(hdr[:], b...)); err != nil {
		return fmt.Errorf("%w: %v", ErrTransfer, err)
	}
	return nil
}

func readMsg(r io.Reader) (transferMsg, error) {
	var m transferMsg
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return m, fmt.Errorf("%w: the other device hung up (%v)", ErrTransfer, err)
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n > maxTransferMessage {
		return m, fmt.Errorf("%w: message too large", ErrTransfer)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return m, fmt.Errorf("%w: the other device hung up (%v)", ErrTransfer, err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("%w: malformed message", ErrTransfer)
	}
	if m.Err != "" {
		return m, fmt.Errorf("%w: the other device says: %s", ErrTransfer, m.Err)
	}
	return m, nil
}

// transferKeys are the session's keys.
type transferKeys struct {
	transcript     []byte
	kR, kS, kE, kA []byte // kA: the TPM transfer authorization
	SAS            string
}

func deriveTransfer(code string, priv *ecdh.PrivateKey, peer []byte, pubR, pubS, tpmKey []byte, att *ReceiverAttestation) (*transferKeys, error) {
	pk, err := ecdh.X25519().NewPublicKey(peer)
	if err != nil {
		return nil, fmt.Errorf("%w: bad public key", ErrTransfer)
	}
	shared, err := priv.ECDH(pk)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTransfer, err)
	}
	defer clear(shared)
	salt := sha256.Sum256(append([]byte("mustard/transfer/code|"), code...))
	prk, err := hkdf.Extract(sha256.New, shared, salt[:])
	if err != nil {
		return nil, err
	}
	defer clear(prk)
	// The receiver's TPM storage key is part of the transcript: an
	// attacker in the middle cannot swap in its own.
	tk := sha256.Sum256(tpmKey)
	t := append(append(append([]byte("mustard/transfer/v1|"), pubR...), pubS...), tk[:]...)
	if att != nil {
		t = append(t, att.digest()...)
	}
	k := &transferKeys{transcript: t}
	for _, x := range []struct {
		label string
		out   *[]byte
	}{{"confirm-receiver", &k.kR}, {"confirm-sender", &k.kS}, {"encrypt", &k.kE}, {"tpm-auth", &k.kA}} {
		if *x.out, err = hkdf.Expand(sha256.New, prk, x.label+"|"+string(t), 32); err != nil {
			return nil, err
		}
	}
	s, err := hkdf.Expand(sha256.New, prk, "sas|"+string(t), 4)
	if err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(s) % 1000000
	k.SAS = fmt.Sprintf("%03d %03d", n/1000, n%1000)
	return k, nil
}

func mac(key, msg []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write(msg)
	return h.Sum(nil)
}

// SendResult says how a transfer went.
type SendResult struct {
	// TPM is true when the secret was wrapped for the receiver's TPM.
	TPM bool
	// Duplicated is true when this TPM duplicated the secret for the
	// receiver's (TPM2_Duplicate): it was never in clear on the way.
	Duplicated bool
	// Attested is true when the receiver's storage key was proven to be
	// a genuine TPM's.
	Attested bool
}

// SendOptions tune the sender's side of a transfer.
type SendOptions struct {
	// SAS is called with the short authentication string before anything
	// secret is sent; an error from it aborts the transfer.
	SAS func(string) error
	// Secret returns the core secret in clear, when the payload does not
	// hold it and it is needed: for a receiver without a TPM, or when
	// Duplicate is nil.
	Secret func() ([]byte, error)
	// Duplicate, if set, is this device's TPM duplicating the sealed
	// secret for a receiver's storage key under the transfer
	// authorization (keystore.TPM.Duplicate with the blob and PIN).
	Duplicate func(storageKey, transferAuth []byte) (*keystore.Duplicated, error)
	// EKRoots are the TPM manufacturers' roots a receiver's EK
	// certificate must chain to.
	EKRoots *x509.CertPool
	// AllowUnattested sends to a receiver whose storage key is not
	// attested (no roots here, no TPM there, or an attestation that
	// fails): the secret's safety then rests on the code alone.
	AllowUnattested bool
	// Now is the clock for certificate validity; nil means time.Now.
	Now func() time.Time
	// Rebind, if set, signs with this device's key the authorization to
	// bind the core credential to the receiver's device key hash (zero
	// for a receiver without a TPM): Unlocked.RebindFunc.
	Rebind func(newDeviceKeyHash fr.Element) (*RebindAuthorization, error)
}

// SendTransfer runs the sender's side on conn: it checks that the receiver
// knows code, then sends payload encrypted (the secret wrapped for the
// receiver's TPM when it offers one). sas is called with the short
// authentication string before anything secret is sent; an error from it
// aborts the transfer.
//
// It sends to any receiver, attested or not: SendTransferWith sets the
// receiver's attestation requirements.
func SendTransfer(conn io.ReadWriter, code string, payload *TransferPayload, sas func(string) error) (*SendResult, error) {
	return SendTransferWith(conn, code, payload, SendOptions{SAS: sas, AllowUnattested: true})
}

// SendTransferWith runs the sender's side on conn with opts. A receiver
// offering a TPM storage key must prove it a genuine TPM's (see
// ReceiverAttestation) unless opts.AllowUnattested; one offering none is
// refused with ErrReceiverUnattested unless opts.AllowUnattested.
func SendTransferWith(conn io.ReadWriter, code string, payload *TransferPayload, opts SendOptions) (*SendResult, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	code, err := normalizeCode(code)
	if err != nil {
		return nil, err
	}
	m, err := readMsg(conn)
	if err != nil {
		return nil, err
	}
	if m.V != 1 || len(m.Pub) != 32 {
		return nil, fmt.Errorf("%w: the other device speaks another protocol version", ErrTransfer)
	}
	priv, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	pubS := priv.PublicKey().Bytes()
	if len(m.TPM) > maxTPMField {
		return nil, fmt.Errorf("%w: storage key too large", ErrTransfer)
	}
	tpmKey, att := m.TPM, m.Att
	// The receiver's attestation is checked before anything else: a
	// receiver that cannot be attested learns nothing but a refusal.
	var pending *pendingReceiver
	var chl *receiverChallenge
	var attErr error
	switch {
	case len(tpmKey) == 0:
		attErr = fmt.Errorf("%w: it has no TPM", ErrReceiverUnattested)
	case opts.EKRoots == nil:
		attErr = fmt.Errorf("%w: no TPM manufacturer roots to check it against", ErrReceiverUnattested)
	default:
		pending, chl, attErr = challengeReceiver(att, tpmKey, opts.EKRoots, opts.Now())
	}
	if attErr != nil && !opts.AllowUnattested {
		_ = writeMsg(conn, transferMsg{Err: "this device's TPM is not attested: the sender refuses to send"})
		return nil, attErr
	}
	if err := writeMsg(conn, transferMsg{Pub: pubS, Chl: chl}); err != nil {
		return nil, err
	}
	k, err := deriveTransfer(code, priv, m.Pub, m.Pub, pubS, tpmKey, att)
	if err != nil {
		return nil, err
	}
	if m, err = readMsg(conn); err != nil {
		return nil, err
	}
	if !hmac.Equal(m.MAC, mac(k.kR, k.transcript)) {
		_ = writeMsg(conn, transferMsg{Err: "the code does not match"})
		return nil, ErrTransferCode
	}
	res := &SendResult{}
	if pending != nil {
		if err := pending.verify(m.Crt); err != nil {
			if !opts.AllowUnattested {
				_ = writeMsg(conn, transferMsg{Err: "this device's TPM is not attested: the sender refuses to send"})
				return nil, err
			}
		} else {
			res.Attested = true
		}
	}
	if opts.SAS != nil {
		if err := opts.SAS(k.SAS); err != nil {
			_ = writeMsg(conn, transferMsg{Err: "the sender did not confirm"})
			return nil, err
		}
	}
	out := *payload
	payload = &out
	switch {
	case len(tpmKey) > 0 && opts.Duplicate != nil:
		d, err := opts.Duplicate(tpmKey, k.kA)
		if err != nil {
			_ = writeMsg(conn, transferMsg{Err: "the sender's TPM could not duplicate the secret for this TPM"})
			return nil, err
		}
		out.Secret, out.Duplicate, res.TPM, res.Duplicated = nil, d, true, true
	default:
		secret := payload.Secret
		if len(secret) == 0 {
			if opts.Secret == nil {
				_ = writeMsg(conn, transferMsg{Err: "the sender cannot send the secret"})
				return nil, fmt.Errorf("%w: no way to send the secret", ErrTransfer)
			}
			if secret, err = opts.Secret(); err != nil {
				_ = writeMsg(conn, transferMsg{Err: "the sender could not unseal the secret"})
				return nil, err
			}
			defer clear(secret)
		}
		out.Secret = secret
		if len(tpmKey) > 0 {
			w, err := WrapForTPM(tpmKey, secret)
			if err != nil {
				_ = writeMsg(conn, transferMsg{Err: "cannot wrap the secret for this TPM"})
				return nil, err
			}
			out.Secret, out.TPMImport, res.TPM = nil, w, true
		}
	}
	if opts.Rebind != nil {
		var dev []byte
		if att != nil {
			dev = att.Device
		}
		h, err := deviceKeyHashOf(dev)
		if err != nil {
			_ = writeMsg(conn, transferMsg{Err: "the device key is malformed"})
			return nil, err
		}
		if out.Rebind, err = opts.Rebind(h); err != nil {
			_ = writeMsg(conn, transferMsg{Err: "the sender could not authorize the rebinding"})
			return nil, fmt.Errorf("%w: authorize the rebinding: %v", ErrTransfer, err)
		}
	}
	plain, err := json.Marshal(payload)
	if err != nil {
		return nil, err
	}
	defer clear(plain)
	box, err := sealBox(k.kE, plain)
	if err != nil {
		return nil, err
	}
	if err := writeMsg(conn, transferMsg{MAC: mac(k.kS, k.transcript), Box: box}); err != nil {
		return nil, err
	}
	if m, err = readMsg(conn); err != nil {
		return nil, err
	}
	if !m.OK {
		return nil, fmt.Errorf("%w: the receiving device did not confirm", ErrTransfer)
	}
	return res, nil
}

// ReceiveOptions tune the receiver's side of a transfer.
type ReceiveOptions struct {
	// SAS is called with the short authentication string as soon as it
	// is known.
	SAS func(string)
	// Importer, if set, is this device's TPM: the receiver offers its
	// storage key and accepts the secret only wrapped for it.
	Importer TPMImporter
	// TPM, if set, is this device's TPM with attestation: the receiver
	// offers its storage key, EK and AK, answers the sender's challenge,
	// and accepts the secret only duplicated or wrapped for it; a
	// duplicate is imported under PIN into Payload.Sealed. It takes
	// Importer's place.
	TPM TPMReceiver
	// PIN is the new wallet's PIN, for a duplicate's import.
	PIN []byte
}

// ReceiveTransfer runs the receiver's side on conn. store keeps the
// payload (seals the secret); its success is acknowledged to the sender.
func ReceiveTransfer(conn io.ReadWriter, code string, opts ReceiveOptions, store func(*TransferPayload) error) error {
	code, err := normalizeCode(code)
	if err != nil {
		return err
	}
	priv, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	pubR := priv.PublicKey().Bytes()
	var tpmKey []byte
	var att *ReceiverAttestation
	if opts.TPM != nil {
		opts.Importer = opts.TPM
		if att, err = receiverAttestation(opts.TPM); err != nil {
			return fmt.Errorf("%w: this TPM's attestation keys: %v", ErrTransfer, err)
		}
	}
	if opts.Importer != nil {
		if tpmKey, err = opts.Importer.StorageKey(); err != nil {
			return fmt.Errorf("%w: this TPM's storage key: %v", ErrTransfer, err)
		}
	}
	if err := writeMsg(conn, transferMsg{V: 1, Pub: pubR, TPM: tpmKey, Att: att}); err != nil {
		return err
	}
	m, err := readMsg(conn)
	if err != nil {
		if strings.Contains(err.Error(), "not attested") {
			return fmt.Errorf("%w: %v", ErrReceiverUnattested, err)
		}
		return err
	}
	k, err := deriveTransfer(code, priv, m.Pub, pubR, m.Pub, tpmKey, att)
	if err != nil {
		return err
	}
	if opts.SAS != nil {
		opts.SAS(k.SAS)
	}
	var crt *receiverCertification
	if m.Chl != nil && opts.TPM != nil {
		c, err := opts.TPM.CertifyStorageKey(m.Chl.IDObject, m.Chl.EncSecret)
		if err != nil {
			_ = writeMsg(conn, transferMsg{Err: "this TPM could not answer the attestation challenge"})
			return fmt.Errorf("%w: attestation: %v", ErrTransfer, err)
		}
		crt = &receiverCertification{Credential: c.Credential, CertifyInfo: c.CertifyInfo, Signature: c.Signature}
	}
	if err := writeMsg(conn, transferMsg{MAC: mac(k.kR, k.transcript), Crt: crt}); err != nil {
		return err
	}
	if m, err = readMsg(conn); err != nil {
		if strings.Contains(err.Error(), "code does not match") {
			return ErrTransferCode
		}
		if strings.Contains(err.Error(), "not attested") {
			return fmt.Errorf("%w: %v", ErrReceiverUnattested, err)
		}
		return err
	}
	if !hmac.Equal(m.MAC, mac(k.kS, k.transcript)) {
		return fmt.Errorf("%w: the sending device could not prove it knows the code: someone may be in between", ErrTransfer)
	}
	plain, err := openBox(k.kE, m.Box)
	if err != nil {
		return err
	}
	defer clear(plain)
	var p TransferPayload
	if err := json.Unmarshal(plain, &p); err != nil {
		return fmt.Errorf("%w: malformed payload", ErrTransfer)
	}
	switch {
	case p.Duplicate != nil && (opts.TPM == nil || p.TPMImport != nil || len(p.Secret) > 0):
		return fmt.Errorf("%w: the secret was duplicated for a TPM this device did not offer", ErrTransfer)
	case p.Duplicate != nil:
		if p.Sealed, err = opts.TPM.ImportDuplicate(p.Duplicate, k.kA, opts.PIN); err != nil {
			_ = writeMsg(conn, transferMsg{Err: "this TPM could not import the secret"})
			return fmt.Errorf("%w: this TPM could not import the secret: %v", ErrTransfer, err)
		}
		p.Duplicate = nil
	case opts.Importer != nil && (p.TPMImport == nil || len(p.Secret) > 0):
		return fmt.Errorf("%w: the sending device did not wrap the secret for this TPM", ErrTransfer)
	case opts.Importer != nil:
		if p.Secret, err = opts.Importer.Import(p.TPMImport.Public, p.TPMImport.Duplicate, p.TPMImport.Seed); err != nil {
			_ = writeMsg(conn, transferMsg{Err: "this TPM could not import the secret"})
			return fmt.Errorf("%w: this TPM could not import the secret: %v", ErrTransfer, err)
		}
		p.TPMImport = nil
	case p.TPMImport != nil:
		return fmt.Errorf("%w: the secret was wrapped for a TPM this device did not offer", ErrTransfer)
	}
	defer clear(p.Secret)
	for name, b := range p.Files {
		if !walletFileName.MatchString(name) || !(strings.HasPrefix(name, personaDir+"/") || strings.HasPrefix(name, auditDir+"/")) || len(b) > maxFile {
			return fmt.Errorf("%w: the payload holds an unexpected file %q", ErrTransfer, name)
		}
	}
	if err := store(&p); err != nil {
		_ = writeMsg(conn, transferMsg{Err: "the receiving device could not keep the wallet"})
		return err
	}
	return writeMsg(conn, transferMsg{OK: true})
}

// transferContext binds the transfer payload's encryption to its purpose.
const transferContext = "mustard/transfer/v1"

func sealBox(key, plain []byte) ([]byte, error) { return aead.Seal(key, plain, transferContext) }

func openBox(key, box []byte) ([]byte, error) {
	plain, err := aead.Open(key, box, transferContext)
	if err != nil {
		return nil, fmt.Errorf("%w: the payload was altered or cut short", ErrTransfer)
	}
	return plain, nil
}

// RestoreTransfer creates a wallet in dir from a transfer payload, its
// core secret sealed by sealer under pin.
func RestoreTransfer(dir string, sealer keystore.Sealer, pin []byte, p *TransferPayload, meta Meta) (*Store, error) {
	secret := p.Secret
	if len(p.Sealed) > 0 {
		// The receiving TPM imported the secret under pin: it is unsealed
		// here only to check it against the wallet, as any unlock does.
		var err error
		if secret, err = sealer.Unseal(p.Sealed, pin); err != nil {
			return nil, fmt.Errorf("%w: the imported secret does not open: %w", ErrTransfer, err)
		}
		defer clear(secret)
	}
	var e fr.Element
	if e.SetBytesCanonical(secret) != nil {
		return nil, fmt.Errorf("%w: the payload holds no core secret", ErrTransfer)
	}
	comm := zk.Commit(e)
	c := comm.Bytes()
	if checkValue(c[:]) != p.Check {
		return nil, fmt.Errorf("%w: the core secret does not match its wallet", ErrTransfer)
	}
	if _, err := os.Stat(filepath.Join(dir, metaFile)); err == nil {
		return nil, ErrWalletExists
	}
	for name, b := range p.Files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, err
		}
		if err := writeAtomic(path, b); err != nil {
			return nil, err
		}
	}
	st, err := restoreStore(dir, sealer, pin, secret, p.Sealed, &p.Kit, p.Check, meta)
	if err != nil || p.Rebind == nil {
		return st, err
	}
	u, err := st.Unlock(sealer, pin)
	if err != nil {
		return nil, err
	}
	defer u.Close()
	if err := u.saveRebind(p.Rebind); err != nil {
		return nil, err
	}
	return st, nil
}

// Retire removes a wallet's core secret and encrypted files after it moved
// to another device: the sealed secret first, so that an interruption
// leaves nothing that opens.
func (st *Store) Retire() error {
	if err := os.Remove(filepath.Join(st.Dir, sealedFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	for _, d := range []string{personaDir, auditDir} {
		if err := os.RemoveAll(filepath.Join(st.Dir, d)); err != nil {
			return err
		}
	}
	_ = os.Remove(filepath.Join(st.Dir, coreFile))
	return os.Remove(filepath.Join(st.Dir, metaFile))
}
