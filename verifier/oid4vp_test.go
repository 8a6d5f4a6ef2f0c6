package verifier

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/stretchr/testify/require"
)

// OpenID4VP 1.0 §D (DCQL examples): a PID with claim sets, and credential
// sets with an optional one.
const specDCQL = `{
  "credentials": [
    {"id": "pid", "format": "dc+sd-jwt", "meta": {"vct_values": ["https://credentials.example.com/identity_credential"]},
     "claims": [
       {"id": "a", "path": ["last_name"]},
       {"id": "b", "path": ["postal_code"]},
       {"id": "c", "path": ["locality"]},
       {"id": "d", "path": ["region"]},
       {"id": "e", "path": ["date_of_birth"]}
     ],
     "claim_sets": [["a", "c", "d", "e"], ["a", "b", "e"]]},
    {"id": "other_pid", "format": "dc+sd-jwt", "meta": {"vct_values": ["https://othercredentials.example/pid"]},
     "claims": [{"path": ["nationalities", null]}, {"path": ["address", "street_address"], "values": ["Main St 1"]}]},
    {"id": "loyalty", "format": "dc+sd-jwt", "meta": {"vct_values": ["https://loyalty.example/card"]}, "claims": [{"path": ["points", 0]}]}
  ],
  "credential_sets": [
    {"options": [["pid"], ["other_pid"]]},
    {"required": false, "options": [["loyalty"]]}
  ]
}`

func TestDCQL(t *testing.T) {
	q, err := ParseDCQL([]byte(specDCQL))
	require.NoError(t, err)
	pid, _ := q.Credential("pid")
	require.True(t, pid.Satisfied(map[string]any{"last_name": "M", "postal_code": "1", "date_of_birth": "x"}), "second claim set")
	require.False(t, pid.Satisfied(map[string]any{"last_name": "M", "postal_code": "1"}), "no set complete")
	other, _ := q.Credential("other_pid")
	require.True(t, other.Satisfied(map[string]any{"nationalities": []any{"DE"}, "address": map[string]any{"street_address": "Main St 1"}}))
	require.False(t, other.Satisfied(map[string]any{"nationalities": []any{}, "address": map[string]any{"street_address": "Main St 1"}}), "null selects nothing in an empty array")
	require.False(t, other.Satisfied(map[string]any{"nationalities": []any{"DE"}, "address": map[string]any{"street_address": "Elm St 2"}}), "value not among values")
	loyalty, _ := q.Credential("loyalty")
	require.True(t, loyalty.Satisfied(map[string]any{"points": []any{float64(3)}}))
	require.False(t, loyalty.Satisfied(map[string]any{"points": map[string]any{"0": 3}}), "an index selects array elements only")

	require.True(t, q.Answered(map[string]bool{"other_pid": true}), "the loyalty set is optional")
	require.False(t, q.Answered(map[string]bool{"loyalty": true}))
	require.False(t, DefaultDCQL([]string{"x"}).Answered(map[string]bool{}))
	require.Equal(t, []string{"pseudonym", "age_over_18"}, DefaultDCQL([]string{"age_over_18"}).Credentials[0].TopLevelClaims())

	for name, bad := range map[string]string{
		"no credentials":      `{"credentials":[]}`,
		"repeated id":         `{"credentials":[{"id":"a","format":"f"},{"id":"a","format":"f"}]}`,
		"bad id":              `{"credentials":[{"id":"a b","format":"f"}]}`,
		"no format":           `{"credentials":[{"id":"a"}]}`,
		"empty path":          `{"credentials":[{"id":"a","format":"f","claims":[{"path":[]}]}]}`,
		"negative index":      `{"credentials":[{"id":"a","format":"f","claims":[{"path":["x",-1]}]}]}`,
		"fractional index":    `{"credentials":[{"id":"a","format":"f","claims":[{"path":["x",1.5]}]}]}`,
		"object in path":      `{"credentials":[{"id":"a","format":"f","claims":[{"path":[{}]}]}]}`,
		"object value":        `{"credentials":[{"id":"a","format":"f","claims":[{"path":["x"],"values":[{}]}]}]}`,
		"claim set no ids":    `{"credentials":[{"id":"a","format":"f","claims":[{"path":["x"]}],"claim_sets":[["x"]]}]}`,
		"unknown claim id":    `{"credentials":[{"id":"a","format":"f","claims":[{"id":"x","path":["x"]}],"claim_sets":[["y"]]}]}`,
		"unknown cred in set": `{"credentials":[{"id":"a","format":"f"}],"credential_sets":[{"options":[["b"]]}]}`,
		"empty sets":          `{"credentials":[{"id":"a","format":"f"}],"credential_sets":[]}`,
		"empty option":        `{"credentials":[{"id":"a","format":"f"}],"credential_sets":[{"options":[[]]}]}`,
		"not JSON":            `{"credentials":`,
		"too large":           `{"credentials":[{"id":"a","format":"` + strings.Repeat("f", MaxDCQL) + `"}]}`,
	} {
		_, err := ParseDCQL([]byte(bad))
		require.ErrorIs(t, err, ErrDCQL, name)
	}
}

