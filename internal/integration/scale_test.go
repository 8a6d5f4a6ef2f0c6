package integration

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/coreid"
	"github.com/mustard-id/mustard/internal/cli"
	"github.com/mustard-id/mustard/internal/keystore"
	"github.com/mustard-id/mustard/internal/portal"
	"github.com/mustard-id/mustard/internal/sdjwt"
	"github.com/mustard-id/mustard/internal/server"
	"github.com/mustard-id/mustard/internal/store/postgres"
	"github.com/mustard-id/mustard/internal/store/postgres/pgtest"
	"github.com/mustard-id/mustard/internal/trust"
	wallet "github.com/mustard-id/mustard/persona"
	"github.com/mustard-id/mustard/verifier"
	"github.com/mustard-id/mustard/zk"
)

// balancer is the public URL two servers answer behind: requests go round
// robin, or all to one server while pinned.
type balancer struct {
	backends []*httputil.ReverseProxy
	pinned   atomic.Int32 // -1: round robin
	next     atomic.Uint64
	hits     [2]atomic.Int64
}

func (b *balancer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	i := int(b.pinned.Load())
	if i < 0 {
		i = int(b.next.Add(1) % 2)
	}
	b.hits[i].Add(1)
	b.backends[i].ServeHTTP(w, r)
}

// cluster is two servers on one PostgreSQL database, each on its own
// loopback port, and a balancer in front that is their public URL.
type cluster struct {
	srv  [2]*server.Server
	base [2]string // each server's own address
	lb   *balancer
	pub  string
}

// startCluster starts the first server on a fresh data directory (it
// creates the keys, sealed in the database, and the framework file), then
// the second on a copy of that directory, as docs/operations.md says.
func startCluster(t testing.TB, dsn string, extra ...func(*server.Options)) *cluster {
	t.Helper()
	ctx := context.Background()
	c := &cluster{lb: &balancer{}}
	c.lb.pinned.Store(-1)
	front := httptest.NewServer(c.lb)
	t.Cleanup(front.Close)
	c.pub = front.URL
	dirs := [2]string{t.TempDir(), t.TempDir()}
	require.NoError(t, os.CopyFS(filepath.Join(dirs[0], "zk"), os.DirFS(filepath.Join(env.dir, "zk"))))
	for i := range 2 {
		if i == 1 {
			require.NoError(t, os.CopyFS(dirs[1], os.DirFS(dirs[0])))
		}
		o := server.Options{DataDir: dirs[i], Database: dsn, Passphrase: "scale-out", PublicURL: c.pub}
		for _, f := range extra {
			f(&o)
		}
		srv, err := server.Open(ctx, o)
		require.NoError(t, err)
		t.Cleanup(func() { srv.Close() })
		hs := httptest.NewServer(srv.Handler())
		t.Cleanup(hs.Close)
		u, err := url.Parse(hs.URL)
		require.NoError(t, err)
		c.srv[i], c.base[i] = srv, hs.URL
		c.lb.backends = append(c.lb.backends, httputil.NewSingleHostReverseProxy(u))
	}
	return c
}

func (c *cluster) client(i int) *wallet.Client {
	return &wallet.Client{BaseURL: c.base[i], HTTP: &http.Client{Timeout: time.Minute}}
}

// sourceFor is a sample-government credential for subject pn.
func (c *cluster) sourceFor(t testing.TB, pn string) string {
	now := time.Now()
	src, err := coreid.SignJWTVC(c.srv[0].SampleSource, server.SampleSourceID, "did:example:holder", []string{"PersonIdentificationData"},
		map[string]any{"personal_number": pn, "birthdate": "2001-02-03", "nationality": "DE"}, now, now.Add(time.Hour))
	require.NoError(t, err)
	return src
}

// enroll enrolls a fresh person through server i.
func (c *cluster) enroll(t testing.TB, i int) (*wallet.Wallet, []byte, *trust.Document) {
	t.Helper()
	ctx := context.Background()
	cl := c.client(i)
	gov, err := cl.Governance(ctx)
	require.NoError(t, err)
	fw, err := cl.Framework(ctx, gov)
	require.NoError(t, err)
	pin := []byte("4711")
	w, err := wallet.Create(keystore.NewSoftware(), pin)
	require.NoError(t, err)
	comm, err := w.Commitment(pin)
	require.NoError(t, err)
	e, err := cl.Enroll(ctx, coreid.EnrollBody{Source: c.sourceFor(t, fmt.Sprintf("pn-%d", rand.Int64())), Commitment: zk.Hex(comm), DeviceKeyHash: zk.Hex(w.DeviceKeyHash())})
	require.NoError(t, err)
	require.NoError(t, w.Accept(pin, fw, e))
	return w, pin, fw
}

