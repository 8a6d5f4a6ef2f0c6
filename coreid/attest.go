package coreid

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/google/go-tpm/tpm2"

	"github.com/mustard-id/mustard/internal/problem"
	"github.com/mustard-id/mustard/zk"
)

// ErrAttestation is a TPM attestation that does not check out.
var ErrAttestation = problem.New("invalid-attestation", http.StatusUnauthorized, "The TPM attestation does not verify")

// ErrUntrustedTPM is an endorsement key without a certificate that chains
// to Config.EKRoots (none sent, malformed, expired, issued by another CA,
// or certifying another key).
var ErrUntrustedTPM = problem.New("untrusted-tpm", http.StatusForbidden, "The TPM's endorsement key is not certified by a trusted TPM manufacturer")

// Bounds on AttestationKeys.EKCertificate: a real EK certificate is
// under 1.5 KiB, and a manufacturer's chain has one or two intermediates.
const (
	maxEKCertChainSize = 16 << 10
	maxEKCertChainLen  = 4
)

// MaxPendingAttestations bounds challenges and tickets held in memory.
const MaxPendingAttestations = 10_000

// AttestationKeys are a wallet's TPM public areas (marshalled
// TPMT_PUBLIC): endorsement key, attestation key, device key; and the
// EK's certificate as the TPM's manufacturer issued it (X.509 DER, read
// from the TPM's NV index 0x01c0000a), optionally followed by the
// intermediate CA certificates up to the manufacturer's root, all DER,
// concatenated (what x509.ParseCertificates reads).
type AttestationKeys struct {
	EK, AK, Device []byte
	EKCertificate  []byte
}

// AttestationChallenge is TPM2_MakeCredential's output for the wallet's EK
// and AK name, computed in software by the provider (go-tpm
// CreateCredential): only the TPM that holds that EK and has that AK
// loaded can recover the credential inside.
type AttestationChallenge struct {
	ID        string
	IDObject  []byte
	EncSecret []byte
}

// Certification is the wallet's answer: the recovered credential and the
// AK's TPM2_Certify of the device key over SHA-256 of it.
type Certification struct {
	Credential  []byte
	CertifyInfo []byte // marshalled TPMS_ATTEST
	Signature   []byte // ASN.1 DER ECDSA by the AK over SHA-256(CertifyInfo)
}

// DeviceAttestation is a verified device key: the enrollment ticket that
// carries it (single use, NonceTTL) and its hash.
type DeviceAttestation struct {
	Ticket        string
	DeviceKeyHash fr.Element
}

// pendingAttestation is a challenge's or a ticket's state, kept in the
// provider's PendingStorage. It holds the hash of the challenge secret,
// not the secret: enough to check the answer, useless to forge one.
type pendingAttestation struct {
	secretHash []byte
	ak         *ecdsa.PublicKey
	deviceName []byte
	deviceHash fr.Element
	expires    time.Time
}

type pendingAttestationJSON struct {
	SecretHash []byte `json:"secret_hash"`
	AKX        []byte `json:"ak_x"`
	AKY        []byte `json:"ak_y"`
	DeviceName []byte `json:"device_name"`
	DeviceHash []byte `json:"device_hash"`
	Expires    int64  `json:"expires"`
}

func randomID() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// parsePublic reads a marshalled TPMT_PUBLIC, bounded.
func parsePublic(b []byte) (*tpm2.TPMTPublic, error) {
	if len(b) == 0 || len(b) > 1024 {
		return nil, ErrAttestation
	}
	pub, err := tpm2.Unmarshal[tpm2.TPMTPublic](b)
	if err != nil {
		return nil, ErrAttestation
	}
	return pub, nil
}

// eccKey returns an ECC P-256 public area's key.
func eccKey(pub *tpm2.TPMTPublic) (*ecdsa.PublicKey, error) {
	if pub.Type != tpm2.TPMAlgECC || pub.NameAlg != tpm2.TPMAlgSHA256 {
		return nil, ErrAttestation
	}
	parms, err := pub.Parameters.ECCDetail()
	if err != nil || parms.CurveID != tpm2.TPMECCNistP256 {
		return nil, ErrAttestation
	}
	pt, err := pub.Unique.ECC()
	if err != nil {
		return nil, ErrAttestation
	}
	k, err := tpm2.ECDSAPub(parms, pt)
	if err != nil {
		return nil, ErrAttestation
	}
	if _, err := k.ECDH(); err != nil { // on the curve
		return nil, ErrAttestation
	}
	return k, nil
}