// testDIDKey is a P-256 key of did:web:rp.example, kid "k1".
func testDIDKey(t testing.TB) (jwk.Key, RequestObjectKeys) {
	raw, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	k, err := jwk.FromRaw(raw)
	require.NoError(t, err)
	require.NoError(t, k.Set(jwk.KeyIDKey, "k1"))
	pub, err := k.PublicKey()
	require.NoError(t, err)
	return k, func(_ context.Context, did, kid string) (jwk.Key, error) {
		if did != "did:web:rp.example" || kid != "k1" {
			return nil, errors.New("no such key")
		}
		return pub, nil
	}
}

func sampleAuthorizationRequest(clientID string) *AuthorizationRequest {
	return &AuthorizationRequest{
		Audience: SelfIssuedAudience, ClientID: clientID, ResponseType: "vp_token", ResponseMode: ResponseModeDirectPost,
		ResponseURI: "https://rp.example/response/1", Nonce: "n-0S6_WzA2Mj", State: "s1", DCQLQuery: DefaultDCQL([]string{"age_over_18"}),
		Mustard: &MustardRequest{Scope: "rp.example", Predicates: []string{"age>=18"}},
	}
}

func TestRequestObject(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	key, keys := testDIDKey(t)
	const did = "did:web:rp.example"
	a := sampleAuthorizationRequest(PrefixDID + did)
	obj, err := SignRequestObject(a, key, did+"#k1")
	require.NoError(t, err)
	got, err := ParseRequestObject(ctx, obj, PrefixDID+did, keys, now)
	require.NoError(t, err)
	pr := got.PresentationRequest()
	require.Equal(t, PrefixDID+did, pr.Audience)
	require.Equal(t, []string{"age_over_18"}, pr.RequiredClaims, "pseudonym is always visible, never asked")
	require.Equal(t, "rp.example", pr.Scope)

	// A key of the DID, but named by another DID's kid.
	other, err := SignRequestObject(a, key, "did:web:evil.example#k1")
	require.NoError(t, err)
	_, err = ParseRequestObject(ctx, other, PrefixDID+did, keys, now)
	require.Error(t, err)
	// Another key under the DID's kid.
	k2, _ := testDIDKey(t)
	forged, err := SignRequestObject(a, k2, did+"#k1")
	require.NoError(t, err)
	_, err = ParseRequestObject(ctx, forged, PrefixDID+did, keys, now)
	require.ErrorContains(t, err, "signature")
	// Expired.
	old := *a
	old.Expiry = now.Add(-time.Minute).Unix()
	exp, _ := SignRequestObject(&old, key, did+"#k1")
	_, err = ParseRequestObject(ctx, exp, PrefixDID+did, keys, now)
	require.ErrorContains(t, err, "expired")
	// Asking for a non-persona credential.
	pid := *a
	pid.DCQLQuery = &DCQLQuery{Credentials: []CredentialQuery{{ID: "pid", Format: FormatSDJWT, Meta: &DCQLMeta{VCTValues: []string{"urn:eudi:pid:1"}}}}}
	po, _ := SignRequestObject(&pid, key, did+"#k1")
	_, err = ParseRequestObject(ctx, po, PrefixDID+did, keys, now)
	require.ErrorContains(t, err, "Mustard persona")

	// redirect_uri: unsigned, answered at its own URI only.
	ru := sampleAuthorizationRequest(PrefixRedirectURI + "https://rp.example/response/1")
	uo, err := SignRequestObject(ru, nil, "")
	require.NoError(t, err)
	_, err = ParseRequestObject(ctx, uo, ru.ClientID, nil, now)
	require.NoError(t, err)
	ru.ResponseURI = "https://evil.example/collect"
	uo, _ = SignRequestObject(ru, nil, "")
	_, err = ParseRequestObject(ctx, uo, ru.ClientID, nil, now)
	require.Error(t, err)
	// A signed object for a redirect_uri: client, unsigned for a DID one.
	ru.ResponseURI = "https://rp.example/response/1"
	so, _ := SignRequestObject(ru, key, "k1")
	_, err = ParseRequestObject(ctx, so, ru.ClientID, nil, now)
	require.Error(t, err)
	uo, _ = SignRequestObject(a, nil, "")
	_, err = ParseRequestObject(ctx, uo, a.ClientID, keys, now)
	require.Error(t, err)
	// Unknown prefix.
	_, err = ParseRequestObject(ctx, obj, "x509_san_dns:rp.example", keys, now)
	require.ErrorIs(t, err, ErrClientIDPrefix)
}

