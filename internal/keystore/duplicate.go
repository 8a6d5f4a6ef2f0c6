package keystore

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport"
)

// Duplicable sealing: a secret that can move from this TPM to another
// one's storage key with TPM2_Duplicate, never in clear outside the TPMs.
//
// The sealed object's authPolicy is
//
//	PolicyAuthValue ; PolicyCommandCode(TPM_CC_Duplicate)
//
// TPM2_Duplicate is always authorized in the DUP role, by a policy
// session only (TPM 2.0 Part 1 §19.7.3), so the object can be duplicated
// only by someone who knows its authValue (the PIN, under
// dictionary-attack protection), and the policy serves for nothing but
// TPM2_Duplicate. Knowing the PIN already lets one unseal the secret, so
// duplicability adds no power to the PIN holder and none to anyone else.
// encryptedDuplication is set: every duplicate carries an inner wrapper
// (AES-128-CFB under a key the TPM draws) inside the outer wrapper to the
// new parent, and the new parent cannot be TPM_RH_NULL (which would
// output the sensitive area unwrapped). Before duplicating, the sender
// changes the object's authValue from its PIN to a transfer
// authorization both ends derive from the transfer channel
// (TPM2_ObjectChangeAuth), and the receiver changes it to its own PIN
// after TPM2_Import: neither device learns the other's PIN.

// ErrNotDuplicable is returned by Duplicate for a blob sealed before
// duplicable sealing existed (fixedTPM, fixedParent), or by another kind
// of sealer.
var ErrNotDuplicable = errors.New("sealed secret is not duplicable")

// ErrNotStorageKey is returned for a new parent that is not a restricted
// decryption key of a supported shape.
var ErrNotStorageKey = errors.New("not a storage key")

// transferAuthTag domain-separates the hash that turns a transfer
// authorization into an authValue.
const transferAuthTag = "mustard/keystore/transfer-auth/v1\x00"

// duplicationPolicy is the duplicable template's authPolicy:
// PolicyAuthValue, then PolicyCommandCode(TPM_CC_Duplicate).
var duplicationPolicy = func() []byte {
	calc, err := tpm2.NewPolicyCalculator(tpm2.TPMAlgSHA256)
	if err != nil {
		panic(err)
	}
	if err := (tpm2.PolicyAuthValue{}).Update(calc); err != nil {
		panic(err)
	}
	if err := (tpm2.PolicyCommandCode{Code: tpm2.TPMCCDuplicate}).Update(calc); err != nil {
		panic(err)
	}
	return calc.Hash().Digest
}()

// duplicableTemplate is sealedTemplate made duplicable under
// duplicationPolicy.
var duplicableTemplate = tpm2.TPMTPublic{
	Type:    tpm2.TPMAlgKeyedHash,
	NameAlg: tpm2.TPMAlgSHA256,
	ObjectAttributes: tpm2.TPMAObject{
		UserWithAuth:         true,
		EncryptedDuplication: true,
	},
	AuthPolicy: tpm2.TPM2BDigest{Buffer: duplicationPolicy},
	Parameters: tpm2.NewTPMUPublicParms(tpm2.TPMAlgKeyedHash, &tpm2.TPMSKeyedHashParms{
		Scheme: tpm2.TPMTKeyedHashScheme{Scheme: tpm2.TPMAlgNull},
	}),
}

// innerWrapper is the symmetric algorithm of a duplicate's inner wrapper.
var innerWrapper = tpm2.TPMTSymDef{
	Algorithm: tpm2.TPMAlgAES,
	KeyBits:   tpm2.NewTPMUSymKeyBits(tpm2.TPMAlgAES, tpm2.TPMKeyBits(128)),
	Mode:      tpm2.NewTPMUSymMode(tpm2.TPMAlgAES, tpm2.TPMAlgCFB),
}