// persona derives a persona for scope and has server i issue it.
func (c *cluster) persona(t testing.TB, i int, w *wallet.Wallet, pin []byte, fw *trust.Document, scope string, preds []string) (string, jwk.Key) {
	t.Helper()
	ctx := context.Background()
	cl := c.client(i)
	nonce, err := cl.Nonce(ctx, scope)
	require.NoError(t, err)
	snap, err := cl.Revocations(ctx)
	require.NoError(t, err)
	key, err := wallet.NewPersonaKey()
	require.NoError(t, err)
	proof, err := w.Derive(ctx, c.srv[i].Keys, pin, fw, snap, key, wallet.Query{Scope: scope, Nonce: nonce, MinGrade: zk.GradeSubstantial, Predicates: preds, Now: time.Now()})
	require.NoError(t, err)
	iss, err := cl.Issue(ctx, c.srv[i].Issuer.ID(), proof, key)
	require.NoError(t, err)
	return iss.Credential, key
}

func problemType(t *testing.T, err error) string {
	t.Helper()
	var pe *wallet.ProblemError
	require.ErrorAs(t, err, &pe)
	return pe.Type
}

// Two `server.Open` servers on different ports share one PostgreSQL
// database and serve the same users: a verifier nonce consumed on one is
// refused on the other, one person enrolling through both at once gets one
// identity, and an OIDC sign-in started on one finishes on the other.
func TestTwoServersOnePostgres(t *testing.T) {
	c := startCluster(t, pgtest.DSN(t))
	ctx := context.Background()
	require.Equal(t, c.srv[0].LogKey, c.srv[1].LogKey, "one log, one checkpoint key")
	require.Equal(t, c.srv[0].Issuer.ID(), c.srv[1].Issuer.ID(), "one issuer key")

	// Enrolled on A, persona issued on B.
	w, pin, fw := c.enroll(t, 0)
	cred, key := c.persona(t, 1, w, pin, fw, "shop.example", []string{"age>=18"})
	tok, err := sdjwt.Parse(cred)
	require.NoError(t, err)

	t.Run("verifier nonce is single-use across servers", func(t *testing.T) {
		var preq verifier.PresentationRequestJSON
		require.NoError(t, c.client(0).Post(ctx, "/v1/presentation-requests", verifier.RequestJSON{Audience: "https://shop.example"}, &preq))
		vp, err := tok.Present(sdjwt.PresentRequest{Audience: "https://shop.example", Nonce: preq.Nonce}, key)
		require.NoError(t, err)
		body := verifier.VerifyJSON{Presentation: vp, Audience: "https://shop.example", Scope: "shop.example", Nonce: preq.Nonce}
		var verdict verifier.VerdictJSON
		require.NoError(t, c.client(1).Post(ctx, "/v1/presentations/verify", body, &verdict), "a nonce made on A is good on B")
		require.True(t, verdict.Valid)
		err = c.client(0).Post(ctx, "/v1/presentations/verify", body, &verdict)
		require.Equal(t, verifier.ErrNonce.Type(), problemType(t, err), "and then spent on A too")
		err = c.client(1).Post(ctx, "/v1/presentations/verify", body, &verdict)
		require.Equal(t, verifier.ErrNonce.Type(), problemType(t, err))
	})

	t.Run("one person enrolling through both gets one identity", func(t *testing.T) {
		before, err := c.srv[0].Store.Counts(ctx)
		require.NoError(t, err)
		src := c.sourceFor(t, fmt.Sprintf("pn-race-%d", rand.Int64()))
		var wins, dups atomic.Int32
		var wg sync.WaitGroup
		for i := range 6 {
			wg.Go(func() {
				ww, err := wallet.Create(keystore.NewSoftware(), []byte("1234"))
				if err != nil {
					t.Error(err)
					return
				}
				comm, err := ww.Commitment([]byte("1234"))
				if err != nil {
					t.Error(err)
					return
				}
				_, err = c.client(i%2).Enroll(ctx, coreid.EnrollBody{Source: src, Commitment: zk.Hex(comm), DeviceKeyHash: zk.Hex(ww.DeviceKeyHash())})
				var pe *wallet.ProblemError
				switch {
				case err == nil:
					wins.Add(1)
				case errors.As(err, &pe) && pe.Type == coreid.ErrDuplicate.Type():
					dups.Add(1)
				default:
					t.Error(err)
				}
			})
		}
		wg.Wait()
		require.EqualValues(t, 1, wins.Load())
		require.EqualValues(t, 5, dups.Load())
		after, err := c.srv[1].Store.Counts(ctx)
		require.NoError(t, err)
		require.Equal(t, before["identities"]+1, after["identities"])
	})

	t.Run("an OIDC sign-in started on one server finishes on the other", func(t *testing.T) {
		c.lb.pinned.Store(-1) // registration and discovery: either server
		shop := startPortalAt(t, c, "shop.example", []string{"age_over_18"})
		b := portal.NewBrowser()
		c.lb.pinned.Store(0) // the authorization request reaches A
		link, err := b.SignIn(ctx, shop)
		require.NoError(t, err)
		hitsA := c.lb.hits[0].Load()
		c.lb.pinned.Store(1) // everything after it reaches B
		defer c.lb.pinned.Store(-1)
		hitsB := c.lb.hits[1].Load()
		req, err := wallet.FetchRequest(ctx, http.DefaultClient, link)
		require.NoError(t, err)
		require.NoError(t, wallet.AnswerRequest(ctx, http.DefaultClient, req, cred, key))
		res, err := b.Consent(ctx, true)
		require.NoError(t, err)
		require.Empty(t, res.Error)
		require.Equal(t, true, res.Claims["age_over_18"])
		require.NotEmpty(t, res.Subject)
		require.Equal(t, hitsA, c.lb.hits[0].Load(), "A saw nothing after the start")
		require.Greater(t, c.lb.hits[1].Load(), hitsB+2, "B finished it")
	})

	// Both servers' logs are the one log: same checkpoint size.
	s0, err := c.srv[0].Log.Size(ctx)
	require.NoError(t, err)
	s1, err := c.srv[1].Log.Size(ctx)
	require.NoError(t, err)
	require.Equal(t, s0, s1)
	require.Positive(t, s0)
}

