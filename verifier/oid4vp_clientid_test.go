package verifier

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A wallet prints the client_id as who asks (the terminal prompt): a
// client_id with control or format characters (an escape sequence that
// rewrites the line, a right-to-left override) would let evil.example's
// request read as another verifier's. A did:web path segment carries them
// through resolution (they are percent-encoded in the document's URL),
// so the link and the request refuse them.
func TestClientIDPrintable(t *testing.T) {
	for _, id := range []string{
		PrefixDID + "did:web:evil.example:\x1b[2K\rbank.example",
		PrefixDID + "did:web:evil.example:x\u202eelpmaxe.knab",
		PrefixDID + "did:web:evil.example:\u00a0",
		PrefixRedirectURI + "https://evil.example/\u202e",
	} {
		link := AuthorizationLink(id, "https://evil.example/request", "")
		_, err := ParseAuthorizationLink(link)
		require.Error(t, err, "%q", id)

		a := validAuthorizationRequest()
		a.ClientID = id
		require.Error(t, a.Check(time.Now()), "%q", id)
	}
	require.NoError(t, validAuthorizationRequest().Check(time.Now()))
	ok := PrefixDID + "did:web:good.example:users:a%20b"
	_, err := ParseAuthorizationLink(AuthorizationLink(ok, "https://good.example/request", ""))
	require.NoError(t, err)
}

func validAuthorizationRequest() *AuthorizationRequest {
	return &AuthorizationRequest{
		ClientID: PrefixDID + "did:web:good.example", ResponseType: "vp_token", ResponseMode: ResponseModeDirectPost,
		ResponseURI: "https://good.example/r", Nonce: "n", DCQLQuery: DefaultDCQL(nil), Mustard: &MustardRequest{Scope: "good.example"},
	}
}
