package persona

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"testing"
	"time"

	"github.com/google/go-tpm/tpm2"
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