// residentSigner checks the attributes of a key that never leaves its TPM
// and signs: fixedTPM, fixedParent, sensitiveDataOrigin, sign, not
// decrypt; restricted for an AK.
func residentSigner(pub *tpm2.TPMTPublic, restricted bool) bool {
	a := pub.ObjectAttributes
	return a.FixedTPM && a.FixedParent && a.SensitiveDataOrigin && a.SignEncrypt && !a.Decrypt && a.Restricted == restricted
}

// Challenge starts a TPM attestation. The EK must be a TCG ECC P-256 EK
// (its public area the template's, its point aside) that the provider
// trusts: with Config.EKRoots set, keys.EKCertificate must certify it and
// chain to one of those roots (ErrUntrustedTPM otherwise), and
// Config.TrustEK, if set, must accept it too; without EKRoots,
// Config.TrustEK alone decides (ErrAttestation when it refuses). The AK a restricted, TPM-resident signing key; the device key a
// TPM-resident P-256 signing key. The answer goes to VerifyAttestation.
func (p *Provider) Challenge(keys AttestationKeys) (*AttestationChallenge, error) {
	ek, err := parsePublic(keys.EK)
	if err != nil {
		return nil, err
	}
	tmpl := tpm2.ECCEKTemplate
	shape := *ek
	shape.Unique = tmpl.Unique
	if !bytes.Equal(tpm2.Marshal(&shape), tpm2.Marshal(&tmpl)) {
		return nil, fmt.Errorf("%w: not a TCG ECC P-256 endorsement key", ErrAttestation)
	}
	ekKey, err := eccKey(ek)
	if err != nil {
		return nil, err
	}
	if p.cfg.EKRoots != nil {
		if err := p.checkEKCertificate(keys.EKCertificate, ekKey); err != nil {
			return nil, err
		}
		if p.cfg.TrustEK != nil && !p.cfg.TrustEK(ekKey) {
			return nil, fmt.Errorf("%w: endorsement key refused", ErrUntrustedTPM)
		}
	} else if p.cfg.TrustEK == nil || !p.cfg.TrustEK(ekKey) {
		return nil, fmt.Errorf("%w: endorsement key not trusted", ErrAttestation)
	}
	ak, err := parsePublic(keys.AK)
	if err != nil {
		return nil, err
	}
	akKey, err := eccKey(ak)
	if err != nil || !residentSigner(ak, true) {
		return nil, fmt.Errorf("%w: attestation key attributes", ErrAttestation)
	}
	dev, err := parsePublic(keys.Device)
	if err != nil {
		return nil, err
	}
	devKey, err := eccKey(dev)
	if err != nil || !residentSigner(dev, false) {
		return nil, fmt.Errorf("%w: device key attributes", ErrAttestation)
	}
	akName, err := tpm2.ObjectName(ak)
	if err != nil {
		return nil, ErrAttestation
	}
	devName, err := tpm2.ObjectName(dev)
	if err != nil {
		return nil, ErrAttestation
	}
	encap, err := tpm2.ImportEncapsulationKey(ek)
	if err != nil {
		return nil, ErrAttestation
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, err
	}
	idObject, encSecret, err := tpm2.CreateCredential(rand.Reader, encap, akName.Buffer, secret)
	if err != nil {
		return nil, fmt.Errorf("coreid: make credential: %w", err)
	}
	id, err := randomID()
	if err != nil {
		return nil, err
	}
	sh := sha256.Sum256(secret)
	pa := pendingAttestation{secretHash: sh[:], ak: akKey, deviceName: devName.Buffer, deviceHash: zk.DeviceKeyHash(devKey), expires: p.cfg.Now().Add(NonceTTL)}
	if err := p.putAttestation(pendingChallenge, id, pa, p.cfg.Now()); err != nil {
		return nil, err
	}
	return &AttestationChallenge{ID: id, IDObject: idObject, EncSecret: encSecret}, nil
}

