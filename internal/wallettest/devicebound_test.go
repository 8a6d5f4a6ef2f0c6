package wallettest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/coreid"
	"github.com/mustard-id/mustard/internal/server"
	"github.com/mustard-id/mustard/persona"
	"github.com/mustard-id/mustard/verifier"
)

// TestWalletDeviceBound: against a server that offers device-bound
// personas, a TPM wallet derives one (showing its progress while it
// proves) and the issuer issues it; a software wallet cannot.
func TestWalletDeviceBound(t *testing.T) {
	if testing.Short() {
		t.Skip("a Groth16 setup of the device-bound circuit")
	}
	hs := httptest.NewUnstartedServer(nil)
	base := "http://" + hs.Listener.Addr().String()
	srv, err := server.Open(context.Background(), server.Options{DataDir: t.TempDir(), Passphrase: "device-bound", PublicURL: base, DeviceBound: true})
	require.NoError(t, err)
	defer srv.Close()
	hs.Config.Handler = srv.Handler()
	hs.Start()
	defer hs.Close()
	source := func() string {
		now := time.Now()
		claims := map[string]any{"birthdate": "1980-01-01", "personal_number": fmt.Sprintf("pn-%d", rand.Int64())}
		src, err := coreid.SignJWTVC(srv.SampleSource, server.SampleSourceID, "did:example:holder", []string{"PersonIdentificationData"}, claims, now, now.Add(time.Hour))
		require.NoError(t, err)
		p := filepath.Join(t.TempDir(), "source.jwt")
		require.NoError(t, os.WriteFile(p, []byte(src+"\n"), 0o600))
		return p
	}

	t.Setenv("MUSTARD_PIN", "2468")
	dir := filepath.Join(t.TempDir(), "wallet")
	ok(t, dir, "init", "--tpm-sim")
	ok(t, dir, "enroll", "--credential", source(), "--server", base)
	r := ok(t, dir, "persona", "new", "--scope", "bank.example", "--predicate", "age>=18", "--device-bound", "--json")
	require.Contains(t, r.stdout, `"scope": "bank.example"`)
	require.Contains(t, r.stderr, "signing the verifier's nonce with the TPM device key")
	require.Contains(t, r.stderr, "proof made in ")

	soft := filepath.Join(t.TempDir(), "soft")
	ok(t, soft, "init", "--software")
	ok(t, soft, "enroll", "--credential", source(), "--server", base)
	fails(t, soft, "needs the enrolled device's TPM", "persona", "new", "--scope", "bank.example", "--device-bound")

	// A relying party asks for device-bound personas through the server's
	// verification API; its response endpoint verifies each presentation
	// under a device-bound policy (recorded) and, when that refuses, under
	// the request's own policy (the answer).
	type seen struct{ strict, verdict string }
	var mu sync.Mutex
	got := map[string]seen{}
	client := &persona.Client{BaseURL: base}
	rp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body verifier.ResponseJSON
		_ = json.NewDecoder(io.LimitReader(r.Body, 128<<10)).Decode(&body)
		var doc verifier.PresentationRequest
		_ = json.Unmarshal([]byte(r.URL.Query().Get("doc")), &doc)
		verify := func(deviceBound bool) string {
			var v verifier.VerdictJSON
			err := client.Post(r.Context(), "/v1/presentations/verify", verifier.VerifyJSON{Presentation: body.Presentation,
				Audience: doc.Audience, Scope: doc.Scope, Nonce: doc.Nonce, DeviceBound: deviceBound}, &v)
			if pe, ok := err.(*persona.ProblemError); ok {
				return pe.Type
			}
			if err != nil {
				return err.Error()
			}
			return "valid"
		}
		// A successful verification spends the nonce: the request's own
		// policy is tried only when the device-bound one refused.
		strict := verify(true)
		verdict := strict
		if strict != "valid" && !doc.DeviceBound {
			verdict = verify(false)
		}
		mu.Lock()
		got[doc.Scope] = seen{strict, verdict}
		mu.Unlock()
		if verdict != "valid" {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusForbidden)
			_, _ = fmt.Fprintf(w, `{"type":%q,"title":"refused","status":403}`, verdict)
			return
		}
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	defer rp.Close()
	request := func(scope string, deviceBound bool) string {
		// The response URI carries the document's policy (test only: a
		// real relying party keeps it on its side).
		doc := verifier.PresentationRequest{Audience: "https://" + scope, Scope: scope, DeviceBound: deviceBound}
		var preq verifier.PresentationRequestJSON
		require.NoError(t, client.Post(context.Background(), "/v1/presentation-requests", verifier.RequestJSON{Audience: doc.Audience, Scope: scope,
			ResponseURI: rp.URL, DeviceBound: deviceBound}, &preq))
		require.Equal(t, deviceBound, preq.Request.DeviceBound)
		doc.Nonce = preq.Nonce
		b, _ := json.Marshal(doc)
		preq.Request.ResponseURI = rp.URL + "?" + url.Values{"doc": {string(b)}}.Encode()
		b, _ = json.Marshal(preq.Request)
		return string(b)
	}
	notDeviceBound := verifier.ErrNotDeviceBound.Type()

	// The device-bound persona made above answers as it is.
	r = ok(t, dir, "present", "--yes", "--json", request("bank.example", true))
	require.Contains(t, r.stderr, "requires a device-bound persona")
	require.Contains(t, r.stdout, `"derived": false`)
	require.Equal(t, seen{"valid", "valid"}, got["bank.example"])

	// For a new scope the wallet derives a device-bound persona with the
	// TPM, and the relying party's device-bound policy accepts it.
	r = ok(t, dir, "present", "--yes", "--json", request("shop.example", true))
	require.Contains(t, r.stdout, `"derived": true`)
	require.Contains(t, r.stderr, "signing the verifier's nonce with the TPM device key")
	require.Equal(t, seen{"valid", "valid"}, got["shop.example"])

	// An ordinary persona of the same wallet is refused under the
	// device-bound policy (not-device-bound) though valid otherwise ...
	ok(t, dir, "present", "--yes", request("news.example", false))
	require.Equal(t, seen{notDeviceBound, "valid"}, got["news.example"])
	delete(got, "news.example")
	// ... and the wallet never answers a device-bound request with it:
	// it refuses under --no-derive, and otherwise derives a device-bound
	// one in its place.
	fails(t, dir, "asks for a device-bound persona and your news.example persona is not one", "present", "--yes", "--no-derive", request("news.example", true))
	require.NotContains(t, got, "news.example", "nothing was sent")
	r = ok(t, dir, "present", "--yes", "--json", request("news.example", true))
	require.Contains(t, r.stdout, `"derived": true`)
	require.Equal(t, seen{"valid", "valid"}, got["news.example"])
	r = ok(t, dir, "persona", "list", "--json")
	require.Contains(t, r.stdout, `"device_bound": true`)

	// A wallet without a TPM device key says what to do, and sends nothing.
	e := fails(t, soft, "which only a wallet whose core credential is bound to this device's TPM can make", "present", "--yes", request("forum.example", true))
	require.Contains(t, e, "without --software")
	require.NotContains(t, e, "\n")
	require.NotContains(t, got, "forum.example")
}
