package issuer_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/internal/problem"
	"github.com/mustard-id/mustard/internal/sdjwt"
	"github.com/mustard-id/mustard/internal/statuslist"
	"github.com/mustard-id/mustard/issuer"
	"github.com/mustard-id/mustard/verifier"
)

// The credential names its place in a status list this issuer serves.
func TestCredentialCarriesStatus(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil)
	out, _ := w.issue(t)
	require.Equal(t, w.srv.URL+"/v1/status-lists/0", out.Status.URI)
	require.Equal(t, out.StatusIndex, out.Status.Index)

	set, err := w.iss.PublicKeys()
	require.NoError(t, err)
	res, err := sdjwt.Verify(context.Background(), out.Credential, sdjwt.VerifyOptions{IssuerKeys: sdjwt.StaticKeys(w.iss.ID(), set), VCT: issuer.VCT, Now: w.clock.Now()})
	require.NoError(t, err)
	require.Equal(t, map[string]any{"status_list": map[string]any{"idx": float64(out.Status.Index), "uri": out.Status.URI}}, res.Claims["status"])
	require.NotContains(t, res.Disclosed, "/status", "status is never selectively disclosable")
}

// Revoke, suspend, reinstate through the admin API, as a relying party
// sees it through verifier.Verify.
func TestStatusLifecycle(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil)
	out, holder := w.issue(t)
	other, otherHolder := w.issue(t)
	v := w.verifier(t)
	require.NoError(t, w.present(t, v, out.Credential, holder))

	set := func(status string) (int, []byte) {
		code, _, b := w.call(t, "POST", fmt.Sprintf("/v1/admin/credentials/%d/status", out.StatusIndex), testAdmin, issuer.StatusJSON{Status: status})
		return code, b
	}
	// The relying party caches the list for its ttl: a change shows once
	// the ttl has passed.
	code, _ := set("suspended")
	require.Equal(t, http.StatusOK, code)
	require.NoError(t, w.present(t, v, out.Credential, holder), "still cached")
	w.clock.Add(5*time.Minute + time.Second)
	require.ErrorIs(t, w.present(t, v, out.Credential, holder), verifier.ErrSuspended)
	require.NoError(t, w.present(t, v, other.Credential, otherHolder), "the neighbour is unaffected")

	code, _ = set("valid")
	require.Equal(t, http.StatusOK, code)
	require.NoError(t, w.present(t, w.verifier(t), out.Credential, holder))

	code, _ = set("revoked")
	require.Equal(t, http.StatusOK, code)
	require.ErrorIs(t, w.present(t, w.verifier(t), out.Credential, holder), verifier.ErrRevoked)

	code, b := set("valid")
	require.Equal(t, http.StatusConflict, code)
	require.Equal(t, issuer.ErrStatusFinal.Type(), problemType(t, b))
	code, b = set("suspended")
	require.Equal(t, http.StatusConflict, code)
	require.Equal(t, issuer.ErrStatusFinal.Type(), problemType(t, b))
	require.ErrorIs(t, w.present(t, w.verifier(t), out.Credential, holder), verifier.ErrRevoked)
}