// checkEKCertificate checks that chain (the EK certificate, then any
// intermediates, concatenated DER) certifies ek and chains to
// Config.EKRoots at Config.Now. EK certificates follow the TCG EK
// Credential Profile rather than the Web PKI: an empty subject, the TPM's
// manufacturer, model and firmware version as a directoryName in a
// critical SubjectAltName (which crypto/x509 leaves unhandled, and which
// is accepted here when it holds directoryNames only), and extended key
// usages of their own (tcg-kp-EKCertificate), hence KeyUsages any. Any
// other unhandled critical extension is refused.
func (p *Provider) checkEKCertificate(chain []byte, ek *ecdsa.PublicKey) error {
	return VerifyEKCertificate(chain, ek, p.cfg.EKRoots, p.cfg.Now())
}

// VerifyEKCertificate checks that chain (an EK certificate, then any
// intermediates, concatenated DER) certifies ek and chains to roots at
// now, under the TCG profile's rules (see Provider.Challenge); every
// failure wraps ErrUntrustedTPM. A wallet sending its core secret to
// another TPM checks the receiver's EK with it.
func VerifyEKCertificate(chain []byte, ek *ecdsa.PublicKey, roots *x509.CertPool, now time.Time) error {
	if roots == nil {
		return fmt.Errorf("%w: no TPM manufacturer roots", ErrUntrustedTPM)
	}
	if len(chain) == 0 {
		return fmt.Errorf("%w: no EK certificate", ErrUntrustedTPM)
	}
	if len(chain) > maxEKCertChainSize {
		return fmt.Errorf("%w: EK certificate chain too large", ErrUntrustedTPM)
	}
	certs, err := x509.ParseCertificates(chain)
	if err != nil || len(certs) == 0 || len(certs) > maxEKCertChainLen {
		return fmt.Errorf("%w: malformed EK certificate chain", ErrUntrustedTPM)
	}
	leaf := certs[0]
	if pub, ok := leaf.PublicKey.(*ecdsa.PublicKey); !ok || !pub.Equal(ek) {
		return fmt.Errorf("%w: the certificate is for another key", ErrUntrustedTPM)
	}
	if leaf.IsCA {
		return fmt.Errorf("%w: the EK certificate is a CA certificate", ErrUntrustedTPM)
	}
	if err := acceptTCGSubjectAltName(leaf); err != nil {
		return fmt.Errorf("%w: %w", ErrUntrustedTPM, err)
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: inter,
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	}); err != nil {
		return fmt.Errorf("%w: %w", ErrUntrustedTPM, err)
	}
	return nil
}

var oidSubjectAltName = asn1.ObjectIdentifier{2, 5, 29, 17}

// acceptTCGSubjectAltName removes the SubjectAltName from c's unhandled
// critical extensions when it is a well-formed GeneralNames made of
// directoryNames only (the TCG profile's TPM manufacturer, model and
// version attributes), so that x509.Verify accepts it.
func acceptTCGSubjectAltName(c *x509.Certificate) error {
	i := -1
	for j, oid := range c.UnhandledCriticalExtensions {
		if oid.Equal(oidSubjectAltName) {
			i = j
		}
	}
	if i < 0 {
		return nil
	}
	for _, e := range c.Extensions {
		if !e.Id.Equal(oidSubjectAltName) {
			continue
		}
		var names []asn1.RawValue
		rest, err := asn1.Unmarshal(e.Value, &names)
		if err != nil || len(rest) > 0 || len(names) == 0 {
			return fmt.Errorf("malformed SubjectAltName")
		}
		for _, n := range names {
			var dn pkix.RDNSequence
			if n.Class != asn1.ClassContextSpecific || n.Tag != 4 || !n.IsCompound {
				return fmt.Errorf("critical SubjectAltName with other than directoryNames")
			}
			if rest, err := asn1.Unmarshal(n.Bytes, &dn); err != nil || len(rest) > 0 {
				return fmt.Errorf("malformed SubjectAltName directoryName")
			}
		}
		c.UnhandledCriticalExtensions = append(c.UnhandledCriticalExtensions[:i:i], c.UnhandledCriticalExtensions[i+1:]...)
		return nil
	}
	return fmt.Errorf("malformed SubjectAltName")
}

