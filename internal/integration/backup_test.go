package integration

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/coreid"
	"github.com/mustard-id/mustard/internal/backup"
	"github.com/mustard-id/mustard/internal/cli"
	"github.com/mustard-id/mustard/internal/keystore"
	"github.com/mustard-id/mustard/internal/sdjwt"
	"github.com/mustard-id/mustard/internal/server"
	"github.com/mustard-id/mustard/internal/tlog"
	wallet "github.com/mustard-id/mustard/persona"
	"github.com/mustard-id/mustard/verifier"
	"github.com/mustard-id/mustard/zk"
)

// swapHandler is a public URL whose server can be replaced (the restored
// server takes over the original's name).
type swapHandler struct{ h atomic.Value }

func (s *swapHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.h.Load().(http.Handler).ServeHTTP(w, r)
}

// Backup while serving, restore into a new data directory: the restored
// server (same passphrase, same public URL) holds every identity enrolled
// before the backup began, verifies a persona credential issued before
// it, and its log is consistent with a checkpoint audited before it. The
// backup holds no key in clear, and the restored keys open with the
// passphrase only.
func TestBackupRestoreWhileServing(t *testing.T) {
	ctx := context.Background()
	const pass = "backup-test"
	dirA, dirB := t.TempDir(), filepath.Join(t.TempDir(), "restored")
	require.NoError(t, os.CopyFS(filepath.Join(dirA, "zk"), os.DirFS(filepath.Join(env.dir, "zk"))))
	front := &swapHandler{}
	pub := httptest.NewServer(front)
	defer pub.Close()
	srvA, err := server.Open(ctx, server.Options{DataDir: dirA, Passphrase: pass, PublicURL: pub.URL})
	require.NoError(t, err)
	closedA := false
	defer func() {
		if !closedA {
			srvA.Close()
		}
	}()
	front.h.Store(srvA.Handler())
	cl := &wallet.Client{BaseURL: pub.URL, HTTP: &http.Client{Timeout: time.Minute}}

	source := func(sub string) string {
		now := time.Now()
		src, err := coreid.SignJWTVC(srvA.SampleSource, server.SampleSourceID, "did:example:holder", []string{"PersonIdentificationData"},
			map[string]any{"personal_number": sub, "birthdate": "1990-01-01", "nationality": "NL"}, now, now.Add(time.Hour))
		require.NoError(t, err)
		return src
	}

	// A person with a persona credential, before the backup.
	gov, err := cl.Governance(ctx)
	require.NoError(t, err)
	fw, err := cl.Framework(ctx, gov)
	require.NoError(t, err)
	pin := []byte("4711")
	w, err := wallet.Create(keystore.NewSoftware(), pin)
	require.NoError(t, err)
	comm, err := w.Commitment(pin)
	require.NoError(t, err)
	e, err := cl.Enroll(ctx, coreid.EnrollBody{Source: source("backup-holder"), Commitment: zk.Hex(comm), DeviceKeyHash: zk.Hex(w.DeviceKeyHash())})
	require.NoError(t, err)
	require.NoError(t, w.Accept(pin, fw, e))
	rc := &wallet.RevocationCache{}
	require.NoError(t, rc.Sync(ctx, cl))
	nonce, err := cl.Nonce(ctx, "shop.example")
	require.NoError(t, err)
	key, err := wallet.NewPersonaKey()
	require.NoError(t, err)
	proof, err := w.DeriveCached(ctx, srvA.Keys, pin, fw, rc, key, wallet.Query{Scope: "shop.example", Nonce: nonce, MinGrade: zk.GradeSubstantial, Predicates: []string{"age>=18"}, Now: time.Now()})
	require.NoError(t, err)
	iss, err := cl.Issue(ctx, srvA.Issuer.ID(), proof, key)
	require.NoError(t, err)

	// An audit before the backup.
	audit := &tlog.AuditState{VerifierKey: srvA.LogKey}
	before, err := tlog.Audit(ctx, pub.Client(), pub.URL, audit)
	require.NoError(t, err)

	// Enrollments keep coming while the backup runs.
	var mu sync.Mutex
	var acked []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				sub := fmt.Sprintf("backup-load-%d-%d", g, i)
				if _, err := cl.Enroll(ctx, coreid.EnrollBody{Source: source(sub), Commitment: zk.Hex(zk.Commit(zk.Int64(int64(i + 1)))), DeviceKeyHash: zk.Hex(zk.Int64(0))}); err == nil {
					mu.Lock()
					acked = append(acked, sub)
					mu.Unlock()
				}
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	mu.Lock()
	ackedBefore := append([]string(nil), acked...)
	mu.Unlock()
	require.NotEmpty(t, ackedBefore)
	file := filepath.Join(t.TempDir(), "mustard.backup")
	var stdout, stderr bytes.Buffer
	code := cli.Main(ctx, []string{"backup", "--data", dirA, "--out", file}, &stdout, &stderr)
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	time.Sleep(200 * time.Millisecond)
	close(stop)
	wg.Wait()
	mu.Lock()
	require.Greater(t, len(acked), len(ackedBefore), "the server kept enrolling during the backup")
	mu.Unlock()

	// Nothing in clear: the log's signing key (a note key, "PRIVATE+KEY+…")
	// and the rest of the key bundle are sealed in the database.
	raw, err := os.ReadFile(file)
	require.NoError(t, err)
	gz, err := gzip.NewReader(bytes.NewReader(raw))
	require.NoError(t, err)
	tr := tar.NewReader(gz)
	names := map[string]bool{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		names[h.Name] = true
		b, err := io.ReadAll(tr)
		require.NoError(t, err)
		require.NotContains(t, string(b), "PRIVATE+KEY", h.Name)
	}
	require.True(t, names[backup.Database])
	require.False(t, names[backup.Database+"-wal"])

	// Restore: refused into a non-empty directory, then into a new one.
	code = cli.Main(ctx, []string{"restore", "--from", file, "--data", dirA}, &stdout, &stderr)
	require.NotEqual(t, 0, code)
	stdout.Reset()
	code = cli.Main(ctx, []string{"restore", "--from", file, "--data", dirB}, &stdout, &stderr)
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())

	// The keys open with the passphrase only.
	_, err = server.Open(ctx, server.Options{DataDir: dirB, Passphrase: "not-the-passphrase", PublicURL: pub.URL})
	require.Error(t, err)
	require.NoError(t, srvA.Close())
	closedA = true
	srvB, err := server.Open(ctx, server.Options{DataDir: dirB, Passphrase: pass, PublicURL: pub.URL})
	require.NoError(t, err)
	defer srvB.Close()
	front.h.Store(srvB.Handler())
	require.Equal(t, srvA.LogKey, srvB.LogKey)

	// Every identity acknowledged before the backup began is there.
	for _, sub := range append(ackedBefore, "backup-holder") {
		_, err := cl.Enroll(ctx, coreid.EnrollBody{Source: source(sub), Commitment: zk.Hex(zk.Commit(zk.Int64(99))), DeviceKeyHash: zk.Hex(zk.Int64(0))})
		var pe *wallet.ProblemError
		require.ErrorAs(t, err, &pe, sub)
		require.Contains(t, pe.Type, "duplicate-identity", sub)
	}

	// The persona credential issued before the backup verifies.
	aud := "https://shop.example"
	var preq verifier.PresentationRequestJSON
	require.NoError(t, cl.Post(ctx, "/v1/presentation-requests", verifier.RequestJSON{Audience: aud}, &preq))
	tok, err := sdjwt.Parse(iss.Credential)
	require.NoError(t, err)
	vp, err := tok.Present(sdjwt.PresentRequest{Disclose: []string{"age_over_18"}, Audience: aud, Nonce: preq.Nonce}, key)
	require.NoError(t, err)
	var v verifier.VerdictJSON
	require.NoError(t, cl.Post(ctx, "/v1/presentations/verify", verifier.VerifyJSON{Presentation: vp, Audience: aud, Scope: "shop.example", Nonce: preq.Nonce, RequiredClaims: []string{"age_over_18"}}, &v))
	require.True(t, v.Valid)

	// The restored log is consistent with the checkpoint audited before
	// the backup (mustard log verify's check), and the wallet's cached
	// revocation tree still leads to the restored root.
	after, err := tlog.Audit(ctx, pub.Client(), pub.URL, audit)
	require.NoError(t, err)
	require.Greater(t, after.Size, before.Size)
	require.NoError(t, rc.Sync(ctx, cl))
	require.Equal(t, srvB.Provider.RevocationRoot(), rc.Root())
}
