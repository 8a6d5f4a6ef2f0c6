package persona

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"math/big"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-tpm/tpm2"
	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/internal/keystore"
)

// FuzzReceiverAttestation: a receiver's attestation (storage key, EK,
// EK certificate, AK) and its answer to the challenge never panic the
// sender, and nothing from a fuzzer attests.
func FuzzReceiverAttestation(f *testing.F) {
	srk := tpm2.Marshal(tpm2.ECCSRKTemplate)
	ek := tpm2.Marshal(tpm2.ECCEKTemplate)
	f.Add(srk, ek, []byte{}, ek, []byte{}, []byte{}, []byte{})
	f.Add(srk, ek, []byte{0x30, 0x03, 0x02, 0x01, 0x01}, srk, []byte{1}, []byte{0xff, 0x54, 0x43, 0x47}, []byte{0x30, 0x00})
	f.Add([]byte{0, 0x23}, []byte{}, []byte{}, []byte{}, []byte{}, []byte{}, []byte{})
	roots := x509.NewCertPool()
	akKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, sk, ekb, chain, ak, cred, info, sig []byte) {
		_, _, err := challengeReceiver(&ReceiverAttestation{EK: ekb, EKCertificate: chain, AK: ak}, sk, roots, time.Now())
		if err == nil {
			t.Fatal("attested without a certificate from the roots")
		}
		if !errors.Is(err, ErrReceiverUnattested) {
			t.Fatalf("error outside ErrReceiverUnattested: %v", err)
		}
		pending := &pendingReceiver{credential: cred, ak: &akKey.PublicKey, skName: sk}
		if pending.verify(&receiverCertification{Credential: cred, CertifyInfo: info, Signature: sig}) == nil {
			t.Fatal("a fuzzed certification verified")
		}
	})
}

// TestWrapForTPMImport wraps a secret in software for a simulated TPM's
// storage root key (the path for senders without a TPM) and imports it
// in the TPM; an altered duplicate or seed, and another TPM (another
// hierarchy seed), cannot open it.
func TestWrapForTPMImport(t *testing.T) {
	secret := bytes.Repeat([]byte{0x5a}, 32)
	other, err := keystore.OpenSimulator(2)
	require.NoError(t, err)
	osk, err := other.StorageKey()
	require.NoError(t, err)
	require.NoError(t, other.Close())

	tpm, err := keystore.OpenSimulator(1)
	require.NoError(t, err)
	defer tpm.Close()
	sk, err := tpm.StorageKey()
	require.NoError(t, err)
	require.NotEqual(t, sk, osk)
	w, err := WrapForTPM(sk, secret)
	require.NoError(t, err)
	require.False(t, bytes.Contains(w.Duplicate, secret), "the duplicate is encrypted")
	got, err := tpm.Import(w.Public, w.Duplicate, w.Seed)
	require.NoError(t, err)
	require.Equal(t, secret, got)

	bad := bytes.Clone(w.Duplicate)
	bad[len(bad)-1] ^= 1
	_, err = tpm.Import(w.Public, bad, w.Seed)
	require.Error(t, err)
	badSeed := bytes.Clone(w.Seed)
	badSeed[10] ^= 1
	_, err = tpm.Import(w.Public, w.Duplicate, badSeed)
	require.Error(t, err)
	_, err = tpm.Import([]byte{1, 2, 3}, w.Duplicate, w.Seed)
	require.Error(t, err)

	wo, err := WrapForTPM(osk, secret)
	require.NoError(t, err)
	_, err = tpm.Import(wo.Public, wo.Duplicate, wo.Seed)
	require.Error(t, err, "wrapped for another TPM: this one cannot import it")
}

// transferOpts runs both sides with options over an in-memory
// connection, through relay (which may alter what passes).
func transferOpts(t *testing.T, code string, p *TransferPayload, relay func(dir string, b []byte) []byte, so SendOptions, ro ReceiveOptions, store func(*TransferPayload) error) (res *SendResult, sendErr, recvErr error) {
	s1, r1 := relayed(relay)
	done := make(chan struct{})
	go func() {
		defer close(done)
		res, sendErr = SendTransferWith(s1, code, p, so)
		s1.Close()
	}()
	recvErr = ReceiveTransfer(r1, code, ro, store)
	r1.Close()
	<-done
	return
}

