package integration

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/internal/portal"
	"github.com/mustard-id/mustard/internal/problem"
	"github.com/mustard-id/mustard/internal/sdjwt"
	"github.com/mustard-id/mustard/issuer"
	wallet "github.com/mustard-id/mustard/persona"
	"github.com/mustard-id/mustard/verifier"
)

// oid4vpTx makes an OpenID4VP transaction at the server's verifier.
func oid4vpTx(t *testing.T, body verifier.OID4VPRequestJSON) *verifier.OID4VPTransactionJSON {
	t.Helper()
	var tx verifier.OID4VPTransactionJSON
	require.NoError(t, client().Post(context.Background(), "/v1/oid4vp/requests", body, &tx))
	return &tx
}

// oid4vpResult reads a transaction's result as the relying party does.
func oid4vpResult(t *testing.T, tx *verifier.OID4VPTransactionJSON, query string) (int, verifier.OID4VPResultJSON) {
	t.Helper()
	resp, err := http.Get(tx.ResultURI + query)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out verifier.OID4VPResultJSON
	b, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(b, &out)
	return resp.StatusCode, out
}

// respond presents cred for a fetched request with the given audience
// and nonce (the request's, unless overridden) and posts it with state to
// uri: the status and problem type.
func respond(t *testing.T, uri string, form url.Values) (int, string, map[string]string) {
	t.Helper()
	resp, err := http.PostForm(uri, form)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusOK {
		var out map[string]string
		require.NoError(t, json.Unmarshal(b, &out))
		return resp.StatusCode, "", out
	}
	require.Equal(t, problem.MediaType, resp.Header.Get("Content-Type"), string(b))
	var pb problem.Body
	require.NoError(t, json.Unmarshal(b, &pb))
	return resp.StatusCode, strings.TrimPrefix(pb.Type, problem.TypePrefix), nil
}

type vpForm struct {
	aud, nonce, state, id string
	disclose              []string
}

func vpTokenForm(t *testing.T, cred string, key jwk.Key, f vpForm) url.Values {
	t.Helper()
	tok, err := sdjwt.Parse(cred)
	require.NoError(t, err)
	vp, err := tok.Present(sdjwt.PresentRequest{Disclose: f.disclose, Audience: f.aud, Nonce: f.nonce}, key)
	require.NoError(t, err)
	form, err := (&verifier.AuthorizationResponse{VPToken: map[string][]string{f.id: {vp}}, State: f.state}).Form()
	require.NoError(t, err)
	return form
}

