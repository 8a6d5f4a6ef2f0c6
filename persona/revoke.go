package persona

import (
	"context"
	"encoding/hex"
	"net/http"

	"github.com/mustard-id/mustard/coreid"
	"github.com/mustard-id/mustard/zk"
)

// HolderRevocationPath is the provider endpoint a holder revokes its own
// core credential at. coreid does not serve it yet: see docs/wallet.md.
const HolderRevocationPath = "/v1/revocations/holder"

// HolderRevocationJSON is the body of POST /v1/revocations/holder: the
// core credential with the provider's signature, and the opening of its
// commitment, which proves that the sender holds the core secret.
//
// The provider checks its signature over the credential, that
// H(T_HOLDER, opening) is the credential's commitment, and revokes the
// credential's revocation nonce with reason "holder". Revealing the core
// secret retires it: the wallet never uses it again. The provider could,
// from then on, compute this identity's past pseudonyms; a zero-knowledge
// opening would avoid that (a gap listed in docs/threat-model.md).
type HolderRevocationJSON struct {
	Credential  coreid.CredentialJSON `json:"credential"`
	Signature   string                `json:"signature"`
	ProviderKey string                `json:"provider_key"`
	Opening     string                `json:"opening"`
	Reason      string                `json:"reason"`
}

// HolderRevocation builds the request that revokes this wallet's core
// credential.
func (w *Wallet) HolderRevocation(pin []byte) (*HolderRevocationJSON, error) {
	if w.Core == nil {
		return nil, ErrNotEnrolled
	}
	s, err := w.secret(pin)
	if err != nil {
		return nil, err
	}
	return &HolderRevocationJSON{
		Credential:  coreid.ToJSON(&w.Core.Credential),
		Signature:   hex.EncodeToString(w.Core.Signature),
		ProviderKey: hex.EncodeToString(w.Core.ProviderKey.Bytes()),
		Opening:     zk.Hex(s),
		Reason:      "holder",
	}, nil
}

// RevokeCore sends a holder revocation to the provider.
func (c *Client) RevokeCore(ctx context.Context, body *HolderRevocationJSON) error {
	var out map[string]any
	return c.do(ctx, http.MethodPost, HolderRevocationPath, body, &out)
}
