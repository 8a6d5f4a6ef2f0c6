package persona

import (
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/mustard-id/mustard/coreid"
	"github.com/mustard-id/mustard/internal/trust"
	"github.com/mustard-id/mustard/zk"
)

// thresholdFile holds a k-of-n core credential and its endorsements,
// encrypted like core.enc.
const thresholdFile = "threshold.enc"

// thresholdJSON is threshold.enc's content.
type thresholdJSON struct {
	Credential   coreid.CredentialJSON `json:"credential"`
	Endorsements []endorsedJSON        `json:"endorsements"`
	Servers      []string              `json:"servers"`
}

type endorsedJSON struct {
	ProviderKey string `json:"provider_key"` // hex
	Signature   string `json:"signature"`    // hex
}

// SaveThreshold writes the wallet's k-of-n core credential and records the
// enrollment. The first provider's endorsement also becomes the wallet's
// single-provider core credential (what SaveCore keeps: status, backups
// and persona-circuit proofs for relying parties that ask for one
// provider), with its registry leaf from fw.
func (u *Unlocked) SaveThreshold(servers []string, issuerID string, governance []byte, fw *trust.Document) error {
	t := u.Wallet.Threshold
	if t == nil || len(t.Endorsements) == 0 {
		return ErrNotEnrolled
	}
	e0 := t.Endorsements[0]
	entry, err := fw.Provider(hex.EncodeToString(e0.ProviderKey.Bytes()))
	if err != nil {
		return err
	}
	maxGrade, err := zk.ParseGrade(entry.MaxGrade)
	if err != nil {
		return err
	}
	j := thresholdJSON{Credential: coreid.ToJSON(&t.Credential), Servers: servers}
	for _, e := range t.Endorsements {
		j.Endorsements = append(j.Endorsements, endorsedJSON{ProviderKey: hex.EncodeToString(e.ProviderKey.Bytes()), Signature: hex.EncodeToString(e.Signature)})
	}
	if err := u.writeEnc(thresholdFile, j); err != nil {
		return err
	}
	u.Wallet.Core = &Core{Credential: t.Credential, Signature: e0.Signature, ProviderKey: e0.ProviderKey, MaxGrade: maxGrade, ValidUntil: entry.ValidUntil}
	return u.SaveCore(servers[0], issuerID, governance)
}

// LoadThreshold reads the wallet's k-of-n core credential into
// u.Wallet.Threshold, checking every endorsement's signature; a wallet
// without one is left as it is and reports false.
func (u *Unlocked) LoadThreshold() (servers []string, ok bool, err error) {
	if _, err := os.Stat(filepath.Join(u.Dir, thresholdFile)); errors.Is(err, os.ErrNotExist) {
		return nil, false, nil
	}
	var j thresholdJSON
	if err := u.readEnc(thresholdFile, &j); err != nil {
		return nil, false, err
	}
	corrupt := func(err error) error {
		return &FileError{Path: filepath.Join(u.Dir, thresholdFile), Err: fmt.Errorf("%w: %v", ErrCorruptFile, err), Fix: fixRestore}
	}
	cred, err := coreid.FromJSON(j.Credential)
	if err != nil {
		return nil, false, corrupt(err)
	}
	t := &ThresholdCore{Credential: cred}
	m := cred.Message()
	for _, e := range j.Endorsements {
		kb, err := hex.DecodeString(e.ProviderKey)
		if err != nil {
			return nil, false, corrupt(err)
		}
		pk, err := zk.ParsePublicKey(kb)
		if err != nil {
			return nil, false, corrupt(err)
		}
		sig, err := hex.DecodeString(e.Signature)
		if err != nil {
			return nil, false, corrupt(err)
		}
		if err := pk.Verify(m, sig); err != nil {
			return nil, false, corrupt(err)
		}
		t.Endorsements = append(t.Endorsements, Endorsed{ProviderKey: pk, Signature: sig})
	}
	u.Wallet.Threshold = t
	return j.Servers, true, nil
}
