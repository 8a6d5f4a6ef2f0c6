package persona

import (
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/mustard-id/mustard/zk"
)

// MemberSecret is this wallet's secret in a community: derived from the
// core secret, so a restored or transferred wallet is the same member, and
// unlinkable to it or to any other community.
func (w *Wallet) MemberSecret(pin []byte, community string) (fr.Element, error) {
	s, err := w.secret(pin)
	if err != nil {
		return fr.Element{}, err
	}
	return zk.MemberSecret(s, community), nil
}
