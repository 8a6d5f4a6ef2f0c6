package coreid

import (
	"context"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/http"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/mustard-id/mustard/internal/problem"
	"github.com/mustard-id/mustard/zk"
)

// Device rebinding: a core credential commits to its device's key
// (DeviceKeyHash). When the core secret moves to a new device (wallet
// transfer), the old device's key signs an authorization naming the new
// device's key hash; the new device presents it with an attestation
// ticket for its own key, and the provider issues the same credential
// (commitment, attributes, grade, expiry) bound to the new device, under
// a new revocation nonce, and revokes the old one in the same store
// transaction (ReplaceIdentity, reason ReasonRebind). From then on the
// old credential, and so every persona the old device could still
// derive, is refused.

// ReasonRebind is the revocation reason of a credential replaced by a
// device rebinding.
const ReasonRebind = "rebind"

// MaxRebindWindow bounds how long a rebinding authorization is valid.
const MaxRebindWindow = 7 * 24 * time.Hour

// ErrRebind is a rebinding the provider refuses: the credential is not
// current (already revoked or replaced), the authorization expired, or
// the old device key did not sign it.
var ErrRebind = problem.New("invalid-rebinding", http.StatusForbidden, "The device rebinding is not authorized for a current core credential")

// Rebinding asks to bind a core credential to a new device.
type Rebinding struct {
	Credential       zk.CoreCredential
	Signature        []byte           // the provider's, on Credential
	DeviceKey        *ecdsa.PublicKey // the old device's key, which Credential commits to
	NewDeviceKeyHash fr.Element
	Expires          int64  // Unix seconds; at most MaxRebindWindow ahead
	Proof            []byte // the old device key's ASN.1 DER ECDSA over RebindDigest
	// Attestation is a ticket from VerifyAttestation for NewDeviceKeyHash;
	// empty caps the grade at Config.UnattestedMaxGrade.
	Attestation string
}

// RebindDigest is what the old device key signs to authorize a
// rebinding: SHA-256 over a domain tag, the provider key, the
// credential's revocation nonce, the new device key hash and the expiry.
func RebindDigest(providerKey string, revNonce, newDeviceKeyHash fr.Element, expires int64) []byte {
	h := sha256.New()
	h.Write([]byte("mustard/coreid/rebind/v1\x00"))
	h.Write([]byte(providerKey))
	h.Write([]byte{0})
	h.Write([]byte(zk.Hex(revNonce)))
	h.Write([]byte{0})
	h.Write([]byte(zk.Hex(newDeviceKeyHash)))
	var e [8]byte
	binary.BigEndian.PutUint64(e[:], uint64(expires))
	h.Write(e[:])
	return h.Sum(nil)
}