// isDuplicableSealed tells whether a sealed-data public area has the
// duplicable template's attributes and policy.
func isDuplicableSealed(pub *tpm2.TPMTPublic) bool {
	a := pub.ObjectAttributes
	return !a.FixedTPM && !a.FixedParent && a.EncryptedDuplication && a.UserWithAuth && !a.AdminWithPolicy &&
		!a.NoDA && !a.SignEncrypt && !a.Decrypt && !a.Restricted && !a.SensitiveDataOrigin &&
		bytes.Equal(pub.AuthPolicy.Buffer, duplicationPolicy)
}

// Duplicable reports whether blob is a TPM blob of a duplicable sealed
// secret (one SealDuplicable made, or ImportDuplicate imported).
func Duplicable(blob []byte) bool {
	b, err := parseBlob(blob)
	if err != nil || b.kind == KindSoftware {
		return false
	}
	pub, err := tpm2.Unmarshal[tpm2.TPMTPublic](b.public)
	return err == nil && isDuplicableSealed(pub)
}

// SealDuplicable is Seal with the duplicable template: the blob unseals
// with pin as any other, and Duplicate can move it to another TPM.
func (k *TPM) SealDuplicable(secret, pin []byte) ([]byte, error) {
	return k.seal(secret, pin, duplicableTemplate)
}

// seal creates a sealed-data object from tmpl under the storage root key
// (Seal and SealDuplicable differ only in the template).
func (k *TPM) seal(secret, pin []byte, tmpl tpm2.TPMTPublic) ([]byte, error) {
	if err := checkSealInput(secret, pin); err != nil {
		return nil, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return nil, fmt.Errorf("keystore: seal: %w", ErrClosed)
	}
	auth := authValue(pin)
	defer clear(auth)
	rsp, err := tpm2.Create{
		ParentHandle: tpm2.AuthHandle{
			Handle: k.srk.Handle,
			Name:   k.srk.Name,
			Auth:   k.session(nil, tpm2.AESEncryption(128, tpm2.EncryptIn)),
		},
		InSensitive: tpm2.TPM2BSensitiveCreate{
			Sensitive: &tpm2.TPMSSensitiveCreate{
				UserAuth: tpm2.TPM2BAuth{Buffer: auth},
				Data:     tpm2.NewTPMUSensitiveCreate(&tpm2.TPM2BSensitiveData{Buffer: secret}),
			},
		},
		InPublic: tpm2.New2B(tmpl),
	}.Execute(k.tpm)
	if err != nil {
		return nil, fmt.Errorf("keystore: seal: %w", err)
	}
	b := &blob{kind: k.kind, srkName: k.srk.Name.Buffer, public: rsp.OutPublic.Bytes(), private: rsp.OutPrivate.Buffer}
	return b.marshal(), nil
}

// StorageKey returns the public area (marshalled TPMT_PUBLIC) of this
// TPM's storage root key: the new parent a sender duplicates to.
func (k *TPM) StorageKey() ([]byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return nil, ErrClosed
	}
	return tpm2.Marshal(k.srkPub), nil
}

// Duplicated is a sealed secret duplicated for another TPM's storage key:
// the object's public area (marshalled TPMT_PUBLIC), its duplicate (the
// sensitive area, inner-wrapped then outer-wrapped: TPM2B_PRIVATE
// contents), the seed encrypted to the new parent, and the inner
// wrapper's key.
type Duplicated struct {
	Public    []byte `json:"public"`
	Duplicate []byte `json:"duplicate"`
	Seed      []byte `json:"seed"`
	InnerKey  []byte `json:"inner_key"`
}

// maxDuplicateField bounds each field of a Duplicated and a new parent.
const maxDuplicateField = 2048

// transferAuthValue turns a transfer authorization (a key both ends of a
// transfer derive) into an authValue, as authValue does a PIN.
func transferAuthValue(x []byte) []byte {
	h := sha256.New()
	h.Write([]byte(transferAuthTag))
	h.Write(x)
	sum := h.Sum(nil)
	defer clear(sum)
	out := make([]byte, base64.RawURLEncoding.EncodedLen(authHashSize))
	base64.RawURLEncoding.Encode(out, sum[:authHashSize])
	return out
}