// startPortalAt registers a sample portal at the cluster's public URL and
// serves it on loopback.
func startPortalAt(t *testing.T, c *cluster, sector string, claims []string) string {
	t.Helper()
	ctx := context.Background()
	hc := &http.Client{Timeout: 30 * time.Second}
	ps := httptest.NewUnstartedServer(nil)
	base := "http://" + ps.Listener.Addr().String()
	id, secret, err := portal.Register(ctx, hc, c.pub, c.srv[0].RegistrationToken, portal.Registration{
		RedirectURIs: []string{base + "/callback"}, ClientName: "Portal of " + sector, SectorIdentifier: sector,
		Manifest: map[string]any{"purpose": "Let adults into the " + sector + " community.", "claims": claims, "retention": "90 days", "framework": c.srv[0].Framework.ID},
	})
	require.NoError(t, err)
	p, err := portal.New(ctx, hc, c.pub, base, id, secret, append([]string{"openid"}, claims...))
	require.NoError(t, err)
	ps.Config.Handler = p.Handler()
	ps.Start()
	t.Cleanup(ps.Close)
	return base
}

// BenchmarkVerifyScaleOut measures the verification API (key-bound SD-JWT
// VC presentations, nonces in PostgreSQL) through one server and through
// two on one database, 8 clients spread over them. Presentations are made
// before the timer starts; verify/s is the figure (docs/performance.md).
func BenchmarkVerifyScaleOut(b *testing.B) {
	c := startCluster(b, pgtest.DSN(b))
	ctx := context.Background()
	w, pin, fw := c.enroll(b, 0)
	cred, key := c.persona(b, 0, w, pin, fw, "shop.example", []string{"age>=18"})
	tok, err := sdjwt.Parse(cred)
	require.NoError(b, err)
	const aud = "https://shop.example"
	for _, servers := range []int{1, 2} {
		b.Run(fmt.Sprintf("servers=%d", servers), func(b *testing.B) {
			type job struct{ vp, nonce string }
			jobs := make([]job, b.N)
			for i := range jobs {
				var preq verifier.PresentationRequestJSON
				require.NoError(b, c.client(i%servers).Post(ctx, "/v1/presentation-requests", verifier.RequestJSON{Audience: aud}, &preq))
				vp, err := tok.Present(sdjwt.PresentRequest{Disclose: []string{"age_over_18"}, Audience: aud, Nonce: preq.Nonce}, key)
				require.NoError(b, err)
				jobs[i] = job{vp, preq.Nonce}
			}
			clients := []*wallet.Client{c.client(0), c.client(1)}
			var next atomic.Int64
			b.ResetTimer()
			start, cpu, pgCPU := time.Now(), processCPU(), postgresCPU(b, c)
			var wg sync.WaitGroup
			for range 8 {
				wg.Go(func() {
					for {
						i := int(next.Add(1)) - 1
						if i >= len(jobs) {
							return
						}
						var v verifier.VerdictJSON
						if err := clients[i%servers].Post(ctx, "/v1/presentations/verify", verifier.VerifyJSON{Presentation: jobs[i].vp, Audience: aud, Scope: "shop.example", Nonce: jobs[i].nonce, RequiredClaims: []string{"age_over_18"}}, &v); err != nil || !v.Valid {
							b.Errorf("verify: %v", err)
							return
						}
					}
				})
			}
			wg.Wait()
			b.StopTimer()
			took := time.Since(start)
			b.ReportMetric(float64(b.N)/took.Seconds(), "verify/s")
			// Where the two cores went, per verification: this process
			// (servers and clients) and the PostgreSQL backends.
			b.ReportMetric(float64((processCPU()-cpu).Microseconds())/float64(b.N), "go-cpu-µs/op")
			b.ReportMetric(float64((postgresCPU(b, c)-pgCPU).Microseconds())/float64(b.N), "pg-cpu-µs/op")
		})
	}
}