func TestAdminAPIRefuses(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil)
	out, _ := w.issue(t)
	path := fmt.Sprintf("/v1/admin/credentials/%d/status", out.StatusIndex)
	for _, tc := range []struct {
		name, path, bearer, status string
		code                       int
		typ                        string
	}{
		{"no token", path, "", "revoked", 401, issuer.ErrAdmin.Type()},
		{"wrong token", path, testAdmin + "x", "revoked", 401, issuer.ErrAdmin.Type()},
		{"prefix of the token", path, testAdmin[:5], "revoked", 401, issuer.ErrAdmin.Type()},
		{"unknown status", path, testAdmin, "deleted", 400, issuer.ErrStatusValue.Type()},
		{"unknown index", "/v1/admin/credentials/999/status", testAdmin, "revoked", 404, issuer.ErrStatusIndex.Type()},
		{"negative index", "/v1/admin/credentials/-1/status", testAdmin, "revoked", 404, issuer.ErrStatusIndex.Type()},
		{"not a number", "/v1/admin/credentials/x/status", testAdmin, "revoked", 404, issuer.ErrStatusIndex.Type()},
	} {
		code, hdr, b := w.call(t, "POST", tc.path, tc.bearer, issuer.StatusJSON{Status: tc.status})
		require.Equal(t, tc.code, code, tc.name)
		require.Equal(t, problem.MediaType, hdr.Get("Content-Type"), tc.name)
		require.Equal(t, tc.typ, problemType(t, b), tc.name)
	}
	st, err := w.store.Statuses(context.Background(), 0, issuer.ListSize)
	require.NoError(t, err)
	require.Empty(t, st, "nothing changed")

	// With no admin token configured, the API is closed to everyone.
	closed := newWorld(t, func(c *issuer.Config) { c.AdminToken = "" })
	out, _ = closed.issue(t)
	code, _, b := closed.call(t, "POST", fmt.Sprintf("/v1/admin/credentials/%d/status", out.StatusIndex), "", issuer.StatusJSON{Status: "revoked"})
	require.Equal(t, 401, code)
	require.Equal(t, issuer.ErrAdmin.Type(), problemType(t, b))
}

// The served list: media type, cache headers, ETag revalidation, and
// content that decodes (independently of the issuer) to the statuses set.
func TestServeStatusList(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil)
	a, _ := w.issue(t)
	b, _ := w.issue(t)
	require.NoError(t, w.iss.SetStatus(context.Background(), a.StatusIndex, statuslist.Invalid))
	require.NoError(t, w.iss.SetStatus(context.Background(), b.StatusIndex, statuslist.Suspended))

	code, hdr, body := w.call(t, "GET", "/v1/status-lists/0", "", nil)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, statuslist.MediaType, hdr.Get("Content-Type"))
	require.Equal(t, "public, max-age=300", hdr.Get("Cache-Control"))
	etag := hdr.Get("ETag")
	require.NotEmpty(t, etag)

	set, err := w.iss.PublicKeys()
	require.NoError(t, err)
	tok, err := statuslist.ParseToken(context.Background(), string(body), statuslist.ParseOptions{Subject: a.Status.URI, Issuer: w.iss.ID(), Keys: sdjwt.StaticKeys(w.iss.ID(), set), Now: w.clock.Now()})
	require.NoError(t, err)
	require.Equal(t, 5*time.Minute, tok.TTL)
	require.Equal(t, 24*time.Hour, tok.Expiry.Sub(tok.IssuedAt))
	require.Equal(t, 2, tok.List.Bits())
	require.Equal(t, issuer.ListSize, tok.List.Len())
	unused := int64(0)
	for unused == a.Status.Index || unused == b.Status.Index {
		unused++
	}
	for idx, want := range map[int64]statuslist.Status{a.Status.Index: statuslist.Invalid, b.Status.Index: statuslist.Suspended, unused: statuslist.Valid} {
		got, err := tok.List.Get(int(idx))
		require.NoError(t, err)
		require.Equal(t, want, statuslist.Status(got), "idx %d", idx)
	}

	// Unchanged: the same token, 304 on revalidation; max-age counts down.
	w.clock.Add(time.Minute)
	req, _ := http.NewRequest("GET", w.srv.URL+"/v1/status-lists/0", nil)
	req.Header.Set("If-None-Match", etag)
	resp, err := w.srv.Client().Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNotModified, resp.StatusCode)
	require.Equal(t, "public, max-age=240", resp.Header.Get("Cache-Control"))

	// A change re-signs the list at once: a new ETag.
	require.NoError(t, w.iss.SetStatus(context.Background(), b.StatusIndex, statuslist.Valid))
	_, hdr, _ = w.call(t, "GET", "/v1/status-lists/0", "", nil)
	require.NotEqual(t, etag, hdr.Get("ETag"))

	for _, p := range []string{"/v1/status-lists/1", "/v1/status-lists/-1", "/v1/status-lists/00", "/v1/status-lists/x"} {
		code, hdr, body := w.call(t, "GET", p, "", nil)
		require.Equal(t, http.StatusNotFound, code, p)
		require.Equal(t, problem.MediaType, hdr.Get("Content-Type"))
		require.Equal(t, issuer.ErrNoStatusList.Type(), problemType(t, body), p)
	}
}

