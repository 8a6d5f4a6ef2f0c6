package oid4vci_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/internal/oid4vci"
)

// The store never holds a bearer secret in the clear: not the
// pre-authorized code (which redeems the offer), not the offer's id
// (which, by its credential_offer_uri, serves the code), not the access
// token. Someone who reads the database cannot redeem a live offer.
func TestStoreHoldsNoSecrets(t *testing.T) {
	w := newWorld(t)
	res := w.offer(t, false)
	tok := w.accessToken(t)
	code := res.Offer.Grants.PreAuthorized.Code
	offerID := res.OfferURI[bytes.LastIndexByte([]byte(res.OfferURI), '/')+1:]
	rows, err := w.store.DB().QueryContext(context.Background(), `SELECT kind, gkey, doc FROM vci_grants`)
	require.NoError(t, err)
	defer rows.Close()
	n := 0
	for rows.Next() {
		var kind, key string
		var doc []byte
		require.NoError(t, rows.Scan(&kind, &key, &doc))
		for _, secret := range []string{code, offerID, tok} {
			require.NotContains(t, key, secret, kind)
			require.NotContains(t, string(doc), secret, kind)
		}
		n++
	}
	require.NoError(t, rows.Err())
	require.GreaterOrEqual(t, n, 5) // two offers, two codes, a token

	// The offer is still served by reference, with its code.
	ref, err := oid4vci.ParseOffer(res.ByReference)
	require.NoError(t, err)
	offer, err := w.client().Resolve(context.Background(), ref)
	require.NoError(t, err)
	require.Equal(t, res.Offer, *offer)
}

// An offer's authorization_server must be one the issuer's metadata
// lists (§4.1.1): otherwise a crafted offer names the real issuer and
// sends the wallet's token request (the code, the tx_code the person
// types) to another server.
func TestRedeemRefusesForeignAuthorizationServer(t *testing.T) {
	w := newWorld(t)
	hits := 0
	rogue := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		hits++
		rw.Header().Set("Content-Type", "application/json")
		_, _ = rw.Write([]byte(`{"issuer":"http://` + r.Host + `","token_endpoint":"http://` + r.Host + `/token"}`))
	}))
	defer rogue.Close()
	res := w.offer(t, true)
	offer := res.Offer
	g := *offer.Grants.PreAuthorized
	g.AuthorizationServer = rogue.URL
	offer.Grants = &oid4vci.Grants{PreAuthorized: &g}
	_, err := w.client().Redeem(context.Background(), &offer, res.TxCode)
	require.Error(t, err)
	require.Zero(t, hits)
	// The issuer's own authorization server is accepted.
	g.AuthorizationServer = w.svc.AuthorizationServer()
	_, err = w.client().Redeem(context.Background(), &offer, res.TxCode)
	require.NoError(t, err)
}
