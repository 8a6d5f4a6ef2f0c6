package issuer_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/internal/sdjwt"
	"github.com/mustard-id/mustard/issuer"
	"github.com/mustard-id/mustard/verifier"
	"github.com/mustard-id/mustard/zk"
)

// A JSON-LD persona credential carries persona_proof_vk in its subject,
// so a device-bound policy applies to it as to SD-JWT VC: accepted when
// it names the verifying key the verifier trusts as device-bound, refused
// with not-device-bound otherwise. (IssueVerified checks no proof: the
// statement names the world's key, which plays the trusted one here.)
func TestLDPPresentationDeviceBound(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil)
	out, holder := w.issueAs(t, issuer.FormatLDPVC)
	var vc struct {
		Subject map[string]any `json:"credentialSubject"`
	}
	require.NoError(t, json.Unmarshal([]byte(out.Credential), &vc))
	vk, _ := vc.Subject["persona_proof_vk"].(string)
	require.NotEmpty(t, vk)
	set, err := w.iss.PublicKeys()
	require.NoError(t, err)
	verifierTrusting := func(id string) *verifier.Verifier {
		v, err := verifier.New(verifier.Config{Issuers: sdjwt.StaticKeys(w.iss.ID(), set), Now: w.clock.Now, DeviceBoundZK: &zk.Keys{VKID: id}})
		require.NoError(t, err)
		return v
	}
	pol := verifier.Policy{Audience: testRP, Nonce: "rp-nonce", Scope: testScope, DeviceBound: true}
	pres := presentLDP(t, out.Credential, holder, testRP, "rp-nonce", w.clock.Now())
	ctx := context.Background()
	_, err = verifierTrusting(vk).Verify(ctx, pres, pol)
	require.NoError(t, err)
	_, err = verifierTrusting("sha256:another").Verify(ctx, pres, pol)
	require.ErrorIs(t, err, verifier.ErrNotDeviceBound)
	pol.DeviceBound = false
	_, err = verifierTrusting("sha256:another").Verify(ctx, pres, pol)
	require.NoError(t, err)
}
