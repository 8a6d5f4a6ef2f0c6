package verifier

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/internal/sdjwt"
	"github.com/mustard-id/mustard/internal/store/sqlite"
)

// A verifier with no DID: each transaction is its own redirect_uri:
// client, its Request Object unsigned, its answer only at that address.
// The QR code carries the openid4vp:// link; an unknown transaction is
// not found, and a pending one says so.
func TestOID4VPRedirectURIClient(t *testing.T) {
	t.Parallel()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "m.db"))
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	v, err := New(Config{Issuers: sdjwt.StaticKeys("x", jwk.NewSet())})
	require.NoError(t, err)
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	h = (&API{V: v, Store: st, BaseURL: srv.URL, IsNonceUsed: func(err error) bool { return errors.Is(err, sqlite.ErrUsed) },
		IsNotFound: func(err error) bool { return errors.Is(err, sqlite.ErrNotFound) }, OID4VP: &OID4VPClient{Name: "Plain"}}).Handler()

	b, _ := json.Marshal(OID4VPRequestJSON{Scope: "plain.example", RequiredClaims: []string{"age_over_18"}})
	resp, err := http.Post(srv.URL+"/v1/oid4vp/requests", "application/json", bytes.NewReader(b))
	require.NoError(t, err)
	var tx OID4VPTransactionJSON
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&tx))
	resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	require.True(t, strings.HasPrefix(tx.ClientID, PrefixRedirectURI+srv.URL+"/v1/oid4vp/responses/"), tx.ClientID)

	link, err := ParseAuthorizationLink(tx.AuthorizationRequest)
	require.NoError(t, err)
	resp, err = http.Get(link.RequestURI)
	require.NoError(t, err)
	obj, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	a, err := ParseRequestObject(context.Background(), string(obj), link.ClientID, nil, time.Now())
	require.NoError(t, err)
	require.Equal(t, strings.TrimPrefix(tx.ClientID, PrefixRedirectURI), a.ResponseURI)
	require.Equal(t, "Plain", a.ClientMetadata.ClientName)

	resp, err = http.Get(tx.QRCode)
	require.NoError(t, err)
	png, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, "image/png", resp.Header.Get("Content-Type"))
	require.True(t, bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")))

	resp, err = http.Get(tx.ResultURI)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusAccepted, resp.StatusCode)
	for _, u := range []string{srv.URL + "/v1/oid4vp/requests/nope", srv.URL + "/v1/oid4vp/requests/nope/qr", srv.URL + "/v1/oid4vp/transactions/nope"} {
		resp, err = http.Get(u)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusNotFound, resp.StatusCode, u)
	}
	// Without an OpenID4VP identity, no transactions.
	off := httptest.NewServer((&API{V: v, Store: st, BaseURL: srv.URL}).Handler())
	defer off.Close()
	resp, err = http.Post(off.URL+"/v1/oid4vp/requests", "application/json", bytes.NewReader(b))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
}