// Rebind checks a rebinding and returns the new credential. The old
// credential must be one this provider signed, bound to r.DeviceKey, not
// revoked, and still the identity's current one; a second use of the same
// authorization finds it replaced and fails.
func (p *Provider) Rebind(ctx context.Context, r Rebinding) (*Enrollment, error) {
	now := p.cfg.Now()
	if !p.deviceHolder(r.Credential, r.Signature, r.DeviceKey, RebindDigest(p.keyHex, r.Credential.RevNonce, r.NewDeviceKeyHash, r.Expires), r.Proof) {
		return nil, ErrUnauthorized
	}
	if now.Unix() > r.Expires || time.Unix(r.Expires, 0).After(now.Add(MaxRebindWindow)) {
		return nil, fmt.Errorf("%w: the authorization expired", ErrRebind)
	}
	if zk.IsThresholdNonce(r.Credential.RevNonce) {
		// A k-of-n credential carries other providers' signatures too:
		// revoking this provider's entry alone would leave the old
		// device's copy valid under them (and under the k-of-n circuit's
		// CredentialRevocationEntry), and the rebound credential would
		// carry one signature instead of K. It moves by a new k-of-n
		// enrollment on the new device.
		return nil, fmt.Errorf("%w: a k-of-n credential is not rebound", ErrRebind)
	}
	entry := zk.RevocationEntry(p.cfg.Key.Public(), r.Credential.RevNonce)
	// The revocation check and the replacement hold the tree's lock, and
	// the tree first catches up with the store: a credential revoked
	// through another server sharing the store is refused here, not
	// replaced by a fresh unrevoked one.
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.treeErr(); err != nil {
		return nil, err
	}
	if p.feed != nil {
		if err := p.catchUpLocked(ctx); err != nil {
			return nil, err
		}
	}
	if p.revoked.Contains(entry) {
		return nil, fmt.Errorf("%w: the credential is revoked", ErrRebind)
	}
	cred := r.Credential
	cred.DeviceKeyHash = r.NewDeviceKeyHash
	if r.Attestation != "" {
		if err := p.redeem(r.Attestation, r.NewDeviceKeyHash); err != nil {
			return nil, err
		}
	} else if p.cfg.UnattestedMaxGrade > 0 {
		cred.Grade = min(cred.Grade, p.cfg.UnattestedMaxGrade)
	}
	var err error
	if cred.RevNonce, err = zk.RevocationNonce(); err != nil {
		return nil, err
	}
	sig, err := p.cfg.Key.Sign(cred.Message())
	if err != nil {
		return nil, err
	}
	oldNonce, newNonce, eb := r.Credential.RevNonce.Bytes(), cred.RevNonce.Bytes(), entry.Bytes()
	if err := p.store.ReplaceIdentity(ctx, nil, oldNonce[:], newNonce[:], eb[:], ReasonRebind, now); err != nil {
		if p.cfg.IsDuplicate(err) {
			// No identity holds that credential any more: replaced by a
			// re-enrollment or an earlier rebinding.
			return nil, fmt.Errorf("%w: the credential is no longer current", ErrRebind)
		}
		return nil, err
	}
	if p.feed != nil {
		// The tree follows the store's order, as revoke's does.
		if err := p.catchUpLocked(ctx); err != nil {
			return nil, err
		}
	} else if !p.revoked.Contains(entry) {
		if err := p.revoked.Insert(entry); err != nil {
			return nil, err
		}
	}
	maxGrade, _ := zk.ParseGrade(p.entry.MaxGrade)
	return &Enrollment{Credential: cred, Signature: sig, ProviderKey: p.keyHex, MaxGrade: maxGrade, ValidUntil: p.entry.ValidUntil, Replaced: true}, nil
}

// RebindBody is the JSON body of POST /v1/enroll/rebind.
type RebindBody struct {
	Credential       CredentialJSON `json:"credential"`
	Signature        string         `json:"signature"`           // hex, the provider's
	DeviceKey        string         `json:"device_key"`          // hex uncompressed P-256 point of the old device
	NewDeviceKeyHash string         `json:"new_device_key_hash"` // hex field element
	Expires          int64          `json:"expires"`
	Proof            string         `json:"proof"`                 // hex DER ECDSA over RebindDigest
	Attestation      string         `json:"attestation,omitempty"` // ticket for the new device key
}

func (p *Provider) serveRebind(w http.ResponseWriter, r *http.Request) {
	var body RebindBody
	if err := problem.Decode(w, r, problem.MaxBody, &body); err != nil {
		problem.Write(w, r, err)
		return
	}
	req, err := body.parse()
	if err != nil {
		problem.Write(w, r, err)
		return
	}
	e, err := p.Rebind(r.Context(), *req)
	if err != nil {
		problem.Write(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	problem.JSON(w, http.StatusCreated, e.JSON())
}

// parse decodes a rebinding body; any malformed field is ErrUnauthorized.
func (b *RebindBody) parse() (*Rebinding, error) {
	cred, err := FromJSON(b.Credential)
	if err != nil {
		return nil, ErrUnauthorized
	}
	sig, err1 := hex.DecodeString(b.Signature)
	proof, err2 := hex.DecodeString(b.Proof)
	pt, err3 := hex.DecodeString(b.DeviceKey)
	nd, err4 := zk.ParseHex(b.NewDeviceKeyHash)
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil || len(sig) > 256 || len(proof) > 256 {
		return nil, ErrUnauthorized
	}
	dk, err := ecdh.P256().NewPublicKey(pt)
	if err != nil {
		return nil, ErrUnauthorized
	}
	pub, err := devicePublicKey(dk)
	if err != nil {
		return nil, ErrUnauthorized
	}
	return &Rebinding{Credential: cred, Signature: sig, DeviceKey: pub, NewDeviceKeyHash: nd, Expires: b.Expires, Proof: proof, Attestation: b.Attestation}, nil
}