// CheckStorageKey checks that b is a marshalled TPMT_PUBLIC of a storage
// key (restricted, decrypt, not sign; ECC P-256 or RSA 2048 with
// AES-128-CFB, SHA-256 names) that never leaves its TPM (fixedTPM,
// fixedParent, sensitiveDataOrigin): what Duplicate accepts as a new
// parent. It returns the decoded area.
func CheckStorageKey(b []byte) (pub *tpm2.TPMTPublic, err error) {
	defer func() {
		if recover() != nil {
			pub, err = nil, fmt.Errorf("undecodable public area: %w", ErrNotStorageKey)
		}
	}()
	if len(b) == 0 || len(b) > maxDuplicateField {
		return nil, fmt.Errorf("size: %w", ErrNotStorageKey)
	}
	pub, err = tpm2.Unmarshal[tpm2.TPMTPublic](b)
	if err != nil || !bytes.Equal(tpm2.Marshal(pub), b) {
		return nil, fmt.Errorf("undecodable public area: %w", ErrNotStorageKey)
	}
	a := pub.ObjectAttributes
	if pub.NameAlg != tpm2.TPMAlgSHA256 || !a.Restricted || !a.Decrypt || a.SignEncrypt || !a.FixedTPM || !a.FixedParent || !a.SensitiveDataOrigin {
		return nil, fmt.Errorf("attributes: %w", ErrNotStorageKey)
	}
	var sym tpm2.TPMTSymDefObject
	switch pub.Type {
	case tpm2.TPMAlgECC:
		p, err := pub.Parameters.ECCDetail()
		if err != nil || p.CurveID != tpm2.TPMECCNistP256 {
			return nil, fmt.Errorf("curve: %w", ErrNotStorageKey)
		}
		sym = p.Symmetric
	case tpm2.TPMAlgRSA:
		p, err := pub.Parameters.RSADetail()
		if err != nil || p.KeyBits != 2048 {
			return nil, fmt.Errorf("key size: %w", ErrNotStorageKey)
		}
		sym = p.Symmetric
	default:
		return nil, fmt.Errorf("type: %w", ErrNotStorageKey)
	}
	bits, err := sym.KeyBits.AES()
	mode, merr := sym.Mode.AES()
	if sym.Algorithm != tpm2.TPMAlgAES || err != nil || *bits != 128 || merr != nil || *mode != tpm2.TPMAlgCFB {
		return nil, fmt.Errorf("symmetric: %w", ErrNotStorageKey)
	}
	if _, err := tpm2.ImportEncapsulationKey(pub); err != nil {
		return nil, fmt.Errorf("key: %w", ErrNotStorageKey)
	}
	return pub, nil
}