// OpenID4VP end to end: the relying party asks the verification API for
// a transaction, the wallet resolves the openid4vp:// link (the Request
// Object signed by the server's did:web key, checked against its DID
// document), presents a persona proven with a real Groth16 proof, posts
// the vp_token by direct_post, and the relying party reads the verdict.
// The same response again, at this server or another sharing its store,
// is refused: the nonce is spent.
func TestOID4VPEndToEnd(t *testing.T) {
	ctx := context.Background()
	w, pin, fw := enrolled(t)
	cred, key := personaFor(t, w, pin, fw, "shop.example", []string{"age>=18"})

	tx := oid4vpTx(t, verifier.OID4VPRequestJSON{Scope: "shop.example", MinGrade: "substantial", RequiredClaims: []string{"age_over_18"}, Predicates: []string{"age>=18"}, ClientName: "Shop"})
	did, err := issuer.DIDWeb(env.base)
	require.NoError(t, err)
	require.Equal(t, verifier.PrefixDID+did, tx.ClientID)
	require.True(t, strings.HasPrefix(tx.AuthorizationRequest, "openid4vp://?"), tx.AuthorizationRequest)

	// The Request Object, as served: typ oauth-authz-req+jwt, kid a DID URL.
	resp, err := http.Get(tx.RequestURI)
	require.NoError(t, err)
	obj, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, verifier.RequestObjectMediaType, resp.Header.Get("Content-Type"))
	var claims map[string]any
	require.NoError(t, json.Unmarshal(jwsPayload(t, string(obj)), &claims))
	for _, k := range []string{"client_id", "response_type", "response_mode", "response_uri", "nonce", "state", "dcql_query", "client_metadata", "mustard", "aud", "exp", "iat"} {
		require.Contains(t, claims, k)
	}
	require.Equal(t, "direct_post", claims["response_mode"])

	req, err := wallet.FetchRequest(ctx, http.DefaultClient, tx.AuthorizationRequest)
	require.NoError(t, err)
	require.NotNil(t, req.OID4VP)
	require.Equal(t, tx.ClientID, req.Audience, "KB-JWT aud is the full client_id (OID4VP 1.0 §B.3.6)")
	require.Equal(t, "shop.example", req.Scope)
	require.Equal(t, []string{"age_over_18"}, req.RequiredClaims)
	require.Equal(t, []string{"age>=18"}, req.Predicates)
	require.Equal(t, "Shop", req.ClientName)

	code, res := oid4vpResult(t, tx, "")
	require.Equal(t, http.StatusAccepted, code)
	require.Equal(t, "pending", res.Status)

	// The same response, kept for a replay.
	replay := vpTokenForm(t, cred, key, vpForm{aud: tx.ClientID, nonce: tx.Nonce, state: tx.State, id: "persona", disclose: []string{"age_over_18"}})

	require.NoError(t, wallet.AnswerRequest(ctx, http.DefaultClient, req, cred, key))
	code, res = oid4vpResult(t, tx, "")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "accepted", res.Status)
	require.Len(t, res.Verdicts["persona"], 1)
	v := res.Verdicts["persona"][0]
	require.Equal(t, "shop.example", v.Scope)
	require.NotEmpty(t, v.Pseudonym)
	require.Equal(t, true, v.Claims["age_over_18"])

	st, typ, _ := respond(t, req.OID4VP.ResponseURI, replay)
	require.Equal(t, http.StatusUnauthorized, st)
	require.Equal(t, "invalid-nonce", typ)

	// A second verifier on the same store (another server behind the load
	// balancer): the replay is refused there too.
	other := &verifier.API{V: env.srv.Verifier, Store: env.srv.Store, BaseURL: env.base,
		OID4VP: &verifier.OID4VPClient{ClientID: tx.ClientID, Key: env.srv.Issuer.SigningKey}}
	hs := httptest.NewServer(other.Handler())
	defer hs.Close()
	st, typ, _ = respond(t, hs.URL+strings.TrimPrefix(req.OID4VP.ResponseURI, env.base), replay)
	require.Equal(t, http.StatusUnauthorized, st)
	require.Equal(t, "invalid-nonce", typ)

	// A replay to a fresh transaction: its nonce and state are not the
	// replayed presentation's.
	tx2 := oid4vpTx(t, verifier.OID4VPRequestJSON{Scope: "shop.example", RequiredClaims: []string{"age_over_18"}})
	replay.Set("state", tx2.State)
	st, typ, _ = respond(t, responseURI(t, tx2), replay)
	require.Equal(t, http.StatusUnauthorized, st)
	require.Equal(t, "invalid-nonce", typ)
}

// jwsPayload decodes a compact JWS's payload (unverified).
func jwsPayload(t *testing.T, s string) []byte {
	t.Helper()
	parts := strings.Split(s, ".")
	require.Len(t, parts, 3)
	b, err := decodeSegment(parts[1])
	require.NoError(t, err)
	return b
}

// responseURI is a transaction's response_uri, from its signed request.
func responseURI(t *testing.T, tx *verifier.OID4VPTransactionJSON) string {
	t.Helper()
	req, err := wallet.FetchRequest(context.Background(), http.DefaultClient, tx.AuthorizationRequest)
	require.NoError(t, err)
	return req.OID4VP.ResponseURI
}

