package coreid

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/internal/keystore"
	"github.com/mustard-id/mustard/internal/problem"
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

// ekPKI is a test TPM manufacturer: a root CA and an intermediate that
// issues EK certificates shaped as the TCG EK Credential Profile's.
type ekPKI struct {
	root, inter       *x509.Certificate
	interKey          *ecdsa.PrivateKey
	rootDER, interDER []byte
}

var (
	oidTCGManufacturer = asn1.ObjectIdentifier{2, 23, 133, 2, 1}
	oidTCGModel        = asn1.ObjectIdentifier{2, 23, 133, 2, 2}
	oidTCGVersion      = asn1.ObjectIdentifier{2, 23, 133, 2, 3}
	oidTCGSpec         = asn1.ObjectIdentifier{2, 23, 133, 2, 16}
	oidTCGEKCert       = asn1.ObjectIdentifier{2, 23, 133, 8, 1}
)

func newEKPKI(t testing.TB, now time.Time) *ekPKI {
	t.Helper()
	rootKey, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	interKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	root := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{Organization: []string{"Test TPM Maker"}, CommonName: "Test TPM Maker EK Root CA"},
		NotBefore: now.AddDate(-10, 0, 0), NotAfter: now.AddDate(20, 0, 0),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	rootDER, err := x509.CreateCertificate(rand.Reader, root, root, &rootKey.PublicKey, rootKey)
	require.NoError(t, err)
	root, err = x509.ParseCertificate(rootDER)
	require.NoError(t, err)
	inter := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{Organization: []string{"Test TPM Maker"}, CommonName: "Test TPM Maker ECC Manufacturing CA 001"},
		NotBefore: now.AddDate(-5, 0, 0), NotAfter: now.AddDate(15, 0, 0),
		IsCA: true, BasicConstraintsValid: true, MaxPathLenZero: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	interDER, err := x509.CreateCertificate(rand.Reader, inter, root, &interKey.PublicKey, rootKey)
	require.NoError(t, err)
	inter, err = x509.ParseCertificate(interDER)
	require.NoError(t, err)
	return &ekPKI{root: root, inter: inter, interKey: interKey, rootDER: rootDER, interDER: interDER}
}

func (p *ekPKI) pool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(p.root)
	return pool
}

// tcgSAN is the profile's SubjectAltName: the TPM's manufacturer, model
// and firmware version as one directoryName.
func tcgSAN(t testing.TB) []byte {
	t.Helper()
	name, err := asn1.Marshal(pkix.RDNSequence{{
		{Type: oidTCGManufacturer, Value: "id:54455354"},
		{Type: oidTCGModel, Value: "TEST9670"},
		{Type: oidTCGVersion, Value: "id:000F0011"},
	}})
	require.NoError(t, err)
	san, err := asn1.Marshal([]asn1.RawValue{{Class: asn1.ClassContextSpecific, Tag: 4, IsCompound: true, Bytes: name}})
	require.NoError(t, err)
	return san
}

// issue makes an EK certificate for pub, valid from nb to na, as real
// ones are: no subject, a critical directoryName SubjectAltName, the TPM
// specification in Subject Directory Attributes, key agreement, the TCG
// EK certificate extended key usage. mod alters the template.
func (p *ekPKI) issue(t testing.TB, pub *ecdsa.PublicKey, nb, na time.Time, mod func(*x509.Certificate)) []byte {
	t.Helper()
	tpmSpec, err := asn1.Marshal(struct {
		Family          string `asn1:"utf8"`
		Level, Revision int
	}{"2.0", 0, 138})
	require.NoError(t, err)
	spec, err := asn1.Marshal([]struct {
		Type   asn1.ObjectIdentifier
		Values []asn1.RawValue `asn1:"set"`
	}{{Type: oidTCGSpec, Values: []asn1.RawValue{{FullBytes: tpmSpec}}}})
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		NotBefore:    nb, NotAfter: na,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageKeyAgreement,
		UnknownExtKeyUsage:    []asn1.ObjectIdentifier{oidTCGEKCert},
		ExtraExtensions: []pkix.Extension{
			{Id: oidSubjectAltName, Critical: true, Value: tcgSAN(t)},
			{Id: asn1.ObjectIdentifier{2, 5, 29, 9}, Value: spec},
		},
	}
	if mod != nil {
		mod(tmpl)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.inter, pub, p.interKey)
	require.NoError(t, err)
	return der
}