// Duplicate duplicates the sealed secret in blob for the TPM whose
// storage key is newParent (see CheckStorageKey), inside this TPM:
// TPM2_ObjectChangeAuth from pin's authValue to transferAuth's, then
// TPM2_LoadExternal of newParent and TPM2_Duplicate with an inner wrapper
// under a TPM-drawn key and the outer wrapper to newParent. The secret
// never leaves the TPM in clear; only the TPM holding newParent's private
// key, given the inner key and transferAuth, can import and use it. A
// wrong PIN is ErrWrongPIN (and counts towards lockout); a blob sealed
// non-duplicable is ErrNotDuplicable.
func (k *TPM) Duplicate(data, pin, newParent, transferAuth []byte) (*Duplicated, error) {
	b, err := parseBlob(data)
	if err != nil {
		return nil, fmt.Errorf("keystore: duplicate: %w", err)
	}
	if b.kind != k.kind {
		return nil, fmt.Errorf("keystore: duplicate: %s blob on a %s keystore: %w", b.kind, k.kind, ErrWrongDevice)
	}
	pub, _ := tpm2.Unmarshal[tpm2.TPMTPublic](b.public) // parseBlob decoded it
	if !isDuplicableSealed(pub) {
		return nil, fmt.Errorf("keystore: duplicate: %w", ErrNotDuplicable)
	}
	parent, err := CheckStorageKey(newParent)
	if err != nil {
		return nil, fmt.Errorf("keystore: duplicate: new parent: %w", err)
	}
	if len(pin) == 0 || len(transferAuth) < 16 {
		return nil, fmt.Errorf("keystore: duplicate: %w", ErrInvalidInput)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return nil, fmt.Errorf("keystore: duplicate: %w", ErrClosed)
	}
	if !bytes.Equal(b.srkName, k.srk.Name.Buffer) {
		return nil, fmt.Errorf("keystore: duplicate: storage root key differs: %w", ErrWrongDevice)
	}
	// Three transient objects at once (storage root key, sealed object,
	// new parent): the device key makes room and is re-created on use.
	k.flushDeviceKey()
	auth, tauth := authValue(pin), transferAuthValue(transferAuth)
	defer clear(auth)
	defer clear(tauth)

	private, err := k.changeAuth(b.public, b.private, auth, tauth)
	if err != nil {
		return nil, fmt.Errorf("keystore: duplicate: %w", err)
	}
	obj, err := tpm2.Load{ParentHandle: k.srk, InPrivate: tpm2.TPM2BPrivate{Buffer: private}, InPublic: tpm2.BytesAs2B[tpm2.TPMTPublic](b.public)}.Execute(k.tpm)
	if err != nil {
		return nil, fmt.Errorf("keystore: duplicate: load: %w", classifyLoad(err))
	}
	defer k.flush(obj.ObjectHandle)
	ext, err := tpm2.LoadExternal{InPublic: tpm2.New2B(*parent), Hierarchy: tpm2.TPMRHNull}.Execute(k.tpm)
	if err != nil {
		return nil, fmt.Errorf("keystore: duplicate: load new parent: %w", err)
	}
	defer k.flush(ext.ObjectHandle)
	rsp, err := tpm2.Duplicate{
		ObjectHandle: tpm2.AuthHandle{
			Handle: obj.ObjectHandle,
			Name:   obj.Name,
			Auth: tpm2.Policy(tpm2.TPMAlgSHA256, 16, func(t transport.TPM, s tpm2.TPMISHPolicy, _ tpm2.TPM2BNonce) error {
				if _, err := (tpm2.PolicyAuthValue{PolicySession: s}).Execute(t); err != nil {
					return err
				}
				_, err := (tpm2.PolicyCommandCode{PolicySession: s, Code: tpm2.TPMCCDuplicate}).Execute(t)
				return err
			}, tpm2.Auth(tauth), tpm2.AESEncryption(128, tpm2.EncryptOut), tpm2.Salted(k.srk.Handle, k.srkPub)),
		},
		NewParentHandle: tpm2.NamedHandle{Handle: ext.ObjectHandle, Name: ext.Name},
		Symmetric:       innerWrapper,
	}.Execute(k.tpm)
	if err != nil {
		return nil, fmt.Errorf("keystore: duplicate: %w", classifyAuth(err))
	}
	return &Duplicated{
		Public:    bytes.Clone(b.public),
		Duplicate: rsp.Duplicate.Buffer,
		Seed:      rsp.OutSymSeed.Buffer,
		InnerKey:  rsp.EncryptionKeyOut.Buffer,
	}, nil
}