// processCPU is this process's user and system CPU time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// postgresCPU is the CPU time of the PostgreSQL backends serving the
// cluster's database so far (0 where /proc does not tell: another host).
func postgresCPU(b *testing.B, c *cluster) time.Duration {
	rows, err := c.srv[0].Store.DB().QueryContext(context.Background(), `SELECT pid FROM pg_stat_activity WHERE datname = current_database()`)
	require.NoError(b, err)
	defer rows.Close()
	var total time.Duration
	for rows.Next() {
		var pid int
		require.NoError(b, rows.Scan(&pid))
		st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// Fields after the command's closing parenthesis: utime and stime
		// are the 12th and 13th, in clock ticks (100 per second on Linux).
		f := strings.Fields(string(st[bytes.LastIndexByte(st, ')')+1:]))
		if len(f) > 12 {
			u, _ := strconv.Atoi(f[11])
			s, _ := strconv.Atoi(f[12])
			total += time.Duration(u+s) * 10 * time.Millisecond
		}
	}
	return total
}

// `mustard serve` takes its store from --database, MUSTARD_DATABASE or
// the file's database, in that order: a PostgreSQL URL given either way
// wins over a bad value lower down, and the server's keys land in it.
func TestServeDatabaseSetting(t *testing.T) {
	dsn := pgtest.DSN(t)
	t.Setenv("MUSTARD_PASSPHRASE", "integration-test")
	dir := t.TempDir()
	require.NoError(t, os.CopyFS(filepath.Join(dir, "zk"), os.DirFS(filepath.Join(env.dir, "zk"))))
	config := filepath.Join(dir, "mustard.yaml")
	require.NoError(t, os.WriteFile(config, []byte("data: "+dir+"\naddr: 127.0.0.1:0\ndatabase: mysql://nobody@nowhere/x\n"), 0o600))
	for _, c := range []struct {
		env  string
		args []string
	}{
		{dsn, nil}, // environment over file
		{"sqlite://no", []string{"--database", dsn}}, // flag over environment
	} {
		t.Setenv("MUSTARD_DATABASE", c.env)
		ctx, cancel := context.WithCancel(context.Background())
		var stdout, stderr syncBuffer
		done := make(chan int, 1)
		go func() {
			done <- cli.Main(ctx, append([]string{"serve", "--config", config}, c.args...), &stdout, &stderr)
		}()
		require.Eventually(t, func() bool { return strings.Contains(stdout.String(), "serving on") }, time.Minute, 50*time.Millisecond,
			"serve did not start: %s %s", stdout.String(), stderr.String())
		cancel()
		select {
		case code := <-done:
			require.Equal(t, 0, code, stderr.String())
		case <-time.After(30 * time.Second):
			t.Fatal("serve did not shut down")
		}
	}
	_, err := os.Stat(filepath.Join(dir, "mustard.db"))
	require.ErrorIs(t, err, os.ErrNotExist, "no SQLite store was made")
	st, err := postgres.Open(context.Background(), dsn)
	require.NoError(t, err)
	defer st.Close()
	_, err = st.Secret(context.Background(), "keys")
	require.NoError(t, err, "the sealed keys are in PostgreSQL")
}

