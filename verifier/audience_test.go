package verifier

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/internal/sdjwt"
	"github.com/mustard-id/mustard/internal/store/sqlite"
)

// A Mustard presentation request is unsigned: its audience and its
// response_uri are whatever its author wrote. Were it allowed to name an
// OpenID4VP client identifier as audience, a wallet would make a
// presentation for that client (aud = its client_id, nonce copied from
// the client's public Request Object) and post it to the author, who
// relays it to the real client, which accepts it: the client_id prefix
// rules (a redirect_uri: client is answered only at its own address, a
// decentralized_identifier: client only for a request its DID signed)
// would be bypassed. So the two audience namespaces are kept apart.
func TestMustardRequestRefusesOID4VPAudience(t *testing.T) {
	for _, aud := range []string{
		PrefixDID + "did:web:good.example",
		PrefixRedirectURI + "https://good.example/v1/oid4vp/responses/abc",
		"x509_san_dns:good.example", "x509_hash:abc", "openid_federation:https://good.example",
		"verifier_attestation:good", "origin:https://good.example",
	} {
		r := sampleRequest()
		r.Audience = aud
		r.ResponseURI = "https://evil.example/collect"
		b, _ := json.Marshal(r)
		_, err := ParseRequest(b)
		require.Error(t, err, aud)
	}
	// Plain audiences still work.
	r := sampleRequest()
	b, _ := json.Marshal(r)
	_, err := ParseRequest(b)
	require.NoError(t, err)

	// Nor does a verifier make such a request document.
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "m.db"))
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	v, err := New(Config{Issuers: sdjwt.StaticKeys("x", jwk.NewSet())})
	require.NoError(t, err)
	srv := httptest.NewServer((&API{V: v, Store: st, BaseURL: "https://verifier.example",
		IsNotFound: func(err error) bool { return errors.Is(err, sqlite.ErrNotFound) }}).Handler())
	defer srv.Close()
	body, _ := json.Marshal(RequestJSON{Audience: PrefixDID + "did:web:good.example", Scope: "good.example", ResponseURI: "https://evil.example/collect"})
	resp, err := http.Post(srv.URL+"/v1/presentation-requests", "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
}