// Each bad response is refused with its own problem type, and leaves the
// transaction open: the genuine answer still succeeds afterwards.
func TestOID4VPRefusals(t *testing.T) {
	w, pin, fw := enrolled(t)
	cred, key := personaFor(t, w, pin, fw, "forum.example", []string{"age>=18"})
	tx := oid4vpTx(t, verifier.OID4VPRequestJSON{Scope: "forum.example", RequiredClaims: []string{"age_over_18"}})
	uri := responseURI(t, tx)
	good := vpForm{aud: tx.ClientID, nonce: tx.Nonce, state: tx.State, id: "persona", disclose: []string{"age_over_18"}}

	cases := []struct {
		name   string
		form   func() url.Values
		status int
		typ    string
	}{
		{"wrong nonce", func() url.Values { f := good; f.nonce = "not-the-nonce"; return vpTokenForm(t, cred, key, f) }, 401, "invalid-nonce"},
		{"another client_id", func() url.Values {
			f := good
			f.aud = verifier.PrefixDID + "did:web:evil.example"
			return vpTokenForm(t, cred, key, f)
		}, 401, "wrong-audience"},
		{"bare DID as audience", func() url.Values {
			f := good
			f.aud = strings.TrimPrefix(tx.ClientID, verifier.PrefixDID)
			return vpTokenForm(t, cred, key, f)
		}, 401, "wrong-audience"},
		{"state mismatch", func() url.Values { f := good; f.state = "other-state"; return vpTokenForm(t, cred, key, f) }, 400, "invalid-state"},
		{"no state", func() url.Values { f := good; f.state = ""; return vpTokenForm(t, cred, key, f) }, 400, "invalid-state"},
		{"unknown credential query id", func() url.Values { f := good; f.id = "passport"; return vpTokenForm(t, cred, key, f) }, 403, "dcql-unsatisfied"},
		{"claim withheld", func() url.Values { f := good; f.disclose = nil; return vpTokenForm(t, cred, key, f) }, 403, "missing-claim"},
		{"vp_token not an object", func() url.Values { return url.Values{"vp_token": {`["x"]`}, "state": {tx.State}} }, 400, "invalid-verification-request"},
		{"forged presentation", func() url.Values {
			return url.Values{"vp_token": {`{"persona":["eyJhbGciOiJFUzI1NiJ9.e30.AAAA~"]}`}, "state": {tx.State}}
		}, 0, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, typ, _ := respond(t, uri, tc.form())
			if tc.status == 0 {
				require.GreaterOrEqual(t, st, 400, typ)
				return
			}
			require.Equal(t, tc.status, st, typ)
			if tc.typ != "" {
				require.Equal(t, tc.typ, typ)
			}
		})
	}
	// JSON instead of a form.
	resp, err := http.Post(uri, "application/json", strings.NewReader(`{"vp_token":{}}`))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnsupportedMediaType, resp.StatusCode)
	// Oversized body.
	resp, err = http.Post(uri, "application/x-www-form-urlencoded", strings.NewReader("vp_token="+strings.Repeat("a", verifier.MaxAuthorizationResponse)))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)

	code, res := oid4vpResult(t, tx, "")
	require.Equal(t, http.StatusAccepted, code, "no refusal ended the transaction")
	require.Equal(t, "pending", res.Status)
	st, _, _ := respond(t, uri, vpTokenForm(t, cred, key, good))
	require.Equal(t, http.StatusOK, st)

	// A DCQL query asking for a claim the persona does not carry.
	q := verifier.DefaultDCQL([]string{"nationality"})
	qb, _ := json.Marshal(q)
	tx = oid4vpTx(t, verifier.OID4VPRequestJSON{Scope: "forum.example", DCQLQuery: qb})
	f := vpForm{aud: tx.ClientID, nonce: tx.Nonce, state: tx.State, id: "persona", disclose: []string{"age_over_18"}}
	st, typ, _ := respond(t, responseURI(t, tx), vpTokenForm(t, cred, key, f))
	require.Equal(t, http.StatusForbidden, st)
	require.Equal(t, "dcql-unsatisfied", typ)

	// A persona of another scope.
	tx = oid4vpTx(t, verifier.OID4VPRequestJSON{Scope: "shop.example"})
	f = vpForm{aud: tx.ClientID, nonce: tx.Nonce, state: tx.State, id: "persona"}
	st, typ, _ = respond(t, responseURI(t, tx), vpTokenForm(t, cred, key, f))
	require.Equal(t, http.StatusForbidden, st)
	require.Equal(t, "wrong-scope", typ)

	// Unknown transaction, unknown result.
	st, typ, _ = respond(t, env.base+"/v1/oid4vp/responses/nope", vpTokenForm(t, cred, key, f))
	require.Equal(t, http.StatusNotFound, st)
	require.Equal(t, "unknown-presentation-request", typ)
	resp, err = http.Get(env.base + "/v1/oid4vp/transactions/nope")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	// The Mustard request route never serves an OpenID4VP entry.
	resp, err = http.Get(env.base + "/v1/presentation-requests/oid4vp:" + strings.TrimPrefix(uri, env.base+"/v1/oid4vp/responses/"))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
}

