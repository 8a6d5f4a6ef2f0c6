package persona

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"net"
	"path/filepath"
	"testing"

	"github.com/google/go-tpm/tpm2"
	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/internal/keystore"
)

func TestTransferCode(t *testing.T) {
	c := NewTransferCode()
	require.Len(t, c, 11)
	n, err := normalizeCode(c)
	require.NoError(t, err)
	require.Len(t, n, 10)
	for in, want := range map[string]string{"7kq2m-9xd4p": "7KQ2M9XD4P", "7KQ2M 9XD4P": "7KQ2M9XD4P", "OIL00-11111": "01100111111"[:10]} {
		got, err := normalizeCode(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got)
	}
	for _, bad := range []string{"", "7KQ2M-9XD4", "7KQ2M-9XD4PP", "7KQ2M-9XD4U", "7KQ2M-9XD4!"} {
		_, err := normalizeCode(bad)
		require.ErrorIs(t, err, ErrTransfer, bad)
	}
}

// transfer runs both sides over an in-memory connection, through relay
// (which may alter what passes), and returns their errors and SASes.
func transfer(t *testing.T, sendCode, recvCode string, p *TransferPayload, relay func(dir string, b []byte) []byte, store func(*TransferPayload) error) (sendErr, recvErr error, sasS, sasR string) {
	return transferWith(t, sendCode, recvCode, p, relay, nil, store)
}

// relayed connects a sender (s1) and a receiver (r1) through relay,
// which sees each framed message with its direction ("S→R", "R→S") and
// may alter it.
func relayed(relay func(dir string, b []byte) []byte) (s1, r1 net.Conn) {
	s1, s2 := net.Pipe()
	r1, r2 := net.Pipe()
	pump := func(dst, src net.Conn, dir string) {
		for {
			var hdr [4]byte
			if _, err := io.ReadFull(src, hdr[:]); err != nil {
				dst.Close()
				return
			}
			b := make([]byte, binary.BigEndian.Uint32(hdr[:]))
			if _, err := io.ReadFull(src, b); err != nil {
				dst.Close()
				return
			}
			if relay != nil {
				b = relay(dir, b)
			}
			binary.BigEndian.PutUint32(hdr[:], uint32(len(b)))
			if _, err := dst.Write(append(hdr[:], b...)); err != nil {
				src.Close()
				return
			}
		}
	}
	go pump(s2, r2, "R→S")
	go pump(r2, s2, "S→R")
	return s1, r1
}

func transferWith(t *testing.T, sendCode, recvCode string, p *TransferPayload, relay func(dir string, b []byte) []byte, imp TPMImporter, store func(*TransferPayload) error) (sendErr, recvErr error, sasS, sasR string) {
	s1, r1 := relayed(relay)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, sendErr = SendTransfer(s1, sendCode, p, func(s string) error { sasS = s; return nil })
		s1.Close()
	}()
	recvErr = ReceiveTransfer(r1, recvCode, ReceiveOptions{SAS: func(s string) { sasR = s }, Importer: imp}, store)
	r1.Close()
	<-done
	return
}

func TestTransfer(t *testing.T) {
	_, u, pin := newTestStore(t)
	require.NoError(t, u.SavePersona(&Record{ID: NewID(), Scope: "shop.example", Pseudonym: "ab"}))
	p, err := u.TransferPayload(pin)
	require.NoError(t, err)
	code := NewTransferCode()

	dir := filepath.Join(t.TempDir(), "new")
	newPin := []byte("new device")
	sendErr, recvErr, sasS, sasR := transfer(t, code, code, p, nil, func(got *TransferPayload) error {
		_, err := RestoreTransfer(dir, keystore.NewSoftware(), newPin, got, Meta{})
		return err
	})
	require.NoError(t, sendErr)
	require.NoError(t, recvErr)
	require.Equal(t, sasS, sasR)
	require.Len(t, sasS, 7)

	st, err := OpenStore(dir)
	require.NoError(t, err)
	u2, err := st.Unlock(keystore.NewSoftware(), newPin)
	require.NoError(t, err)
	require.Equal(t, u.Wallet.Core.Credential, u2.Wallet.Core.Credential)
	got, err := u2.Persona("shop.example")
	require.NoError(t, err)
	require.Equal(t, "ab", got.Pseudonym)

	// The old wallet retires.
	require.NoError(t, u.Retire())
	_, err = OpenStore(u.Dir)
	require.ErrorIs(t, err, ErrNoWallet)
}

