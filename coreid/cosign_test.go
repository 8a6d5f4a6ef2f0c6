package coreid

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/zk"
)

// FuzzParseProposal decodes arbitrary cosign bodies' proposals: no panic,
// every failure an ErrProposal, and what decodes re-encodes to itself.
func FuzzParseProposal(f *testing.F) {
	var c zk.CoreCredential
	for i := range c.Attrs {
		c.Attrs[i] = fr.NewElement(uint64(i))
	}
	c.Grade, c.Expiry, c.RevNonce = 3, 1893456000, fr.NewElement(99)
	good, err := json.Marshal(ProposalOf(&c))
	require.NoError(f, err)
	f.Add(good)
	f.Add([]byte(`{"attrs":[],"grade":1,"expiry":2,"rev_nonce":"00"}`))
	f.Add([]byte(`{"attrs":["zz"],"rev_nonce":""}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		var j ProposalJSON
		if json.Unmarshal(raw, &j) != nil {
			return
		}
		p, err := ParseProposal(&j)
		if err != nil {
			if !errors.Is(err, ErrProposal) {
				t.Fatalf("not an ErrProposal: %v", err)
			}
			return
		}
		c := zk.CoreCredential{Attrs: p.Attrs, Grade: p.Grade, Expiry: p.Expiry, RevNonce: p.RevNonce}
		back := ProposalOf(&c)
		require.Equal(t, j.Attrs, back.Attrs)
		require.Equal(t, j.RevNonce, back.RevNonce)
	})
}