// A holder revokes its own credential by proving possession of the
// persona key over the credential's status reference and a fresh nonce.
func TestHolderRevocation(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil)
	out, holder := w.issue(t)
	_, stranger := w.issue(t)
	ctx := context.Background()

	nonce := func() string {
		var n issuer.NonceJSON
		code, _, b := w.call(t, "POST", "/v1/persona/revocation-nonce", "", nil)
		require.Equal(t, http.StatusOK, code)
		require.NoError(t, jsonUnmarshal(b, &n))
		return n.Nonce
	}
	revoke := func(cred string, key jwk.Key, aud, n string, idx int64, uri string) (int, []byte) {
		proof, err := issuer.SignRevocation(key, aud, n, idx, uri, w.clock.Now())
		require.NoError(t, err)
		code, _, b := w.call(t, "POST", "/v1/persona/revocation", "", issuer.RevokeJSON{Credential: cred, Proof: proof})
		return code, b
	}
	unchanged := func() {
		t.Helper()
		st, err := w.store.Statuses(ctx, 0, issuer.ListSize)
		require.NoError(t, err)
		require.Empty(t, st)
	}
	ref := out.Status
	n := nonce()
	tampered := out.Credential[:20] + "x" + out.Credential[21:]
	for _, tc := range []struct {
		name  string
		cred  string
		key   jwk.Key
		aud   string
		idx   int64
		uri   string
		typ   string
		nonce string
	}{
		{"another persona key", out.Credential, stranger, w.iss.ID(), ref.Index, ref.URI, issuer.ErrRevocationPoP.Type(), n},
		{"another issuer", out.Credential, holder, "did:web:other.example", ref.Index, ref.URI, issuer.ErrRevocationPoP.Type(), n},
		{"another index", out.Credential, holder, w.iss.ID(), ref.Index + 1, ref.URI, issuer.ErrRevocationPoP.Type(), n},
		{"another list", out.Credential, holder, w.iss.ID(), ref.Index, ref.URI + "1", issuer.ErrRevocationPoP.Type(), n},
		{"tampered credential", tampered, holder, w.iss.ID(), ref.Index, ref.URI, issuer.ErrCredential.Type(), n},
		{"not a credential", "x~", holder, w.iss.ID(), ref.Index, ref.URI, issuer.ErrCredential.Type(), n},
		{"unknown nonce", out.Credential, holder, w.iss.ID(), ref.Index, ref.URI, issuer.ErrNonce.Type(), "made-up"},
	} {
		code, b := revoke(tc.cred, tc.key, tc.aud, tc.nonce, tc.idx, tc.uri)
		require.Less(t, code, 500, tc.name)
		require.GreaterOrEqual(t, code, 400, tc.name)
		require.Equal(t, tc.typ, problemType(t, b), tc.name)
		unchanged()
	}
	c, err := w.store.Counts(ctx)
	require.NoError(t, err)
	require.Zero(t, c["nonces_used"], "a refused request burns no nonce")

	// The real thing, with the nonce the refused attempts left unused.
	code, b := revoke(out.Credential, holder, w.iss.ID(), n, ref.Index, ref.URI)
	require.Equal(t, http.StatusOK, code, string(b))
	require.ErrorIs(t, w.present(t, w.verifier(t), out.Credential, holder), verifier.ErrRevoked)

	// The nonce is single-use.
	code, b = revoke(out.Credential, holder, w.iss.ID(), n, ref.Index, ref.URI)
	require.Equal(t, http.StatusBadRequest, code)
	require.Equal(t, issuer.ErrNonce.Type(), problemType(t, b))

	// With only some Disclosures (the holder's choice), and once revoked:
	// a second revocation is accepted and changes nothing.
	cut := out.Credential[:strings.Index(out.Credential, "~")+1]
	code, b = revoke(cut, holder, w.iss.ID(), nonce(), ref.Index, ref.URI)
	require.Equal(t, http.StatusOK, code, string(b))
}