// Bad requests from a relying party, and bad requests a wallet is given.
func TestOID4VPBadRequests(t *testing.T) {
	ctx := context.Background()
	huge := verifier.DefaultDCQL(nil)
	for i := range 40 {
		huge.Credentials[0].Claims = append(huge.Credentials[0].Claims, verifier.ClaimsQuery{Path: []any{"c" + string(rune('a'+i%26)) + strings.Repeat("x", i)}})
	}
	hb, _ := json.Marshal(huge)
	other := verifier.DefaultDCQL(nil)
	other.Credentials[0].Meta.VCTValues = []string{"urn:eudi:pid:1"}
	ob, _ := json.Marshal(other)
	for name, body := range map[string]verifier.OID4VPRequestJSON{
		"no scope":           {},
		"oversized DCQL":     {Scope: "s", DCQLQuery: hb},
		"not a persona":      {Scope: "s", DCQLQuery: ob},
		"bad grade":          {Scope: "s", MinGrade: "max"},
		"script redirect":    {Scope: "s", RedirectURI: "javascript:alert(1)"},
		"malformed DCQL":     {Scope: "s", DCQLQuery: json.RawMessage(`{"credentials":[{"id":"a b","format":"dc+sd-jwt"}]}`)},
		"DCQL without creds": {Scope: "s", DCQLQuery: json.RawMessage(`{"credentials":[]}`)},
	} {
		before := counts(t)
		st, hdr, b := post(t, "/v1/oid4vp/requests", "application/json", mustJSON(body))
		require.Equal(t, http.StatusBadRequest, st, name)
		require.Equal(t, problem.MediaType, hdr.Get("Content-Type"), name)
		require.Contains(t, string(b), "invalid-verification-request", name)
		require.Equal(t, before, counts(t), name)
	}

	tx := oid4vpTx(t, verifier.OID4VPRequestJSON{Scope: "shop.example"})
	resp, err := http.Get(tx.RequestURI)
	require.NoError(t, err)
	obj, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	byValue := func(clientID, o string) string {
		return verifier.OID4VPScheme + "://?" + url.Values{"client_id": {clientID}, "request": {o}}.Encode()
	}
	// The genuine object by value is accepted.
	_, err = wallet.FetchRequest(ctx, http.DefaultClient, byValue(tx.ClientID, string(obj)))
	require.NoError(t, err)
	// Tampered signature.
	parts := strings.Split(string(obj), ".")
	sig := []byte(parts[2])
	sig[5] ^= 1
	if sig[5] == '-' || sig[5] == '_' || sig[5] == '.' {
		sig[5] = 'A'
	}
	_, err = wallet.FetchRequest(ctx, http.DefaultClient, byValue(tx.ClientID, parts[0]+"."+parts[1]+"."+string(sig)))
	require.ErrorContains(t, err, "signature")
	// Tampered payload under the genuine signature.
	var claims map[string]any
	require.NoError(t, json.Unmarshal(jwsPayload(t, string(obj)), &claims))
	claims["response_uri"] = "https://evil.example/collect"
	_, err = wallet.FetchRequest(ctx, http.DefaultClient, byValue(tx.ClientID, parts[0]+"."+encodeSegment(mustJSON(claims))+"."+parts[2]))
	require.ErrorContains(t, err, "signature")
	// The link names another client than the object.
	_, err = wallet.FetchRequest(ctx, http.DefaultClient, byValue(verifier.PrefixDID+"did:web:evil.example", string(obj)))
	require.Error(t, err)
	// Client ID prefixes Mustard cannot authenticate.
	for _, id := range []string{"x509_san_dns:shop.example", "x509_hash:abc", "verifier_attestation:shop", "shop-client", "openid_federation:https://shop.example"} {
		_, err = wallet.FetchRequest(ctx, http.DefaultClient, verifier.AuthorizationLink(id, tx.RequestURI, ""))
		require.ErrorIs(t, err, verifier.ErrClientIDPrefix, id)
	}
	// An unsigned object for a DID client.
	unsigned, err := verifier.SignRequestObject(&verifier.AuthorizationRequest{ClientID: tx.ClientID}, nil, "")
	require.NoError(t, err)
	_, err = wallet.FetchRequest(ctx, http.DefaultClient, byValue(tx.ClientID, unsigned))
	require.Error(t, err)
	// request_uri_method=post: the object carries the wallet's nonce.
	req, err := wallet.FetchRequest(ctx, http.DefaultClient, verifier.AuthorizationLink(tx.ClientID, tx.RequestURI, "post"))
	require.NoError(t, err)
	require.NotEmpty(t, req.OID4VP.WalletNonce)
}

