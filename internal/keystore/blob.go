package keystore

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
)

// Blob format, version 1. Integers are big-endian; a "2B" field is a
// uint16 length followed by that many bytes, as a TPM2B.
//
//	blob     = magic "MSTK" | version 0x01 | kind | body | checksum
//	kind     = 0x01 tpm | 0x02 tpm-simulator | 0x03 software
//	tpm body = srkName 2B | TPM2B_PUBLIC | TPM2B_PRIVATE
//	sw body  = argon2 time u32 | argon2 memory KiB u32 | argon2 threads u8 |
//	           salt 2B (16) | nonce 2B (12) | ciphertext 2B (AES-256-GCM)
//	checksum = SHA-256 of everything before it
//
// The checksum is not a MAC: it tells accidental corruption (ErrCorrupt)
// from a wrong PIN (ErrWrongPIN), which an AEAD alone cannot. Integrity
// against an attacker comes from the TPM (the private area is encrypted
// and integrity-protected under the storage root key) or from GCM (whose
// additional data is the software blob up to the ciphertext).
const (
	blobMagic      = "MSTK"
	blobVersion    = 1
	blobHeaderSize = len(blobMagic) + 2
	checksumSize   = sha256.Size

	kindByteTPM       = 0x01
	kindByteSimulator = 0x02
	kindByteSoftware  = 0x03

	saltSize  = 16
	nonceSize = 12
	gcmTag    = 16

	// srkNameSize is a TPM name with a SHA-256 name algorithm: the
	// algorithm identifier and the digest.
	srkNameSize = 2 + sha256.Size
)

// blob is a parsed keystore blob. Only the fields of its kind are set.
type blob struct {
	kind Kind

	// TPM kinds: the name of the storage root key it was sealed under and
	// the sealed object's TPM2B_PUBLIC and TPM2B_PRIVATE contents.
	srkName []byte
	public  []byte
	private []byte

	// Software kind.
	kdf        kdfParams
	salt       []byte
	nonce      []byte
	ciphertext []byte
}

// kdfParams are Argon2id's cost parameters.
type kdfParams struct {
	time      uint32 // passes
	memoryKiB uint32
	threads   uint8
}

func kindByte(k Kind) (byte, bool) {
	switch k {
	case KindTPM:
		return kindByteTPM, true
	case KindSimulator:
		return kindByteSimulator, true
	case KindSoftware:
		return kindByteSoftware, true
	}
	return 0, false
}

func kindOfByte(b byte) (Kind, bool) {
	switch b {
	case kindByteTPM:
		return KindTPM, true
	case kindByteSimulator:
		return KindSimulator, true
	case kindByteSoftware:
		return KindSoftware, true
	}
	return "", false
}

// prefix encodes the blob up to, not including, the software ciphertext
// (for TPM kinds: up to the checksum). For the software kind it is GCM's
// additional data, so that no header byte can be altered unnoticed.
func (b *blob) prefix() []byte {
	var buf bytes.Buffer
	k, ok := kindByte(b.kind)
	if !ok {
		panic("keystore: blob of unknown kind " + string(b.kind))
	}
	buf.WriteString(blobMagic)
	buf.WriteByte(blobVersion)
	buf.WriteByte(k)
	if b.kind == KindSoftware {
		_ = binary.Write(&buf, binary.BigEndian, b.kdf.time)
		_ = binary.Write(&buf, binary.BigEndian, b.kdf.memoryKiB)
		buf.WriteByte(b.kdf.threads)
		write2B(&buf, b.salt)
		write2B(&buf, b.nonce)
	} else {
		write2B(&buf, b.srkName)
		write2B(&buf, b.public)
		write2B(&buf, b.private)
	}
	return buf.Bytes()
}

// marshal encodes the blob, checksum included.
func (b *blob) marshal() []byte {
	out := b.prefix()
	if b.kind == KindSoftware {
		var buf bytes.Buffer
		write2B(&buf, b.ciphertext)
		out = append(out, buf.Bytes()...)
	}
	sum := sha256.Sum256(out)
	return append(out, sum[:]...)
}

func write2B(buf *bytes.Buffer, p []byte) {
	if len(p) > 0xffff {
		panic("keystore: blob field too long")
	}
	_ = binary.Write(buf, binary.BigEndian, uint16(len(p)))
	buf.Write(p)
}