// changeAuth loads a sealed object and changes its authValue from auth
// to newAuth (TPM2_ObjectChangeAuth, the new value encrypted on the bus),
// returning the new private area. The caller holds k.mu.
func (k *TPM) changeAuth(public, private, auth, newAuth []byte) ([]byte, error) {
	obj, err := tpm2.Load{ParentHandle: k.srk, InPrivate: tpm2.TPM2BPrivate{Buffer: private}, InPublic: tpm2.BytesAs2B[tpm2.TPMTPublic](public)}.Execute(k.tpm)
	if err != nil {
		return nil, fmt.Errorf("load: %w", classifyLoad(err))
	}
	defer k.flush(obj.ObjectHandle)
	rsp, err := tpm2.ObjectChangeAuth{
		ObjectHandle: tpm2.AuthHandle{Handle: obj.ObjectHandle, Name: obj.Name, Auth: k.session(auth, tpm2.AESEncryption(128, tpm2.EncryptIn))},
		ParentHandle: k.srk,
		NewAuth:      tpm2.TPM2BAuth{Buffer: newAuth},
	}.Execute(k.tpm)
	if err != nil {
		return nil, fmt.Errorf("change authorization: %w", classifyAuth(err))
	}
	return rsp.OutPrivate.Buffer, nil
}

// ImportDuplicate imports a secret that another TPM duplicated for this
// one's storage root key (TPM2_Import with the inner key, through a
// session that encrypts it on the bus), changes its authValue from
// transferAuth's to pin's, and returns a blob that Unseal opens with pin
// and that Duplicate can move on again. The secret is never in clear
// outside the TPM. A duplicate made for another TPM, or altered, fails
// in TPM2_Import.
func (k *TPM) ImportDuplicate(d *Duplicated, transferAuth, pin []byte) ([]byte, error) {
	if d == nil || len(d.Public) > maxDuplicateField || len(d.Duplicate) == 0 || len(d.Duplicate) > maxDuplicateField ||
		len(d.Seed) == 0 || len(d.Seed) > maxDuplicateField || len(d.InnerKey) != 16 || len(transferAuth) < 16 || len(pin) == 0 {
		return nil, fmt.Errorf("keystore: import: %w", ErrInvalidInput)
	}
	if err := checkSealedPublic(d.Public); err != nil {
		return nil, fmt.Errorf("keystore: import: %w", err)
	}
	pub, _ := tpm2.Unmarshal[tpm2.TPMTPublic](d.Public)
	if !isDuplicableSealed(pub) {
		return nil, fmt.Errorf("keystore: import: %w", ErrNotDuplicable)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return nil, fmt.Errorf("keystore: import: %w", ErrClosed)
	}
	imp, err := tpm2.Import{
		ParentHandle:  tpm2.AuthHandle{Handle: k.srk.Handle, Name: k.srk.Name, Auth: k.session(nil, tpm2.AESEncryption(128, tpm2.EncryptIn))},
		EncryptionKey: tpm2.TPM2BData{Buffer: d.InnerKey},
		ObjectPublic:  tpm2.BytesAs2B[tpm2.TPMTPublic](d.Public),
		Duplicate:     tpm2.TPM2BPrivate{Buffer: d.Duplicate},
		InSymSeed:     tpm2.TPM2BEncryptedSecret{Buffer: d.Seed},
		Symmetric:     innerWrapper,
	}.Execute(k.tpm)
	if err != nil {
		return nil, fmt.Errorf("keystore: import: %w", err)
	}
	tauth, auth := transferAuthValue(transferAuth), authValue(pin)
	defer clear(tauth)
	defer clear(auth)
	private, err := k.changeAuth(d.Public, imp.OutPrivate.Buffer, tauth, auth)
	if err != nil {
		return nil, fmt.Errorf("keystore: import: %w", err)
	}
	b := &blob{kind: k.kind, srkName: k.srk.Name.Buffer, public: bytes.Clone(d.Public), private: private}
	return b.marshal(), nil
}

// flushDeviceKey evicts the device key, if loaded, to make room for
// other transient objects; deviceKey re-creates it. The caller holds k.mu.
func (k *TPM) flushDeviceKey() {
	if k.dev != nil {
		k.flush(k.dev.handle.Handle)
		k.dev = nil
	}
}