// Same-device flow: the verifier answers the wallet with the relying
// party's redirect_uri and a response_code, without which the result is
// not released (OID4VP §13.3). A declined request ends the transaction.
func TestOID4VPRedirectAndDecline(t *testing.T) {
	ctx := context.Background()
	w, pin, fw := enrolled(t)
	cred, key := personaFor(t, w, pin, fw, "news.example", nil)
	tx := oid4vpTx(t, verifier.OID4VPRequestJSON{Scope: "news.example", RedirectURI: "https://news.example/back"})
	f := vpForm{aud: tx.ClientID, nonce: tx.Nonce, state: tx.State, id: "persona"}
	st, _, out := respond(t, responseURI(t, tx), vpTokenForm(t, cred, key, f))
	require.Equal(t, http.StatusOK, st)
	code, ok := strings.CutPrefix(out["redirect_uri"], "https://news.example/back#response_code=")
	require.True(t, ok, out["redirect_uri"])
	st, _ = oid4vpResult(t, tx, "")
	require.Equal(t, http.StatusForbidden, st)
	st, _ = oid4vpResult(t, tx, "?response_code=wrong")
	require.Equal(t, http.StatusForbidden, st)
	st, res := oid4vpResult(t, tx, "?response_code="+url.QueryEscape(code))
	require.Equal(t, http.StatusOK, st)
	require.Equal(t, "accepted", res.Status)

	tx = oid4vpTx(t, verifier.OID4VPRequestJSON{Scope: "news.example"})
	req, err := wallet.FetchRequest(ctx, http.DefaultClient, tx.AuthorizationRequest)
	require.NoError(t, err)
	require.NoError(t, wallet.DeclineOID4VP(ctx, http.DefaultClient, req))
	st, res = oid4vpResult(t, tx, "")
	require.Equal(t, http.StatusOK, st)
	require.Equal(t, "error", res.Status)
	require.Equal(t, "access_denied", res.Error)
	// Declined is final: the presentation is refused now.
	require.Error(t, wallet.AnswerRequest(ctx, http.DefaultClient, req, cred, key))
}

func decodeSegment(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }

func encodeSegment(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// direct_post.jwt: the wallet encrypts its response to the transaction's
// key (client_metadata.jwks); the verifier refuses a response in the
// clear, and one encrypted to another transaction.
func TestOID4VPEncryptedResponse(t *testing.T) {
	ctx := context.Background()
	w, pin, fw := enrolled(t)
	cred, key := personaFor(t, w, pin, fw, "mail.example", []string{"age>=18"})
	body := verifier.OID4VPRequestJSON{Scope: "mail.example", RequiredClaims: []string{"age_over_18"}, ResponseMode: verifier.ResponseModeDirectPostJWT}
	tx := oid4vpTx(t, body)
	req, err := wallet.FetchRequest(ctx, http.DefaultClient, tx.AuthorizationRequest)
	require.NoError(t, err)
	require.Equal(t, verifier.ResponseModeDirectPostJWT, req.OID4VP.ResponseMode)
	require.NotEmpty(t, req.OID4VP.ClientMetadata.JWKS)

	// In the clear: refused.
	plain := vpTokenForm(t, cred, key, vpForm{aud: tx.ClientID, nonce: tx.Nonce, state: tx.State, id: "persona", disclose: []string{"age_over_18"}})
	st, typ, _ := respond(t, req.OID4VP.ResponseURI, plain)
	require.Equal(t, http.StatusBadRequest, st)
	require.Equal(t, "invalid-verification-request", typ)
	// Encrypted to another transaction's key: refused.
	tx2 := oid4vpTx(t, body)
	req2, err := wallet.FetchRequest(ctx, http.DefaultClient, tx2.AuthorizationRequest)
	require.NoError(t, err)
	vp, err := verifier.ParseAuthorizationResponse(plain)
	require.NoError(t, err)
	enc, err := verifier.EncryptResponse(req2.OID4VP, vp)
	require.NoError(t, err)
	st, typ, _ = respond(t, req.OID4VP.ResponseURI, url.Values{"response": {enc}})
	require.Equal(t, http.StatusBadRequest, st)
	require.Equal(t, "invalid-verification-request", typ)

	require.NoError(t, wallet.AnswerRequest(ctx, http.DefaultClient, req, cred, key))
	code, res := oid4vpResult(t, tx, "")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "accepted", res.Status)
	require.Equal(t, true, res.Verdicts["persona"][0].Claims["age_over_18"])
}