// A database setting that is neither sqlite nor a postgres URL is refused
// in one line that does not repeat it (it may hold a password).
func TestServeBadDatabase(t *testing.T) {
	var stdout, stderr syncBuffer
	code := cli.Main(context.Background(), []string{"serve", "--data", t.TempDir(), "--addr", "127.0.0.1:0", "--database", "mysql://root:hunter2@db/x"}, &stdout, &stderr)
	require.Equal(t, 1, code)
	require.Equal(t, 1, strings.Count(strings.TrimSpace(stderr.String()), "\n")+1, "%q", stderr.String())
	require.Contains(t, stderr.String(), "postgres://")
	require.NotContains(t, stderr.String()+stdout.String(), "hunter2")
}

// BenchmarkVerifyScaleOutPinned is BenchmarkVerifyScaleOut with each
// server a `mustard serve` process of its own pinned to one core (taskset):
// one server on core 0, then servers on cores 0 and 1, the clients and
// PostgreSQL unpinned. It models servers that each have a core, which is
// what scaling out buys, on a machine that has two in all.
func BenchmarkVerifyScaleOutPinned(b *testing.B) {
	if _, err := exec.LookPath("taskset"); err != nil {
		b.Skip("no taskset")
	}
	dsn := pgtest.DSN(b)
	c := startCluster(b, dsn) // keys, framework and a credential, in-process
	ctx := context.Background()
	w, pin, fw := c.enroll(b, 0)
	cred, key := c.persona(b, 0, w, pin, fw, "shop.example", []string{"age>=18"})
	tok, err := sdjwt.Parse(cred)
	require.NoError(b, err)
	bin := filepath.Join(b.TempDir(), "mustard")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/mustard-id/mustard/cmd/mustard").CombinedOutput()
	require.NoError(b, err, "%s", out)

	var bases []string
	for core := range 2 {
		dir := b.TempDir()
		require.NoError(b, os.CopyFS(filepath.Join(dir, "zk"), os.DirFS(filepath.Join(env.dir, "zk"))))
		require.NoError(b, os.WriteFile(filepath.Join(dir, "trust-framework.jws"), c.srv[0].Signed, 0o644))
		cmd := exec.Command("taskset", "-c", strconv.Itoa(core), bin, "serve", "--data", dir, "--database", dsn,
			"--addr", "127.0.0.1:0", "--public-url", c.pub, "--log-level", "error", "--rate-limit", "0") // one load generator, one client address
		cmd.Env = append(os.Environ(), "MUSTARD_PASSPHRASE=scale-out", "GOMAXPROCS=1")
		var stdout syncBuffer
		cmd.Stdout, cmd.Stderr = &stdout, &stdout
		require.NoError(b, cmd.Start())
		b.Cleanup(func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() })
		re := regexp.MustCompile(`serving on (http://127\.0\.0\.1:\d+)`)
		require.Eventually(b, func() bool { return re.MatchString(stdout.String()) }, 2*time.Minute, 50*time.Millisecond, "serve: %s", stdout.String())
		bases = append(bases, re.FindStringSubmatch(stdout.String())[1])
	}
	const aud = "https://shop.example"
	for _, servers := range []int{1, 2} {
		b.Run(fmt.Sprintf("servers=%d", servers), func(b *testing.B) {
			clients := make([]*wallet.Client, servers)
			for i := range clients {
				clients[i] = &wallet.Client{BaseURL: bases[i], HTTP: &http.Client{Timeout: time.Minute}}
			}
			type job struct{ vp, nonce string }
			jobs := make([]job, b.N)
			for i := range jobs {
				var preq verifier.PresentationRequestJSON
				require.NoError(b, clients[i%servers].Post(ctx, "/v1/presentation-requests", verifier.RequestJSON{Audience: aud}, &preq))
				vp, err := tok.Present(sdjwt.PresentRequest{Disclose: []string{"age_over_18"}, Audience: aud, Nonce: preq.Nonce}, key)
				require.NoError(b, err)
				jobs[i] = job{vp, preq.Nonce}
			}
			var next atomic.Int64
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for range 8 {
				wg.Go(func() {
					for {
						i := int(next.Add(1)) - 1
						if i >= len(jobs) {
							return
						}
						var v verifier.VerdictJSON
						if err := clients[i%servers].Post(ctx, "/v1/presentations/verify", verifier.VerifyJSON{Presentation: jobs[i].vp, Audience: aud, Scope: "shop.example", Nonce: jobs[i].nonce, RequiredClaims: []string{"age_over_18"}}, &v); err != nil || !v.Valid {
							b.Errorf("verify: %v", err)
							return
						}
					}
				})
			}
			wg.Wait()
			b.StopTimer()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "verify/s")
		})
	}
}