// VerifyAttestation checks the wallet's answer to challenge id (once):
// the recovered credential, then the AK's certification of the device key
// (TPM-generated, of type certify, over SHA-256 of the credential, naming
// the device key). It returns a single-use enrollment ticket for the
// device key.
func (p *Provider) VerifyAttestation(id string, c Certification) (*DeviceAttestation, error) {
	now := p.cfg.Now()
	pa, ok := p.takeAttestation(pendingChallenge, id, now)
	if !ok {
		return nil, fmt.Errorf("%w: unknown or expired challenge", ErrAttestation)
	}
	if len(c.Credential) > 64 {
		return nil, fmt.Errorf("%w: credential not activated", ErrAttestation)
	}
	if got := sha256.Sum256(c.Credential); !hmac.Equal(pa.secretHash, got[:]) {
		return nil, fmt.Errorf("%w: credential not activated", ErrAttestation)
	}
	if len(c.CertifyInfo) == 0 || len(c.CertifyInfo) > 1024 || len(c.Signature) > 128 {
		return nil, ErrAttestation
	}
	digest := sha256.Sum256(c.CertifyInfo)
	if !ecdsa.VerifyASN1(pa.ak, digest[:], c.Signature) {
		return nil, fmt.Errorf("%w: certification signature", ErrAttestation)
	}
	info, err := tpm2.Unmarshal[tpm2.TPMSAttest](c.CertifyInfo)
	if err != nil || info.Magic != tpm2.TPMGeneratedValue || info.Type != tpm2.TPMSTAttestCertify {
		return nil, fmt.Errorf("%w: not a TPM certification", ErrAttestation)
	}
	if !bytes.Equal(info.ExtraData.Buffer, pa.secretHash) {
		return nil, fmt.Errorf("%w: certification not bound to this challenge", ErrAttestation)
	}
	cert, err := info.Attested.Certify()
	if err != nil || !bytes.Equal(cert.Name.Buffer, pa.deviceName) {
		return nil, fmt.Errorf("%w: certification names another key", ErrAttestation)
	}
	ticket, err := randomID()
	if err != nil {
		return nil, err
	}
	pa.expires = now.Add(NonceTTL)
	if err := p.putAttestation(pendingTicket, ticket, pa, now); err != nil {
		return nil, err
	}
	return &DeviceAttestation{Ticket: ticket, DeviceKeyHash: pa.deviceHash}, nil
}

// redeem consumes an attestation ticket for deviceKeyHash.
func (p *Provider) redeem(ticket string, deviceKeyHash fr.Element) error {
	pa, ok := p.takeAttestation(pendingTicket, ticket, p.cfg.Now())
	if !ok || !pa.deviceHash.Equal(&deviceKeyHash) {
		return ErrAttestation
	}
	return nil
}

func (p *Provider) putAttestation(kind, id string, pa pendingAttestation, now time.Time) error {
	x, y := make([]byte, 32), make([]byte, 32)
	pa.ak.X.FillBytes(x)
	pa.ak.Y.FillBytes(y)
	dh := pa.deviceHash.Bytes()
	b, err := json.Marshal(pendingAttestationJSON{SecretHash: pa.secretHash, AKX: x, AKY: y, DeviceName: pa.deviceName, DeviceHash: dh[:], Expires: pa.expires.Unix()})
	if err != nil {
		return err
	}
	ctx, cancel := pendingCtx()
	defer cancel()
	ok, err := p.pend.PutPending(ctx, kind, id, b, now, pa.expires, MaxPendingAttestations)
	if err != nil {
		return err
	}
	if !ok {
		return problem.New("too-many-attestations", http.StatusServiceUnavailable, "Too many attestations in progress")
	}
	return nil
}

func (p *Provider) takeAttestation(kind, id string, now time.Time) (pendingAttestation, bool) {
	ctx, cancel := pendingCtx()
	defer cancel()
	b, err := p.pend.TakePending(ctx, kind, id, now)
	if err != nil || b == nil {
		return pendingAttestation{}, false
	}
	var j pendingAttestationJSON
	if err := json.Unmarshal(b, &j); err != nil || len(j.AKX) != 32 || len(j.AKY) != 32 {
		return pendingAttestation{}, false
	}
	pa := pendingAttestation{secretHash: j.SecretHash, deviceName: j.DeviceName, expires: time.Unix(j.Expires, 0),
		ak: &ecdsa.PublicKey{Curve: elliptic.P256(), X: new(big.Int).SetBytes(j.AKX), Y: new(big.Int).SetBytes(j.AKY)}}
	if err := pa.deviceHash.SetBytesCanonical(j.DeviceHash); err != nil {
		return pendingAttestation{}, false
	}
	return pa, !now.After(pa.expires)
}