// parseBlob decodes and checks a blob. Every failure wraps ErrCorrupt. It
// checks structure and sizes; whether the parameters are acceptable to a
// particular sealer is that sealer's decision.
func parseBlob(data []byte) (*blob, error) {
	if len(data) < blobHeaderSize+checksumSize {
		return nil, fmt.Errorf("blob too short: %w", ErrCorrupt)
	}
	if string(data[:len(blobMagic)]) != blobMagic {
		return nil, fmt.Errorf("not a keystore blob: %w", ErrCorrupt)
	}
	if v := data[len(blobMagic)]; v != blobVersion {
		return nil, fmt.Errorf("unsupported blob version %d: %w", v, ErrCorrupt)
	}
	body, sum := data[:len(data)-checksumSize], data[len(data)-checksumSize:]
	want := sha256.Sum256(body)
	if subtle.ConstantTimeCompare(sum, want[:]) != 1 {
		return nil, fmt.Errorf("checksum mismatch: %w", ErrCorrupt)
	}
	kind, ok := kindOfByte(data[len(blobMagic)+1])
	if !ok {
		return nil, fmt.Errorf("unknown blob kind 0x%02x: %w", data[len(blobMagic)+1], ErrCorrupt)
	}
	r := reader{buf: body[blobHeaderSize:]}
	b := &blob{kind: kind}
	if kind == KindSoftware {
		b.kdf.time = r.uint32()
		b.kdf.memoryKiB = r.uint32()
		b.kdf.threads = r.byte()
		b.salt = r.field()
		b.nonce = r.field()
		b.ciphertext = r.field()
	} else {
		b.srkName = r.field()
		b.public = r.field()
		b.private = r.field()
	}
	if r.err {
		return nil, fmt.Errorf("blob truncated: %w", ErrCorrupt)
	}
	if len(r.buf) != 0 {
		return nil, fmt.Errorf("trailing bytes in blob: %w", ErrCorrupt)
	}
	if err := b.check(); err != nil {
		return nil, err
	}
	return b, nil
}

// check validates the sizes and ranges of a parsed blob's fields.
func (b *blob) check() error {
	if b.kind == KindSoftware {
		switch {
		case b.kdf.time == 0 || b.kdf.threads == 0 || b.kdf.memoryKiB < 8*uint32(b.kdf.threads):
			return fmt.Errorf("invalid Argon2id parameters: %w", ErrCorrupt)
		case len(b.salt) != saltSize:
			return fmt.Errorf("invalid salt size: %w", ErrCorrupt)
		case len(b.nonce) != nonceSize:
			return fmt.Errorf("invalid nonce size: %w", ErrCorrupt)
		case len(b.ciphertext) <= gcmTag || len(b.ciphertext) > gcmTag+MaxSecretSize:
			return fmt.Errorf("invalid ciphertext size: %w", ErrCorrupt)
		}
		return nil
	}
	switch {
	case len(b.srkName) != srkNameSize:
		return fmt.Errorf("invalid storage root key name: %w", ErrCorrupt)
	case len(b.private) == 0:
		return fmt.Errorf("empty private area: %w", ErrCorrupt)
	}
	return checkSealedPublic(b.public)
}

// reader consumes big-endian integers and 2B fields; it records, rather
// than returns, running out of input.
type reader struct {
	buf []byte
	err bool
}

func (r *reader) take(n int) []byte {
	if r.err || len(r.buf) < n {
		r.err = true
		return nil
	}
	p := r.buf[:n:n]
	r.buf = r.buf[n:]
	return p
}

func (r *reader) byte() byte {
	if p := r.take(1); p != nil {
		return p[0]
	}
	return 0
}

func (r *reader) uint32() uint32 {
	if p := r.take(4); p != nil {
		return binary.BigEndian.Uint32(p)
	}
	return 0
}

func (r *reader) field() []byte {
	p := r.take(2)
	if p == nil {
		return nil
	}
	return r.take(int(binary.BigEndian.Uint16(p)))
}

// BlobKind tells which kind of sealer made blob, so that a caller can
// open that sealer to unseal it (a host that sealed with its TPM must not
// fall back to a passphrase, nor the reverse).
func BlobKind(data []byte) (Kind, error) {
	b, err := parseBlob(data)
	if err != nil {
		return "", fmt.Errorf("keystore: %w", err)
	}
	return b.kind, nil
}
