package oid4vci_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/internal/oid4vci"
)

// Offers as others write them: the specification's examples (OpenID4VCI
// 1.0 §4.1.1 and §4.1.3) and a vendor's by-value offer URI (MATTR's API
// reference, with members this package does not define, which it
// ignores). No independent OpenID4VCI implementation in Go was available
// to test against; these are the next best thing.
func TestParseOfferVectors(t *testing.T) {
	// §4.1.1, the pre-authorized code example.
	spec := `{
   "credential_issuer": "https://credential-issuer.example.com",
   "credential_configuration_ids": [
      "UniversityDegreeCredential",
      "org.iso.18013.5.1.mDL"
   ],
   "grants": {
      "urn:ietf:params:oauth:grant-type:pre-authorized_code": {
         "pre-authorized_code": "oaKazRN8I0IbtZ0C7JuMn5",
         "tx_code": {
            "length": 4,
            "input_mode": "numeric",
            "description": "Please provide the one-time code that was sent via e-mail"
         }
      }
   }
}`
	ref, err := oid4vci.ParseOffer(spec)
	require.NoError(t, err)
	require.Equal(t, "https://credential-issuer.example.com", ref.Offer.CredentialIssuer)
	require.Equal(t, []string{"UniversityDegreeCredential", "org.iso.18013.5.1.mDL"}, ref.Offer.CredentialConfigurationIDs)
	g := ref.Offer.Grants.PreAuthorized
	require.Equal(t, "oaKazRN8I0IbtZ0C7JuMn5", g.Code)
	require.Equal(t, oid4vci.TxCode{Length: 4, InputMode: "numeric", Description: "Please provide the one-time code that was sent via e-mail"}, *g.TxCode)

	// §4.1.3, by reference.
	ref, err = oid4vci.ParseOffer("openid-credential-offer://?credential_offer_uri=https%3A%2F%2Fserver%2Eexample%2Ecom%2Fcredential-offer%2FGkurKxf5T0Y-mnPFCHqWOMiZi4VS138cQO_V7PZHAdM")
	require.NoError(t, err)
	require.Equal(t, "https://server.example.com/credential-offer/GkurKxf5T0Y-mnPFCHqWOMiZi4VS138cQO_V7PZHAdM", ref.URI)

	// A vendor's authorization-code offer by value: parsed, then refused
	// by the wallet, which speaks the pre-authorized code flow only.
	ref, err = oid4vci.ParseOffer("openid-credential-offer://?credential_offer=%7B%22credential_issuer%22%3A%22https%3A%2F%2Fmyissuer.example.com%22%2C%22credentials%22%3A%5B%22707e920a-f342-443b-ae24-6946b7b5033e%22%5D%2C%22credential_configuration_ids%22%3A%5B%22707e920a-f342-443b-ae24-6946b7b5033e%22%5D%2C%22request_parameters%22%3A%7B%22login_hint%22%3A%22user%40example.com%22%2C%22prompt%22%3A%22login%22%7D%7D")
	require.NoError(t, err)
	require.Equal(t, "https://myissuer.example.com", ref.Offer.CredentialIssuer)
	_, err = (&oid4vci.Client{}).Redeem(context.Background(), ref.Offer, "")
	require.ErrorContains(t, err, "no pre-authorized code")

	// The same offer from a file, as wallet enroll --offer FILE reads it.
	file := filepath.Join(t.TempDir(), "offer.json")
	require.NoError(t, os.WriteFile(file, []byte(spec), 0o600))
	ref, err = oid4vci.ParseOffer(file)
	require.NoError(t, err)
	require.Equal(t, "oaKazRN8I0IbtZ0C7JuMn5", ref.Offer.Grants.PreAuthorized.Code)
}

func TestParseOfferRefusals(t *testing.T) {
	for name, s := range map[string]string{
		"empty":               "",
		"both forms":          "openid-credential-offer://?credential_offer=%7B%7D&credential_offer_uri=https%3A%2F%2Fa.example%2Fo",
		"neither":             "openid-credential-offer://?x=1",
		"http reference":      "openid-credential-offer://?credential_offer_uri=http%3A%2F%2Fevil.example%2Fo",
		"http issuer":         `{"credential_issuer":"http://issuer.example","credential_configuration_ids":["a"]}`,
		"issuer with query":   `{"credential_issuer":"https://issuer.example?x=1","credential_configuration_ids":["a"]}`,
		"no configurations":   `{"credential_issuer":"https://issuer.example","credential_configuration_ids":[]}`,
		"repeated ids":        `{"credential_issuer":"https://issuer.example","credential_configuration_ids":["a","a"]}`,
		"empty code":          `{"credential_issuer":"https://issuer.example","credential_configuration_ids":["a"],"grants":{"urn:ietf:params:oauth:grant-type:pre-authorized_code":{"pre-authorized_code":""}}}`,
		"bad tx mode":         `{"credential_issuer":"https://issuer.example","credential_configuration_ids":["a"],"grants":{"urn:ietf:params:oauth:grant-type:pre-authorized_code":{"pre-authorized_code":"c","tx_code":{"input_mode":"emoji"}}}}`,
		"trailing data":       `{"credential_issuer":"https://issuer.example","credential_configuration_ids":["a"]} {}`,
		"other scheme":        "ftp://x/?credential_offer=%7B%7D",
		"no such file or url": "offer-that-does-not-exist.json",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := oid4vci.ParseOffer(s)
			require.ErrorIs(t, err, oid4vci.ErrOffer)
		})
	}
}