func TestAuthorizationLink(t *testing.T) {
	link := AuthorizationLink("decentralized_identifier:did:web:rp.example", "https://rp.example/r/1", "post")
	p, err := ParseAuthorizationLink(link)
	require.NoError(t, err)
	require.Equal(t, "decentralized_identifier:did:web:rp.example", p.ClientID)
	require.Equal(t, "https://rp.example/r/1", p.RequestURI)
	require.Equal(t, "post", p.RequestURIMethod)
	for _, bad := range []string{
		"mustard://present?request_uri=https://rp.example/r",
		"openid4vp://?request_uri=https://rp.example/r",
		"openid4vp://?client_id=x",
		"openid4vp://?client_id=x&request_uri=javascript:alert(1)",
		"openid4vp://?client_id=x&request_uri=https://rp.example/r&request=e30",
		"openid4vp://?client_id=x&request_uri=https://rp.example/r&request_uri_method=put",
	} {
		_, err := ParseAuthorizationLink(bad)
		require.Error(t, err, bad)
	}
}

func TestAuthorizationResponse(t *testing.T) {
	r := &AuthorizationResponse{VPToken: map[string][]string{"persona": {"a~b~c"}}, State: "s"}
	f, err := r.Form()
	require.NoError(t, err)
	got, err := ParseAuthorizationResponse(f)
	require.NoError(t, err)
	require.Equal(t, r.VPToken, got.VPToken)
	require.Equal(t, "s", got.State)
	e, err := ParseAuthorizationResponse(url.Values{"error": {"access_denied"}, "state": {"s"}})
	require.NoError(t, err)
	require.Equal(t, "access_denied", e.Error)
	for name, bad := range map[string]url.Values{
		"none":             {"state": {"s"}},
		"array":            {"vp_token": {`["x"]`}},
		"empty object":     {"vp_token": {`{}`}},
		"not strings":      {"vp_token": {`{"a":[1]}`}},
		"empty list":       {"vp_token": {`{"a":[]}`}},
		"too many":         {"vp_token": {`{"a":["1","2","3","4","5"]}`}},
		"both":             {"vp_token": {`{"a":["x"]}`}, "error": {"access_denied"}},
		"long state":       {"vp_token": {`{"a":["x"]}`}, "state": {strings.Repeat("s", 300)}},
		"single string":    {"vp_token": {`{"a":"x"}`}},
		"bad presentation": {"vp_token": {`{"a":[""]}`}},
	} {
		_, err := ParseAuthorizationResponse(bad)
		require.Error(t, err, name)
	}
}