var oid4vpLinkRE = regexp.MustCompile(`id="oid4vp-link" href="([^"]+)"`)

// The OpenID Provider's sign-in page offers the same login as an
// OpenID4VP request: a wallet answering it by direct_post signs the person
// in with the same pairwise sub as the Mustard request does; a wrong state
// is refused, and a replay finds the login answered.
func TestOIDCLoginOverOID4VP(t *testing.T) {
	ctx := context.Background()
	w, pin, fw := enrolled(t)
	shop := startPortal(t, "wine.example", []string{"age_over_18"})
	cred, key := personaFor(t, w, pin, fw, "wine.example", []string{"age>=18"})
	viaMustard := signIn(t, shop, cred, key)

	b := portal.NewBrowser()
	_, err := b.SignIn(ctx, shop)
	require.NoError(t, err)
	m := oid4vpLinkRE.FindStringSubmatch(b.Page())
	require.NotNil(t, m, b.Page())
	link := html.UnescapeString(m[1])
	require.Contains(t, b.Page(), "mustard wallet present 'openid4vp://")
	req, err := wallet.FetchRequest(ctx, http.DefaultClient, link)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(req.Audience, verifier.PrefixDID+"did:web:"), req.Audience)
	require.Equal(t, "wine.example", req.Scope)
	require.Equal(t, []string{"age_over_18"}, req.RequiredClaims)

	bad := vpTokenForm(t, cred, key, vpForm{aud: req.Audience, nonce: req.Nonce, state: "another-login", id: "persona", disclose: []string{"age_over_18"}})
	st, typ, _ := respond(t, req.OID4VP.ResponseURI, bad)
	require.Equal(t, http.StatusBadRequest, st)
	require.Equal(t, "invalid-state", typ)
	// Bound to the OP's issuer URL (the Mustard request's audience), not
	// the client_id: refused.
	bad = vpTokenForm(t, cred, key, vpForm{aud: env.base, nonce: req.Nonce, state: req.OID4VP.State, id: "persona", disclose: []string{"age_over_18"}})
	st, typ, _ = respond(t, req.OID4VP.ResponseURI, bad)
	require.Equal(t, http.StatusUnauthorized, st)
	require.Equal(t, "wrong-audience", typ)

	// The query asks for a dc+sd-jwt presentation: a JSON-LD one (which
	// the verifier also takes) is not an answer, and leaves the login open.
	ldp, err := (&verifier.AuthorizationResponse{VPToken: map[string][]string{"persona": {`{"@context":["https://www.w3.org/ns/credentials/v2"],"type":["VerifiablePresentation"]}`}}, State: req.OID4VP.State}).Form()
	require.NoError(t, err)
	st, typ, _ = respond(t, req.OID4VP.ResponseURI, ldp)
	require.Equal(t, http.StatusForbidden, st)
	require.Equal(t, "dcql-unsatisfied", typ)

	good := vpTokenForm(t, cred, key, vpForm{aud: req.Audience, nonce: req.Nonce, state: req.OID4VP.State, id: "persona", disclose: []string{"age_over_18"}})
	st, _, _ = respond(t, req.OID4VP.ResponseURI, good)
	require.Equal(t, http.StatusOK, st)
	st, typ, _ = respond(t, req.OID4VP.ResponseURI, good)
	require.Equal(t, http.StatusNotFound, st)
	require.Equal(t, "login-unknown", typ)

	res, err := b.Consent(ctx, true)
	require.NoError(t, err)
	require.Empty(t, res.Error)
	require.Equal(t, viaMustard.Subject, res.Subject, "same persona, same sector: same sub")
	require.Equal(t, true, res.Claims["age_over_18"])
}
