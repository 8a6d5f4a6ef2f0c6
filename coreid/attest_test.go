package coreid

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/internal/keystore"
	"github.com/mustard-id/mustard/internal/trust"
	"github.com/mustard-id/mustard/zk"
)

// TPM attestation at enrollment, on the go-tpm-tools simulator: the
// wallet's EK, AK creation, MakeCredential by the provider (in software),
// ActivateCredential and TPM2_Certify of the device key in the TPM, and a
// core credential that commits to the attested device key's hash.
func TestEnrollWithTPMAttestation(t *testing.T) {
	tpm, err := keystore.OpenSimulator(42)
	require.NoError(t, err)
	defer tpm.Close()
	wk, err := tpm.AttestationKeys()
	require.NoError(t, err)
	keys := AttestationKeys{EK: wk.EK, AK: wk.AK, Device: wk.Device}
	ekHash := func(k *ecdsa.PublicKey) [32]byte { b, _ := k.Bytes(); return sha256.Sum256(b) }
	var trusted [][32]byte
	e := newEnv(t, func(_ *trust.Document, cfg *Config) {
		cfg.UnattestedMaxGrade = zk.GradeSubstantial
		cfg.TrustEK = func(k *ecdsa.PublicKey) bool {
			for _, h := range trusted {
				if h == ekHash(k) {
					return true
				}
			}
			return false
		}
	})
	ctx := context.Background()
	dev, err := tpm.DevicePublicKey()
	require.NoError(t, err)
	x, y := make([]byte, 32), make([]byte, 32)
	dev.X.FillBytes(x)
	dev.Y.FillBytes(y)
	devHash := zk.KeyHash(zk.TagDevice, x, y)

	// An EK the provider does not trust (no allowlist entry yet).
	_, err = e.p.Challenge(keys)
	require.ErrorIs(t, err, ErrAttestation)
	ek, err := parsePublic(keys.EK)
	require.NoError(t, err)
	ekKey, err := eccKey(ek)
	require.NoError(t, err)
	trusted = append(trusted, ekHash(ekKey))

	attest := func() *DeviceAttestation {
		ch, err := e.p.Challenge(keys)
		require.NoError(t, err)
		c, err := tpm.Activate(ch.IDObject, ch.EncSecret)
		require.NoError(t, err)
		da, err := e.p.VerifyAttestation(ch.ID, Certification{Credential: c.Credential, CertifyInfo: c.CertifyInfo, Signature: c.Signature})
		require.NoError(t, err)
		require.Equal(t, devHash, da.DeviceKeyHash)
		return da
	}
	da := attest()
	r := e.commitment(t)
	r.DeviceKeyHash = devHash
	r.Attestation = da.Ticket
	r.Source = e.jwtVC(t, govID, person, e.now)
	enr, err := e.p.Enroll(ctx, r)
	require.NoError(t, err)
	require.Equal(t, uint64(zk.GradeHigh), enr.Credential.Grade)
	require.Equal(t, devHash, enr.Credential.DeviceKeyHash)

	// The holder revokes it with the TPM-resident device key (the DER
	// signature keystore.SignDevice gives), as from a device it no longer
	// trusts.
	t.Run("holder revocation signed in the TPM", func(t *testing.T) {
		n, err := e.p.NewNonce(ctx, NonceRevoke)
		require.NoError(t, err)
		proof, err := tpm.SignDevice(HolderRevocationDigest(enr.ProviderKey, enr.Credential.RevNonce, n))
		require.NoError(t, err)
		require.NoError(t, e.p.RevokeByHolder(ctx, HolderRevocation{Credential: enr.Credential, Signature: enr.Signature, DeviceKey: dev, Nonce: n, Proof: proof}))
		require.Equal(t, 1, len(e.p.Revocations().Entries))
	})

	// The ticket is spent.
	r2 := e.commitment(t)
	r2.DeviceKeyHash = devHash
	r2.Attestation = da.Ticket
	r2.Source = e.jwtVC(t, govID, with(person, "personal_number", "NL-2"), e.now)
	_, err = e.p.Enroll(ctx, r2)
	require.ErrorIs(t, err, ErrAttestation)

	// A ticket for this device does not attest another device key hash.
	r2.Attestation = attest().Ticket
	r2.DeviceKeyHash = zk.Int64(7)
	_, err = e.p.Enroll(ctx, r2)
	require.ErrorIs(t, err, ErrAttestation)

	// Without attestation (a software keystore): the grade is capped.
	r3 := e.commitment(t)
	r3.Source = e.jwtVC(t, govID, with(person, "personal_number", "NL-3"), e.now)
	enr, err = e.p.Enroll(ctx, r3)
	require.NoError(t, err)
	require.Equal(t, uint64(zk.GradeSubstantial), enr.Credential.Grade)

	t.Run("over HTTP", func(t *testing.T) {
		srv := httptest.NewServer(e.p.Handler())
		defer srv.Close()
		post := func(path string, in, out any) int {
			b, _ := json.Marshal(in)
			resp, err := http.Post(srv.URL+path, "application/json", bytes.NewReader(b))
			require.NoError(t, err)
			defer resp.Body.Close()
			if out != nil && resp.StatusCode < 300 {
				require.NoError(t, json.NewDecoder(resp.Body).Decode(out))
			}
			return resp.StatusCode
		}
		var ch AttestationChallengeJSON
		require.Equal(t, http.StatusCreated, post("/v1/enroll/attestation/challenge", AttestationKeysBody{EK: keys.EK, AK: keys.AK, Device: keys.Device}, &ch))
		c, err := tpm.Activate(ch.IDObject, ch.EncSecret)
		require.NoError(t, err)
		var att AttestationJSON
		require.Equal(t, http.StatusCreated, post("/v1/enroll/attestation", CertificationBody{ID: ch.ID, Credential: c.Credential, CertifyInfo: c.CertifyInfo, Signature: c.Signature}, &att))
		require.Equal(t, zk.Hex(devHash), att.DeviceKeyHash)
		var enr EnrollmentJSON
		body := EnrollBody{Source: e.jwtVC(t, govID, with(person, "personal_number", "NL-4"), e.now), Commitment: zk.Hex(e.commitment(t).Commitment), DeviceKeyHash: att.DeviceKeyHash, Attestation: att.Ticket}
		require.Equal(t, http.StatusCreated, post("/v1/enroll", body, &enr))
		require.Equal(t, uint64(zk.GradeHigh), enr.Credential.Grade)
		require.Equal(t, http.StatusUnauthorized, post("/v1/enroll/attestation", CertificationBody{ID: ch.ID, Credential: c.Credential, CertifyInfo: c.CertifyInfo, Signature: c.Signature}, nil))
	})

	t.Run("answers that fail", func(t *testing.T) {
		answer := func() (*AttestationChallenge, *keystore.Certification) {
			ch, err := e.p.Challenge(keys)
			require.NoError(t, err)
			c, err := tpm.Activate(ch.IDObject, ch.EncSecret)
			require.NoError(t, err)
			return ch, c
		}
		ch, c := answer()
		bad := append([]byte{}, c.Credential...)
		bad[0] ^= 1
		_, err := e.p.VerifyAttestation(ch.ID, Certification{Credential: bad, CertifyInfo: c.CertifyInfo, Signature: c.Signature})
		require.ErrorIs(t, err, ErrAttestation, "credential not recovered")
		// The challenge is single-use, even after a failure.
		_, err = e.p.VerifyAttestation(ch.ID, Certification{Credential: c.Credential, CertifyInfo: c.CertifyInfo, Signature: c.Signature})
		require.ErrorIs(t, err, ErrAttestation)

		ch, c = answer()
		info := append([]byte{}, c.CertifyInfo...)
		info[len(info)-1] ^= 1
		_, err = e.p.VerifyAttestation(ch.ID, Certification{Credential: c.Credential, CertifyInfo: info, Signature: c.Signature})
		require.ErrorIs(t, err, ErrAttestation, "altered certification")

		// A certification from another challenge is bound to that one.
		ch1, c1 := answer()
		ch2, c2 := answer()
		_, err = e.p.VerifyAttestation(ch2.ID, Certification{Credential: c2.Credential, CertifyInfo: c1.CertifyInfo, Signature: c1.Signature})
		require.ErrorIs(t, err, ErrAttestation, "certification of another challenge")
		_ = ch1

		// Activation fails in the TPM for a challenge made for another AK
		// name: here the device key posing as the AK is refused outright.
		_, err = e.p.Challenge(AttestationKeys{EK: keys.EK, AK: keys.Device, Device: keys.Device})
		require.ErrorIs(t, err, ErrAttestation, "unrestricted AK")
		_, err = e.p.Challenge(AttestationKeys{EK: keys.AK, AK: keys.AK, Device: keys.Device})
		require.ErrorIs(t, err, ErrAttestation, "not an EK")
		_, err = e.p.Challenge(AttestationKeys{EK: keys.EK, AK: keys.AK, Device: keys.AK})
		require.ErrorIs(t, err, ErrAttestation, "restricted key as device key")
		_, err = e.p.Challenge(AttestationKeys{EK: []byte{1, 2, 3}, AK: keys.AK, Device: keys.Device})
		require.ErrorIs(t, err, ErrAttestation, "garbage")
	})

	t.Run("a tampered challenge cannot be activated", func(t *testing.T) {
		// The ID object's integrity HMAC fails in the TPM.
		ch, err := e.p.Challenge(keys)
		require.NoError(t, err)
		id := append([]byte{}, ch.IDObject...)
		id[len(id)-1] ^= 1
		_, err = tpm.Activate(id, ch.EncSecret)
		require.Error(t, err)
	})
}

// FuzzChallenge feeds arbitrary public areas to the provider's challenge.
func FuzzChallenge(f *testing.F) {
	e := newEnv(f, func(_ *trust.Document, cfg *Config) { cfg.TrustEK = func(*ecdsa.PublicKey) bool { return true } })
	f.Add([]byte{0, 35, 0, 11}, []byte{0}, []byte{})
	f.Fuzz(func(t *testing.T, ek, ak, dev []byte) {
		ch, err := e.p.Challenge(AttestationKeys{EK: ek, AK: ak, Device: dev})
		if err == nil && ch == nil {
			t.Fatal("nil challenge without error")
		}
	})
}