func FuzzParseDCQL(f *testing.F) {
	f.Add([]byte(specDCQL))
	b, _ := json.Marshal(DefaultDCQL([]string{"age_over_18", "nationality"}))
	f.Add(b)
	f.Add([]byte(`{"credentials":[{"id":"a","format":"f","claims":[{"path":["x",null,0]}]}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		q, err := ParseDCQL(b)
		if err != nil {
			return
		}
		// A valid query evaluates without panicking on any claims.
		for i := range q.Credentials {
			q.Credentials[i].Satisfied(map[string]any{"x": []any{map[string]any{"y": 1.0}}, "pseudonym": "p"})
			_ = q.Credentials[i].TopLevelClaims()
		}
		q.Answered(map[string]bool{q.Credentials[0].ID: true})
	})
}

func FuzzParseRequestObject(f *testing.F) {
	key, keys := testDIDKey(f)
	a := sampleAuthorizationRequest(PrefixDID + "did:web:rp.example")
	obj, _ := SignRequestObject(a, key, "did:web:rp.example#k1")
	f.Add(obj, a.ClientID)
	ru := sampleAuthorizationRequest(PrefixRedirectURI + "https://rp.example/response/1")
	uo, _ := SignRequestObject(ru, nil, "")
	f.Add(uo, ru.ClientID)
	f.Add("a.b.c", "x509_san_dns:rp.example")
	db := sampleAuthorizationRequest(PrefixRedirectURI + "https://rp.example/response/1")
	db.Mustard.DeviceBound = true
	dbo, _ := SignRequestObject(db, nil, "")
	f.Add(dbo, db.ClientID)
	now := time.Now()
	f.Fuzz(func(t *testing.T, obj, clientID string) {
		got, err := ParseRequestObject(context.Background(), obj, clientID, keys, now)
		if err != nil {
			return
		}
		if got.ClientID != clientID {
			t.Fatalf("accepted for client %q a request of %q", clientID, got.ClientID)
		}
		_ = got.PresentationRequest()
	})
}

func FuzzParseAuthorizationLink(f *testing.F) {
	f.Add(AuthorizationLink("decentralized_identifier:did:web:rp.example", "https://rp.example/r/1", ""))
	f.Add("openid4vp://?client_id=redirect_uri%3Ahttps%3A%2F%2Frp.example%2Fcb&request=eyJ9.e30.")
	f.Add("openid4vp://authorize?client_id=x&request_uri=http://127.0.0.1:1/r&request_uri_method=post")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseAuthorizationLink(s)
		if err != nil {
			return
		}
		if p.ClientID == "" || (p.RequestURI == "") == (p.Request == "") {
			t.Fatalf("accepted an incomplete link: %+v", p)
		}
	})
}

func FuzzParseAuthorizationResponse(f *testing.F) {
	f.Add("vp_token=%7B%22persona%22%3A%5B%22a~b~%22%5D%7D&state=s")
	f.Add("error=access_denied&state=s")
	f.Add("vp_token=%7B%7D")
	f.Fuzz(func(t *testing.T, body string) {
		form, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		r, err := ParseAuthorizationResponse(form)
		if err != nil {
			return
		}
		if r.Error == "" && len(r.VPToken) == 0 {
			t.Fatal("accepted a response with neither vp_token nor error")
		}
	})
}

func jwtModeRequest(t testing.TB) (*AuthorizationRequest, jwk.Key) {
	k, err := NewResponseKey()
	require.NoError(t, err)
	pub, err := k.PublicKey()
	require.NoError(t, err)
	set := jwk.NewSet()
	require.NoError(t, set.AddKey(pub))
	b, err := json.Marshal(set)
	require.NoError(t, err)
	a := sampleAuthorizationRequest(PrefixDID + "did:web:rp.example")
	a.ResponseMode = ResponseModeDirectPostJWT
	a.ClientMetadata = &ClientMetadata{JWKS: b, EncryptedResponseEncValuesSupported: []string{"A256GCM"}}
	return a, k
}

// direct_post.jwt (OID4VP §8.3): the response is a JWE only the
// transaction's key opens.
func TestEncryptedResponse(t *testing.T) {
	a, k := jwtModeRequest(t)
	require.NoError(t, a.Check(time.Now()))
	r := &AuthorizationResponse{VPToken: map[string][]string{"persona": {"a~b~c"}}, State: "s1"}
	enc, err := EncryptResponse(a, r)
	require.NoError(t, err)
	require.NotContains(t, enc, "a~b~c")
	got, err := DecryptResponse(enc, k)
	require.NoError(t, err)
	require.Equal(t, r.VPToken, got.VPToken)
	require.Equal(t, "s1", got.State)

	_, other := jwtModeRequest(t)
	_, err = DecryptResponse(enc, other)
	require.Error(t, err, "another transaction's key")
	parts := strings.Split(enc, ".")
	require.Len(t, parts, 5)
	parts[3] = strings.Repeat("A", len(parts[3]))
	_, err = DecryptResponse(strings.Join(parts, "."), k)
	require.Error(t, err, "tampered ciphertext")

	e, err := EncryptResponse(a, &AuthorizationResponse{Error: "access_denied", State: "s1"})
	require.NoError(t, err)
	got, err = DecryptResponse(e, k)
	require.NoError(t, err)
	require.Equal(t, "access_denied", got.Error)

	// A direct_post.jwt request without a usable key or enc is refused.
	bad := *a
	bad.ClientMetadata = &ClientMetadata{}
	require.Error(t, bad.Check(time.Now()))
	bad.ClientMetadata = &ClientMetadata{JWKS: a.ClientMetadata.JWKS, EncryptedResponseEncValuesSupported: []string{"A128CBC-HS256"}}
	require.Error(t, bad.Check(time.Now()))
}

func FuzzDecryptResponse(f *testing.F) {
	a, k := jwtModeRequest(f)
	enc, _ := EncryptResponse(a, &AuthorizationResponse{VPToken: map[string][]string{"persona": {"a~b~c"}}, State: "s1"})
	f.Add(enc)
	e, _ := EncryptResponse(a, &AuthorizationResponse{Error: "access_denied", State: "s1"})
	f.Add(e)
	f.Add("eyJhbGciOiJFQ0RILUVTIn0....")
	f.Fuzz(func(t *testing.T, s string) {
		r, err := DecryptResponse(s, k)
		if err != nil {
			return
		}
		if r.Error == "" && len(r.VPToken) == 0 {
			t.Fatal("accepted a response with neither vp_token nor error")
		}
	})
}

func TestRequestSanitized(t *testing.T) {
	a := sampleAuthorizationRequest(PrefixDID + "did:web:rp.example")
	a.ClientMetadata = &ClientMetadata{ClientName: "Shop\x1b[2J\x1b[HYour bank\n"}
	require.NoError(t, a.Check(time.Now()))
	require.Equal(t, "Shop[2J[HYour bank", a.PresentationRequest().ClientName)
	a.Mustard.Scope = "shop\x1b[2J"
	require.Error(t, a.Check(time.Now()))
}
