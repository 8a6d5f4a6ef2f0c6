package verifier

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/internal/problem"
	"github.com/mustard-id/mustard/internal/sdjwt"
	"github.com/mustard-id/mustard/internal/store/sqlite"
)

// The verification API makes the same presentation request document as
// every other party (PresentationRequest), served by reference, with its
// deep link and QR code.
func TestPresentationRequestDocument(t *testing.T) {
	t.Parallel()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "m.db"))
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	now := time.Now().Truncate(time.Second)
	v, err := New(Config{Issuers: sdjwt.StaticKeys("x", jwk.NewSet()), Now: func() time.Time { return now }})
	require.NoError(t, err)
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	h = (&API{V: v, Store: st, BaseURL: srv.URL, IsNonceUsed: func(err error) bool { return errors.Is(err, sqlite.ErrUsed) },
		IsNotFound: func(err error) bool { return errors.Is(err, sqlite.ErrNotFound) }}).Handler()

	create := func(body RequestJSON) (int, []byte) {
		b, _ := json.Marshal(body)
		resp, err := http.Post(srv.URL+"/v1/presentation-requests", "application/json", bytes.NewReader(b))
		require.NoError(t, err)
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, out
	}
	get := func(u string) (*http.Response, []byte) {
		resp, err := http.Get(u)
		require.NoError(t, err)
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp, out
	}

	// Audience alone: a nonce, no document.
	code, b := create(RequestJSON{Audience: "https://shop.example"})
	require.Equal(t, http.StatusCreated, code)
	var plain PresentationRequestJSON
	require.NoError(t, json.Unmarshal(b, &plain))
	require.NotEmpty(t, plain.Nonce)
	require.Nil(t, plain.Request)

	code, b = create(RequestJSON{Audience: "https://shop.example", Scope: "shop.example", MinGrade: "high", RequiredClaims: []string{"age_over_18"},
		Predicates: []string{"age>=18"}, ClientName: "Shop", ResponseURI: "https://shop.example/present"})
	require.Equal(t, http.StatusCreated, code, string(b))
	var out PresentationRequestJSON
	require.NoError(t, json.Unmarshal(b, &out))
	require.NotNil(t, out.Request)
	require.Equal(t, out.Nonce, out.Request.Nonce)
	require.Equal(t, RequestType, out.Request.Type)

	// A wallet given the deep link finds the document, as the OP's login
	// page's wallets do.
	uri, err := RequestURIOf(out.DeepLink)
	require.NoError(t, err)
	require.Equal(t, out.RequestURI, uri)
	resp, doc := get(uri)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, RequestMediaType, resp.Header.Get("Content-Type"))
	parsed, err := ParseRequest(doc)
	require.NoError(t, err)
	require.Equal(t, *out.Request, *parsed)

	resp, png := get(out.QRCode)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "image/png", resp.Header.Get("Content-Type"))
	require.True(t, bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")))

	for _, u := range []string{srv.URL + "/v1/presentation-requests/nope", srv.URL + "/v1/presentation-requests/nope/qr"} {
		resp, b := get(u)
		require.Equal(t, http.StatusNotFound, resp.StatusCode)
		require.Equal(t, problem.MediaType, resp.Header.Get("Content-Type"))
		require.Contains(t, string(b), ErrUnknownRequest.Type())
	}
	for name, bad := range map[string]RequestJSON{
		"no response_uri": {Audience: "https://shop.example", Scope: "shop.example"},
		"bad grade":       {Audience: "https://shop.example", Scope: "shop.example", MinGrade: "max", ResponseURI: "https://shop.example/p"},
		"script URI":      {Audience: "https://shop.example", Scope: "shop.example", ResponseURI: "javascript:alert(1)"},
	} {
		code, b := create(bad)
		require.Equal(t, http.StatusBadRequest, code, name)
		require.Contains(t, string(b), ErrInvalidRequest.Type(), name)
	}

	// Expired with its nonce.
	now = now.Add(6 * time.Minute)
	resp, _ = get(uri)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
}
