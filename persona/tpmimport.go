package persona

import (
	"crypto/rand"
	"crypto/sha256"
	"fmt"

	"github.com/google/go-tpm/tpm2"
)

// TPMImporter is the receiving device's TPM in a transfer. It offers its
// storage key (a TPMT_PUBLIC, restricted decryption), and imports the
// core secret that the sender wrapped for that key: TPM2_Import under the
// storage key, TPM2_Load, TPM2_Unseal. The secret is encrypted to that TPM
// on the wire (TPM 2.0 Part 1, "Outer Duplication Wrapper"): only it can
// open it, even if the channel's key leaked.
type TPMImporter interface {
	StorageKey() ([]byte, error)
	Import(public, duplicate, seed []byte) ([]byte, error)
}

// TPMImport is a secret wrapped for a TPM's storage key: a sealed data
// object's public area, its duplicate (the outer-wrapped sensitive area)
// and the encrypted seed, all TPM-marshaled.
type TPMImport struct {
	Public    []byte `json:"public"`
	Duplicate []byte `json:"duplicate"`
	Seed      []byte `json:"seed"`
}

// maxTPMField bounds each field of a storage key or an import.
const maxTPMField = 4 << 10

// WrapForTPM seals secret into a keyed-hash data object that only the TPM
// holding storageKey (a marshaled TPMT_PUBLIC) can import, as go-tpm's
// CreateDuplicate builds it. The object has no authorization value and
// noDA: it lives only between TPM2_Import and TPM2_Unseal on the receiver.
func WrapForTPM(storageKey, secret []byte) (*TPMImport, error) {
	if len(storageKey) > maxTPMField {
		return nil, fmt.Errorf("%w: storage key too large", ErrTransfer)
	}
	pub, err := tpm2.Unmarshal[tpm2.TPMTPublic](storageKey)
	if err != nil {
		return nil, fmt.Errorf("%w: the receiver's storage key: %v", ErrTransfer, err)
	}
	if !pub.ObjectAttributes.Restricted || !pub.ObjectAttributes.Decrypt || pub.ObjectAttributes.SignEncrypt {
		return nil, fmt.Errorf("%w: the receiver's key is not a storage key", ErrTransfer)
	}
	kem, err := tpm2.ImportEncapsulationKey(pub)
	if err != nil {
		return nil, fmt.Errorf("%w: the receiver's storage key: %v", ErrTransfer, err)
	}
	obfuscation := make([]byte, sha256.Size)
	if _, err := rand.Read(obfuscation); err != nil {
		return nil, err
	}
	// Part 1, "Public Area Creation": a keyed-hash object's unique field is
	// H(obfuscation || sensitive data).
	h := sha256.New()
	h.Write(obfuscation)
	h.Write(secret)
	public := tpm2.TPMTPublic{
		Type:    tpm2.TPMAlgKeyedHash,
		NameAlg: tpm2.TPMAlgSHA256,
		ObjectAttributes: tpm2.TPMAObject{
			UserWithAuth: true,
			NoDA:         true,
		},
		Parameters: tpm2.NewTPMUPublicParms(tpm2.TPMAlgKeyedHash, &tpm2.TPMSKeyedHashParms{}),
		Unique:     tpm2.NewTPMUPublicID(tpm2.TPMAlgKeyedHash, &tpm2.TPM2BDigest{Buffer: h.Sum(nil)}),
	}
	sensitive := tpm2.Marshal(tpm2.TPMTSensitive{
		SensitiveType: tpm2.TPMAlgKeyedHash,
		SeedValue:     tpm2.TPM2BDigest{Buffer: obfuscation},
		Sensitive:     tpm2.NewTPMUSensitiveComposite(tpm2.TPMAlgKeyedHash, &tpm2.TPM2BSensitiveData{Buffer: secret}),
	})
	defer clear(sensitive)
	name, err := tpm2.ObjectName(&public)
	if err != nil {
		return nil, err
	}
	dup, seed, err := tpm2.CreateDuplicate(rand.Reader, kem, name.Buffer, sensitive)
	if err != nil {
		return nil, fmt.Errorf("%w: wrap for the receiver's TPM: %v", ErrTransfer, err)
	}
	return &TPMImport{Public: tpm2.Marshal(public), Duplicate: dup, Seed: seed}, nil
}
