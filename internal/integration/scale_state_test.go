package integration

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/coreid"
	"github.com/mustard-id/mustard/internal/fedidp"
	"github.com/mustard-id/mustard/internal/keystore"
	"github.com/mustard-id/mustard/internal/server"
	"github.com/mustard-id/mustard/internal/store/postgres/pgtest"
	"github.com/mustard-id/mustard/internal/trust"
	wallet "github.com/mustard-id/mustard/persona"
	"github.com/mustard-id/mustard/zk"
)

// Two servers on one PostgreSQL share what spans requests: a TPM
// attestation challenged by one is answered on the other and its ticket
// redeemed by either; a federation enrollment started on one returns
// from the IdP to the other and is collected from the first. And they
// hold one revocation tree: a revocation through one is in the other's
// root within coreid.DefaultRevocationRefresh, also when both revoke at
// once.
func TestTwoServersShareStateAndRevocations(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	idp, err := fedidp.New("mustard-core", "federation-secret", "student-9", map[string]any{"birthdate": "1999-09-09", "nationality": "FR"})
	require.NoError(t, err)
	idpSrv := httptest.NewServer(idp.Handler())
	defer idpSrv.Close()
	idp.Issuer = idpSrv.URL
	c := startCluster(t, dsn, func(o *server.Options) {
		o.Federations = []server.Federation{{Issuer: idp.Issuer, ClientID: "mustard-core", ClientSecret: "federation-secret"}}
		o.DevSources = []trust.Source{{
			ID: idp.Issuer, Name: "University federation (test)", Formats: []string{trust.FormatOIDC}, Grade: "substantial",
			JWKS: idp.JWKS(), Claims: map[string]string{"birthdate": "birth_date", "nationality": "nationality"},
		}}
	})
	pub := &wallet.Client{BaseURL: c.pub, HTTP: &http.Client{Timeout: time.Minute}}
	for i := range 2 {
		require.NoError(t, c.srv[i].Provider.Ready())
	}

	t.Run("attestation challenged on one server, answered on the other", func(t *testing.T) {
		tpm, err := keystore.OpenSimulator(81)
		require.NoError(t, err)
		defer tpm.Close()
		pin := []byte("2468")
		w, err := wallet.Create(tpm, pin)
		require.NoError(t, err)
		comm, err := w.Commitment(pin)
		require.NoError(t, err)
		c.lb.pinned.Store(-1) // round robin: the challenge and the answer go to different servers
		h0, h1 := c.lb.hits[0].Load(), c.lb.hits[1].Load()
		ticket, err := w.Attest(ctx, pub)
		require.NoError(t, err)
		require.Equal(t, h0+1, c.lb.hits[0].Load())
		require.Equal(t, h1+1, c.lb.hits[1].Load())
		e, err := pub.Enroll(ctx, coreid.EnrollBody{Source: c.sourceFor(t, "pn-attested"), Commitment: zk.Hex(comm), DeviceKeyHash: zk.Hex(w.DeviceKeyHash()), Attestation: ticket})
		require.NoError(t, err)
		require.Equal(t, uint64(zk.GradeHigh), e.Credential.Grade)
		// The ticket was spent, on whichever server: neither takes it again.
		for i := range 2 {
			_, err = c.client(i).Enroll(ctx, coreid.EnrollBody{Source: c.sourceFor(t, "pn-attested-again"), Commitment: zk.Hex(comm), DeviceKeyHash: zk.Hex(w.DeviceKeyHash()), Attestation: ticket})
			require.Error(t, err)
		}
	})

	t.Run("federation enrollment started on one server, finished on the other", func(t *testing.T) {
		pin := []byte("1357")
		w, err := wallet.Create(keystore.NewSoftware(), pin)
		require.NoError(t, err)
		comm, err := w.Commitment(pin)
		require.NoError(t, err)
		c.lb.pinned.Store(0)
		defer c.lb.pinned.Store(-1)
		start, err := pub.EnrollFederation(ctx, idp.Issuer, comm, w.DeviceKeyHash(), "")
		require.NoError(t, err)
		c.lb.pinned.Store(1) // the IdP sends the browser back to B
		h1 := c.lb.hits[1].Load()
		jar, _ := cookiejar.New(nil)
		browser := &http.Client{Jar: jar, Timeout: 30 * time.Second}
		resp, err := browser.Get(start.AuthorizationURL)
		require.NoError(t, err)
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, string(page))
		require.Contains(t, string(page), "You are enrolled")
		require.Greater(t, c.lb.hits[1].Load(), h1, "B took the callback")
		c.lb.pinned.Store(0) // the wallet polls A
		enr, err := pub.PollEnrollment(ctx, start.PollURL)
		require.NoError(t, err)
		require.Equal(t, uint64(zk.GradeSubstantial), enr.Credential.Grade)
		c.lb.pinned.Store(1)
		_, err = pub.PollEnrollment(ctx, start.PollURL)
		require.Error(t, err, "collected once, on any server")
	})

	t.Run("a revocation through one server reaches the other's root", func(t *testing.T) {
		a, b := c.srv[0].Provider, c.srv[1].Provider
		require.Equal(t, a.RevocationRoot(), b.RevocationRoot())
		n, err := zk.RandomElement()
		require.NoError(t, err)
		require.NoError(t, a.Revoke(ctx, n, coreid.ReasonProvider))
		t0 := time.Now()
		require.Eventually(t, func() bool { return a.RevocationRoot() == b.RevocationRoot() }, 10*time.Second, 20*time.Millisecond)
		lag := time.Since(t0)
		t.Logf("B's root followed A's revocation after %v", lag)
		require.Less(t, lag, coreid.DefaultRevocationRefresh+time.Second)

		// Both revoking at once: one order, the store's, on both.
		var wg sync.WaitGroup
		for i := range 2 {
			wg.Go(func() {
				for range 10 {
					n, err := zk.RandomElement()
					if err == nil {
						err = c.srv[i].Provider.Revoke(ctx, n, coreid.ReasonProvider)
					}
					if err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		require.Eventually(t, func() bool { return a.RevocationRoot() == b.RevocationRoot() }, 10*time.Second, 20*time.Millisecond)
		sa, sb := a.Revocations(), b.Revocations()
		require.Len(t, sa.Entries, len(sb.Entries))
		require.Equal(t, sa.Entries, sb.Entries)
		entries, err := c.srv[1].Store.Revocations(ctx)
		require.NoError(t, err)
		require.Len(t, entries, len(sa.Entries))
	})
}
