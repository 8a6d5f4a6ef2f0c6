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
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/internal/problem"
	"github.com/mustard-id/mustard/internal/sdjwt"
	"github.com/mustard-id/mustard/internal/store/sqlite"
)

// A DCQL query for dc+sd-jwt is answered by SD-JWT presentations only: a
// JSON-LD presentation (which Verify also accepts) is not what the query
// asked for, and is refused before it is verified.
func TestOID4VPRefusesOtherFormat(t *testing.T) {
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
	b, _ := json.Marshal(OID4VPRequestJSON{Scope: "plain.example"})
	resp, err := http.Post(srv.URL+"/v1/oid4vp/requests", "application/json", bytes.NewReader(b))
	require.NoError(t, err)
	var tx OID4VPTransactionJSON
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&tx))
	resp.Body.Close()
	link, err := ParseAuthorizationLink(tx.AuthorizationRequest)
	require.NoError(t, err)
	resp, err = http.Get(link.RequestURI)
	require.NoError(t, err)
	obj, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	a, err := ParseRequestObject(context.Background(), string(obj), link.ClientID, nil, time.Now())
	require.NoError(t, err)

	ldp, _ := json.Marshal(map[string]any{"@context": []string{"https://www.w3.org/ns/credentials/v2"}, "type": "VerifiablePresentation",
		"proof": map[string]any{"challenge": a.Nonce, "domain": a.ClientID}})
	form, err := (&AuthorizationResponse{VPToken: map[string][]string{"persona": {string(ldp)}}, State: a.State}).Form()
	require.NoError(t, err)
	resp, err = http.PostForm(a.ResponseURI, form)
	require.NoError(t, err)
	var p problem.Body
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&p))
	resp.Body.Close()
	require.Equal(t, ErrDCQLUnsatisfied.Type(), p.Type)
}