// TestTransferReceiverAttestation sends to a simulated TPM that proves
// its storage key with an EK certificate from a test manufacturer CA;
// without that certificate, or with an altered certification, the
// sender refuses and sends nothing.
func TestTransferReceiverAttestation(t *testing.T) {
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Test TPM CA"}, NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	require.NoError(t, err)
	ca, err := x509.ParseCertificate(caDER)
	require.NoError(t, err)
	roots := x509.NewCertPool()
	roots.AddCert(ca)

	tpm, err := keystore.OpenSimulator(11)
	require.NoError(t, err)
	defer tpm.Close()
	secret := bytes.Repeat([]byte{0x21}, 32)
	payload := &TransferPayload{Secret: secret, Check: "x"}
	pin := []byte("new pin")
	so := SendOptions{EKRoots: roots}
	ro := ReceiveOptions{TPM: tpm, PIN: pin}
	code := NewTransferCode()
	refuse := func(*TransferPayload) error { t.Fatal("stored"); return nil }

	// No EK certificate in the TPM yet.
	_, sendErr, recvErr := transferOpts(t, code, payload, nil, so, ro, refuse)
	require.ErrorIs(t, sendErr, ErrReceiverUnattested)
	require.ErrorIs(t, recvErr, ErrReceiverUnattested)

	keys, err := tpm.AttestationKeys()
	require.NoError(t, err)
	ek, err := tpm2.Unmarshal[tpm2.TPMTPublic](keys.EK)
	require.NoError(t, err)
	ekKey, err := p256Key(ek)
	require.NoError(t, err)
	ekDER, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{SerialNumber: big.NewInt(2), NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0), KeyUsage: x509.KeyUsageKeyAgreement}, ca, ekKey, caKey)
	require.NoError(t, err)
	require.NoError(t, tpm.SetSimulatorEKCertificate(ekDER))

	// An altered certification (the relay flips a bit of the signed
	// TPMS_ATTEST): refused after the code checked out.
	_, sendErr, _ = transferOpts(t, code, payload, func(dir string, b []byte) []byte {
		var m transferMsg
		if dir == "R→S" && json.Unmarshal(b, &m) == nil && m.Crt != nil {
			m.Crt.CertifyInfo[len(m.Crt.CertifyInfo)-1] ^= 1
			b, _ = json.Marshal(m)
		}
		return b
	}, so, ro, refuse)
	require.ErrorIs(t, sendErr, ErrReceiverUnattested)

	// Attested: the secret goes wrapped for that TPM (this sender holds
	// it in software) and the TPM imports it.
	var got []byte
	res, sendErr, recvErr := transferOpts(t, code, payload, nil, so, ro, func(p *TransferPayload) error { got = bytes.Clone(p.Secret); return nil })
	require.NoError(t, sendErr)
	require.NoError(t, recvErr)
	require.True(t, res.Attested)
	require.True(t, res.TPM)
	require.Equal(t, secret, got)
}

// TestMakeDuplicable migrates a TPM wallet whose core secret was sealed
// before duplicable sealing: new wallets are duplicable at once; an old
// one is re-sealed duplicable under the same PIN and still opens.
func TestMakeDuplicable(t *testing.T) {
	tpm, err := keystore.OpenSimulator(12)
	require.NoError(t, err)
	defer tpm.Close()
	pin := []byte("a pin")
	dir := filepath.Join(t.TempDir(), "w")
	st, err := InitStore(dir, tpm, pin, Meta{})
	require.NoError(t, err)
	u, err := st.Unlock(tpm, pin)
	require.NoError(t, err)
	require.True(t, u.Duplicable(), "new TPM wallets seal duplicable")
	secret, err := u.coreSecret(pin)
	require.NoError(t, err)
	u.Close()

	// An old wallet: core.sealed made by Seal (fixedTPM, fixedParent).
	legacy, err := tpm.Seal(secret, pin)
	require.NoError(t, err)
	require.NoError(t, writeAtomic(filepath.Join(dir, sealedFile), legacy))
	u, err = st.Unlock(tpm, pin)
	require.NoError(t, err)
	defer u.Close()
	require.False(t, u.Duplicable())
	require.Nil(t, u.DuplicateFunc(pin))
	_, err = u.MakeDuplicable([]byte("wrong"))
	require.ErrorIs(t, err, keystore.ErrWrongPIN)
	ok, err := u.MakeDuplicable(pin)
	require.NoError(t, err)
	require.True(t, ok)
	require.NotNil(t, u.DuplicateFunc(pin))
	u2, err := st.Unlock(tpm, pin)
	require.NoError(t, err)
	defer u2.Close()
	require.True(t, u2.Duplicable(), "the re-sealed blob is on disk")
	again, err := u2.coreSecret(pin)
	require.NoError(t, err)
	require.Equal(t, secret, again)

	// A software wallet stays as it is.
	_, su, spin := newTestStore(t)
	ok, err = su.MakeDuplicable(spin)
	require.NoError(t, err)
	require.False(t, ok)
}