func TestTransferWrongCode(t *testing.T) {
	_, u, pin := newTestStore(t)
	p, err := u.TransferPayload(pin)
	require.NoError(t, err)
	stored := false
	var seen [][]byte
	sendErr, recvErr, _, _ := transfer(t, "7KQ2M-9XD4P", "7KQ2M-9XD4Q", p, func(_ string, b []byte) []byte {
		seen = append(seen, bytes.Clone(b))
		return b
	}, func(*TransferPayload) error { stored = true; return nil })
	require.ErrorIs(t, sendErr, ErrTransferCode)
	require.ErrorIs(t, recvErr, ErrTransferCode)
	require.False(t, stored)
	// Nothing but public keys, a MAC and the refusal went over the wire.
	require.Len(t, seen, 4)
	for _, b := range seen {
		require.NotContains(t, string(b), "box")
	}
}

func TestTransferAltered(t *testing.T) {
	_, u, pin := newTestStore(t)
	p, err := u.TransferPayload(pin)
	require.NoError(t, err)
	code := NewTransferCode()
	// Replace the sender's public key: an attacker in the middle.
	sendErr, recvErr, sasS, sasR := transfer(t, code, code, p, func(dir string, b []byte) []byte {
		if dir == "S→R" && bytes.Contains(b, []byte(`"pub"`)) {
			return []byte(`{"pub":"CQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}`)
		}
		return b
	}, func(*TransferPayload) error { t.Fatal("stored"); return nil })
	require.Error(t, sendErr)
	require.Error(t, recvErr)
	require.NotEqual(t, sasS, sasR)
}

// FuzzTransferMessage: what the other device sends never panics the
// reader, and a code typed by a person normalizes or is refused.
func FuzzTransferMessage(f *testing.F) {
	f.Add([]byte("\x00\x00\x00\x0f{\"v\":1,\"pub\":\"\"}"), "7KQ2M-9XD4P")
	f.Add([]byte("\xff\xff\xff\xff"), "oil00 11111")
	f.Add([]byte("\x00\x00\x00\x02{}"), "")
	f.Fuzz(func(t *testing.T, b []byte, code string) {
		_, _ = readMsg(bytes.NewReader(b))
		if n, err := normalizeCode(code); err == nil && len(n) != 10 {
			t.Fatalf("normalized %q to %q", code, n)
		}
	})
}

// fakeImporter offers a storage key it does not hold: it stands for an
// attacker in the middle replacing the receiver's TPM key with its own.
type fakeImporter struct{ key []byte }

func (f fakeImporter) StorageKey() ([]byte, error) { return f.key, nil }
func (f fakeImporter) Import(_, _, _ []byte) ([]byte, error) {
	return nil, errors.New("not a TPM")
}

func TestTransferTPMKeyBound(t *testing.T) {
	_, u, pin := newTestStore(t)
	p, err := u.TransferPayload(pin)
	require.NoError(t, err)
	code := NewTransferCode()
	// The relay replaces the offered storage key: the transcripts differ,
	// so the receiver's MAC fails and nothing is wrapped or sent.
	sendErr, recvErr, _, _ := transferWith(t, code, code, p, func(dir string, b []byte) []byte {
		var m transferMsg
		if dir == "R→S" && json.Unmarshal(b, &m) == nil && len(m.TPM) > 0 {
			m.TPM = []byte("the attacker's storage key")
			b, _ = json.Marshal(m)
		}
		return b
	}, fakeImporter{key: []byte("a storage key")}, func(*TransferPayload) error { t.Fatal("stored"); return nil })
	require.ErrorIs(t, sendErr, ErrTransferCode)
	require.Error(t, recvErr)
	// A receiver that offers no TPM refuses a payload wrapped for one, and
	// one that offers a TPM refuses a secret in clear.
	_, err = WrapForTPM([]byte("not a TPMT_PUBLIC"), p.Secret)
	require.ErrorIs(t, err, ErrTransfer)
}

// FuzzWrapForTPM: a storage key from the other device never panics the
// sender.
func FuzzWrapForTPM(f *testing.F) {
	f.Add(tpm2.Marshal(tpm2.ECCSRKTemplate))
	f.Add(tpm2.Marshal(tpm2.RSASRKTemplate))
	f.Add([]byte{0, 0x23, 0, 0x0b})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = WrapForTPM(b, make([]byte, 32))
	})
}