func concat(ders ...[]byte) []byte { return bytes.Join(ders, nil) }

// With TPM manufacturer roots configured, the EK must come with a
// certificate chaining to one of them and certifying that very key;
// everything else is refused as untrusted-tpm, whatever TrustEK says.
func TestEKCertificateChain(t *testing.T) {
	tpm, err := keystore.OpenSimulator(43)
	require.NoError(t, err)
	defer tpm.Close()
	wk, err := tpm.AttestationKeys()
	require.NoError(t, err)
	ekPub, err := parsePublic(wk.EK)
	require.NoError(t, err)
	ekKey, err := eccKey(ekPub)
	require.NoError(t, err)

	now := time.Now().Truncate(time.Second)
	pki := newEKPKI(t, now)
	var trustEK func(*ecdsa.PublicKey) bool
	e := newEnv(t, func(_ *trust.Document, cfg *Config) {
		cfg.EKRoots = pki.pool()
		cfg.TrustEK = func(k *ecdsa.PublicKey) bool { return trustEK == nil || trustEK(k) }
		cfg.Now = func() time.Time { return now }
	})
	leaf := pki.issue(t, ekKey, now.AddDate(-1, 0, 0), now.AddDate(10, 0, 0), nil)
	good := concat(leaf, pki.interDER)
	keys := func(cert []byte) AttestationKeys {
		return AttestationKeys{EK: wk.EK, AK: wk.AK, Device: wk.Device, EKCertificate: cert}
	}

	// The test certificate carries what crypto/x509 leaves unhandled in
	// real EK certificates, so the acceptance below exercises it.
	parsed, err := x509.ParseCertificate(leaf)
	require.NoError(t, err)
	require.Contains(t, parsed.UnhandledCriticalExtensions, oidSubjectAltName)
	require.Empty(t, parsed.Subject.String())

	t.Run("a chain to the configured root is accepted", func(t *testing.T) {
		ch, err := e.p.Challenge(keys(good))
		require.NoError(t, err)
		c, err := tpm.Activate(ch.IDObject, ch.EncSecret)
		require.NoError(t, err)
		da, err := e.p.VerifyAttestation(ch.ID, Certification{Credential: c.Credential, CertifyInfo: c.CertifyInfo, Signature: c.Signature})
		require.NoError(t, err)
		require.NotEmpty(t, da.Ticket)
		// The intermediate can also be among the roots (an operator's
		// choice), and then the certificate alone is enough.
		pool := pki.pool()
		pool.AddCert(pki.inter)
		e.p.cfg.EKRoots = pool
		defer func() { e.p.cfg.EKRoots = pki.pool() }()
		_, err = e.p.Challenge(keys(leaf))
		require.NoError(t, err)
	})

	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	rogue := newEKPKI(t, now) // a manufacturer of the wallet's own making
	otherSAN, err := asn1.Marshal([]asn1.RawValue{{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: []byte{0x06, 0x01, 0x2a, 0xa0, 0x02, 0x05, 0x00}}})
	require.NoError(t, err)
	for _, tc := range []struct {
		name string
		cert []byte
	}{
		{"no certificate", nil},
		{"garbage", []byte{0x30, 0x03, 0x02, 0x01, 0x01}},
		{"too large", concat(good, make([]byte, maxEKCertChainSize))},
		{"self-signed root of the wallet's own", concat(rogue.issue(t, ekKey, now.AddDate(-1, 0, 0), now.AddDate(1, 0, 0), nil), rogue.interDER, rogue.rootDER)},
		{"issued for another key", concat(pki.issue(t, &other.PublicKey, now.AddDate(-1, 0, 0), now.AddDate(1, 0, 0), nil), pki.interDER)},
		{"expired", concat(pki.issue(t, ekKey, now.AddDate(-2, 0, 0), now.Add(-time.Second), nil), pki.interDER)},
		{"not yet valid", concat(pki.issue(t, ekKey, now.Add(time.Hour), now.AddDate(1, 0, 0), nil), pki.interDER)},
		{"intermediate missing", leaf},
		{"intermediates only", pki.interDER},
		{"a CA certificate", concat(pki.issue(t, ekKey, now.AddDate(-1, 0, 0), now.AddDate(1, 0, 0), func(c *x509.Certificate) { c.IsCA = true; c.KeyUsage |= x509.KeyUsageCertSign }), pki.interDER)},
		{"unknown critical extension", concat(pki.issue(t, ekKey, now.AddDate(-1, 0, 0), now.AddDate(1, 0, 0), func(c *x509.Certificate) {
			c.ExtraExtensions = append(c.ExtraExtensions, pkix.Extension{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1}, Critical: true, Value: []byte{0x05, 0x00}})
		}), pki.interDER)},
		{"critical SubjectAltName with an otherName", concat(pki.issue(t, ekKey, now.AddDate(-1, 0, 0), now.AddDate(1, 0, 0), func(c *x509.Certificate) {
			c.ExtraExtensions[0].Value = otherSAN
		}), pki.interDER)},
		{"too many certificates", concat(leaf, pki.interDER, pki.interDER, pki.interDER, pki.interDER)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.p.Challenge(keys(tc.cert))
			require.ErrorIs(t, err, ErrUntrustedTPM)
			t.Log(err)
		})
	}

	t.Run("TrustEK still has a say", func(t *testing.T) {
		trustEK = func(*ecdsa.PublicKey) bool { return false }
		defer func() { trustEK = nil }()
		_, err := e.p.Challenge(keys(good))
		require.ErrorIs(t, err, ErrUntrustedTPM)
	})

	t.Run("over HTTP", func(t *testing.T) {
		srv := httptest.NewServer(e.p.Handler())
		defer srv.Close()
		post := func(body AttestationKeysBody) *http.Response {
			b, _ := json.Marshal(body)
			resp, err := http.Post(srv.URL+"/v1/enroll/attestation/challenge", "application/json", bytes.NewReader(b))
			require.NoError(t, err)
			t.Cleanup(func() { resp.Body.Close() })
			return resp
		}
		resp := post(AttestationKeysBody{EK: wk.EK, AK: wk.AK, Device: wk.Device})
		require.Equal(t, http.StatusForbidden, resp.StatusCode)
		var pb problem.Body
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&pb))
		require.Equal(t, "urn:mustard:problem:untrusted-tpm", pb.Type)

		resp = post(AttestationKeysBody{EK: wk.EK, AK: wk.AK, Device: wk.Device, EKCertificate: good})
		require.Equal(t, http.StatusCreated, resp.StatusCode)
		var ch AttestationChallengeJSON
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&ch))
		_, err := tpm.Activate(ch.IDObject, ch.EncSecret)
		require.NoError(t, err)
	})
}

// FuzzEKCertificate feeds arbitrary EK certificate chains to the check:
// never a panic, and every refusal is untrusted-tpm.
func FuzzEKCertificate(f *testing.F) {
	now := time.Now()
	pki := newEKPKI(f, now)
	ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(f, err)
	p := &Provider{cfg: Config{EKRoots: pki.pool(), Now: func() time.Time { return now }}}
	leaf := pki.issue(f, &ek.PublicKey, now.AddDate(-1, 0, 0), now.AddDate(1, 0, 0), nil)
	require.NoError(f, p.checkEKCertificate(concat(leaf, pki.interDER), &ek.PublicKey))
	f.Add(concat(leaf, pki.interDER))
	f.Add(leaf)
	f.Add(tcgSAN(f))
	f.Add([]byte{0x30, 0x00})
	f.Fuzz(func(t *testing.T, chain []byte) {
		if err := p.checkEKCertificate(chain, &ek.PublicKey); err != nil && !errors.Is(err, ErrUntrustedTPM) {
			t.Fatalf("refusal of another kind: %v", err)
		}
	})
}
