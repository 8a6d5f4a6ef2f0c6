// Package bench measures a Mustard server end to end on this machine, the
// way its users meet it: over loopback HTTP, with real keys, proofs and
// signatures. `mustard bench` runs it and writes a JSON report and a PNG
// chart. Load stays on loopback and every phase is bounded in count and
// time.
package bench

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/frontend"
	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/mustard-id/mustard/circuits/persona"
	"github.com/mustard-id/mustard/coreid"
	"github.com/mustard-id/mustard/internal/keystore"
	"github.com/mustard-id/mustard/internal/portal"
	"github.com/mustard-id/mustard/internal/sdjwt"
	"github.com/mustard-id/mustard/internal/server"
	"github.com/mustard-id/mustard/internal/trust"
	wallet "github.com/mustard-id/mustard/persona"
	"github.com/mustard-id/mustard/verifier"
	"github.com/mustard-id/mustard/zk"
)

// Options bound a run.
type Options struct {
	DataDir  string        // reused if it holds circuit keys (no setup)
	Out      io.Writer     // progress
	Quick    bool          // a smaller run, for tests
	PhaseMax time.Duration // each phase stops after this long (default 20 s)
	// Population, when set, measures two populations: Base (default
	// 10,000) core identities and as many revocations, and Population of
	// each, in data directories of their own under DataDir (base/ and
	// population/, loaded in bulk by Populate the first time, reused
	// after), Rounds times (default 2) alternately, so that both meet the
	// same load from whatever else runs on the machine. Each level's
	// figure is its best over the rounds; Scale compares them.
	Population int
	Base       int
	Rounds     int
}

// Figure is one measured quantity.
type Figure struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`
	N     int     `json:"n"` // how many operations it was measured over
	Note  string  `json:"note,omitempty"`
}

// Report is a run's result.
type Report struct {
	Time     time.Time `json:"time"`
	Machine  string    `json:"machine"`
	Figures  []Figure  `json:"figures"`
	Duration float64   `json:"duration_s"`
	// Levels and Scale are a population run's: the figures at each
	// population, and each figure's degradation from the first to the last.
	Levels []Level   `json:"levels,omitempty"`
	Scale  []Compare `json:"scale,omitempty"`
}

// Level is the figures measured with a population in the store: in one
// round, or (Best) the best of every round.
type Level struct {
	Identities  int      `json:"identities"`
	Revocations int      `json:"revocations"`
	Round       int      `json:"round,omitempty"` // 0: the best of all rounds
	Load        float64  `json:"load,omitempty"`  // the machine's 1-minute load average when the round began
	Figures     []Figure `json:"figures"`
}

// Compare is one figure at the smallest and the largest population.
// Degradation is how many times worse the figure is at the largest: the
// small figure over the large one for rates (/s), the large over the
// small for times and sizes; below 1 is better.
type Compare struct {
	Name        string  `json:"name"`
	Unit        string  `json:"unit"`
	Small       float64 `json:"small"`
	Large       float64 `json:"large"`
	Degradation float64 `json:"degradation"`
}

func (r *Report) add(f Figure) { r.Figures = append(r.Figures, f) }

// Run starts a server and measures it.
func Run(ctx context.Context, opts Options) (*Report, error) {
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	if opts.PhaseMax == 0 {
		opts.PhaseMax = 20 * time.Second
	}
	start := time.Now()
	say := func(format string, args ...any) {
		fmt.Fprintf(opts.Out, "  [%5.1fs] "+format+"\n", append([]any{time.Since(start).Seconds()}, args...)...)
	}
	rep := &Report{Time: start.UTC(), Machine: fmt.Sprintf("%s/%s, %d CPUs", runtime.GOOS, runtime.GOARCH, runtime.NumCPU())}
	if opts.Population == 0 {
		lvl, err := measure(ctx, opts, say, 0)
		if err != nil {
			return nil, err
		}
		rep.Figures = lvl.Figures
		rep.Duration = time.Since(start).Seconds()
		return rep, nil
	}
	if opts.Base == 0 {
		opts.Base = 10000
	}
	if opts.Rounds == 0 {
		opts.Rounds = 2
	}
	if opts.Population < opts.Base {
		return nil, fmt.Errorf("bench: population %d is below the base %d", opts.Population, opts.Base)
	}
	dirs := []string{filepath.Join(opts.DataDir, "base"), filepath.Join(opts.DataDir, "population")}
	sizes := []int{opts.Base, opts.Population}
	for i, dir := range dirs {
		if i == 1 {
			// The circuit keys of the first, not a second setup.
			if _, err := os.Stat(filepath.Join(dir, "zk")); errors.Is(err, fs.ErrNotExist) {
				if err := os.CopyFS(filepath.Join(dir, "zk"), os.DirFS(filepath.Join(dirs[0], "zk"))); err != nil {
					return nil, err
				}
			}
		}
		if err := populateTo(ctx, dir, sizes[i], say); err != nil {
			return nil, err
		}
	}
	var rounds [2][]Level
	for r := 1; r <= opts.Rounds; r++ {
		for i, dir := range dirs {
			o := opts
			o.DataDir = dir
			say("round %d of %d: %d identities and revocations", r, opts.Rounds, sizes[i])
			load := loadAverage()
			lvl, err := measure(ctx, o, say, sizes[i])
			if err != nil {
				return nil, err
			}
			lvl.Identities, lvl.Revocations, lvl.Round, lvl.Load = sizes[i], sizes[i], r, load
			rounds[i] = append(rounds[i], *lvl)
			rep.Levels = append(rep.Levels, *lvl)
		}
	}
	best := [2]Level{}
	for i := range best {
		best[i] = Level{Identities: sizes[i], Revocations: sizes[i], Figures: bestOf(rounds[i])}
	}
	rep.Levels = append(rep.Levels, best[0], best[1])
	rep.Figures = best[1].Figures
	rep.Scale = compare(best[0].Figures, best[1].Figures)
	per := func(name string) (float64, bool) {
		var a, b float64
		for _, f := range best[0].Figures {
			if f.Name == name {
				a = f.Value
			}
		}
		for _, f := range best[1].Figures {
			if f.Name == name {
				b = f.Value
			}
		}
		d := opts.Population - opts.Base
		return (b - a) / float64(d) * 1e5, d > 0 && a > 0 && b > 0
	}
	if v, ok := per("server heap"); ok {
		rep.add(Figure{Name: "server heap per 100k identities + 100k revocations", Value: v, Unit: "MiB", N: opts.Population - opts.Base, Note: "growth between the two populations"})
	}
	if v, ok := per("store size"); ok {
		rep.add(Figure{Name: "store per 100k identities + 100k revocations", Value: v, Unit: "MiB", N: opts.Population - opts.Base, Note: "database growth between the two populations (rows, indexes, log leaves and nodes)"})
	}
	rep.Duration = time.Since(start).Seconds()
	return rep, nil
}

// bestOf is each figure's best over rounds: the highest rate, the lowest
// time or size.
func bestOf(rounds []Level) []Figure {
	var out []Figure
	for _, f := range rounds[0].Figures {
		b := f
		for _, l := range rounds[1:] {
			for _, g := range l.Figures {
				if g.Name != f.Name {
					continue
				}
				if (f.Unit == "/s") == (g.Value > b.Value) {
					b = g
				}
			}
		}
		out = append(out, b)
	}
	return out
}

// loadAverage is the machine's 1-minute load average (0 where unknown).
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	var l float64
	_, _ = fmt.Sscan(string(b), &l)
	return l
}

// populateTo brings the data directory dir to want core identities and
// revocations (counted by revocations), in bulk.
func populateTo(ctx context.Context, dir string, want int, say func(string, ...any)) error {
	srv, err := server.Open(ctx, server.Options{DataDir: dir, PublicURL: "http://127.0.0.1", Progress: func(s string) { say("%s", s) }})
	if err != nil {
		return err
	}
	defer srv.Close()
	var have int
	if err := srv.Store.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM revocations`).Scan(&have); err != nil {
		return err
	}
	if have >= want {
		say("population: %s already holds %d revocations", dir, have)
		return nil
	}
	say("population: adding %d core identities and %d revocations in bulk to %s", want-have, want-have, dir)
	t0 := time.Now()
	last := time.Now()
	err = Populate(ctx, srv, have, want-have, want-have, func(done, total int) {
		if time.Since(last) > 5*time.Second || done == total {
			last = time.Now()
			say("population: %d / %d rows", done, total)
		}
	})
	if err != nil {
		return err
	}
	say("population: %d identities and %d revocations in store (%.1f s)", want, want, time.Since(t0).Seconds())
	return nil
}

// compare pairs the figures of two levels by name.
func compare(small, large []Figure) []Compare {
	var out []Compare
	for _, a := range small {
		for _, b := range large {
			if a.Name != b.Name || a.Value == 0 || b.Value == 0 {
				continue
			}
			c := Compare{Name: a.Name, Unit: a.Unit, Small: a.Value, Large: b.Value, Degradation: b.Value / a.Value}
			if a.Unit == "/s" {
				c.Degradation = a.Value / b.Value
			}
			out = append(out, c)
		}
	}
	return out
}

// measure opens a server on the data directory (holding a population of
// want, or 0: whatever it holds) and runs every phase against it.
func measure(ctx context.Context, opts Options, say func(string, ...any), want int) (*Level, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	base := "http://" + ln.Addr().String()
	runtime.GC()
	t0 := time.Now()
	srv, err := server.Open(ctx, server.Options{DataDir: opts.DataDir, PublicURL: base, Progress: func(s string) { say("%s", s) }})
	if err != nil {
		ln.Close()
		return nil, err
	}
	opened := time.Since(t0)
	defer srv.Close()
	// The revocation tree loads in the background: time it too.
	if err := srv.Provider.Ready(); err != nil {
		ln.Close()
		return nil, err
	}
	treeReady := time.Since(t0)
	runtime.GC()
	var mem runtime.MemStats
	runtime.ReadMemStats(&mem)
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	defer hs.Close()

	b := &run{opts: opts, srv: srv, base: base, say: say, hc: &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
	b.c = &wallet.Client{BaseURL: base, HTTP: b.hc}
	rep := &Report{}
	if want > 0 {
		say("server: opened with %d identities and %d revocations in %.2f s (revocation tree in %.2f s), heap %.1f MiB", want, want, opened.Seconds(), treeReady.Seconds(), float64(mem.HeapAlloc)/(1<<20))
		rep.add(Figure{Name: "server start", Value: opened.Seconds() * 1000, Unit: "ms", N: 1, Note: "server.Open: keys, store; serving from here"})
		rep.add(Figure{Name: "revocation tree ready", Value: treeReady.Seconds() * 1000, Unit: "ms", N: 1, Note: "from the start: the tree built from the store in the background (revocation snapshot, issuance and self-issued proofs wait for it)"})
		rep.add(Figure{Name: "server heap", Value: float64(mem.HeapAlloc) / (1 << 20), Unit: "MiB", N: 1, Note: "live heap of the bench process after opening, after a GC"})
		rep.add(Figure{Name: "store size", Value: float64(b.dbSize(ctx)) / (1 << 20), Unit: "MiB", N: 1, Note: "SQLite database, WAL checkpointed"})
	}
	for _, phase := range []func(context.Context, *Report) error{b.enrollments, b.personas, b.verifications, b.logins} {
		if err := phase(ctx, rep); err != nil {
			return nil, err
		}
	}
	return &Level{Figures: rep.Figures}, nil
}

type run struct {
	opts Options
	srv  *server.Server
	base string
	say  func(string, ...any)
	hc   *http.Client
	c    *wallet.Client

	fw    *trust.Document
	creds []issued // persona credentials for shop.example
	proof *persona.ProofJSON
}

type issued struct {
	cred string
	key  jwk.Key
}

func (b *run) n(full, quick int) int {
	if b.opts.Quick {
		return quick
	}
	return full
}

// parallel runs op n times on workers goroutines, or until the phase's
// time is up, and returns the latencies of the operations that ran.
func (b *run) parallel(ctx context.Context, n, workers int, op func(i int) error) ([]time.Duration, time.Duration, error) {
	var next atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	var firstErr error
	deadline := time.Now().Add(b.opts.PhaseMax)
	t0 := time.Now()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil && time.Now().Before(deadline) {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				s := time.Now()
				err := op(i)
				d := time.Since(s)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				lat = append(lat, d)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return lat, time.Since(t0), firstErr
}

func percentile(lat []time.Duration, p float64) float64 {
	if len(lat) == 0 {
		return 0
	}
	s := slices.Clone(lat)
	slices.Sort(s)
	return float64(s[min(len(s)-1, int(float64(len(s))*p))].Microseconds()) / 1000
}

func randomHex() string {
	n, _ := rand.Int(rand.Reader, fr.Modulus())
	var e fr.Element
	e.SetBigInt(n)
	return zk.Hex(e)
}

var counter atomic.Int64

// enrollments: JWT-VC enrollments over HTTP, and what 100,000 core
// identities cost in the store.
func (b *run) enrollments(ctx context.Context, rep *Report) error {
	gov, err := b.c.Governance(ctx)
	if err != nil {
		return err
	}
	if b.fw, err = b.c.Framework(ctx, gov); err != nil {
		return err
	}
	n := b.n(3000, 200)
	b.say("enrollment: %d JWT-VC enrollments over HTTP, 4 at a time", n)
	now := time.Now()
	sources := make([]string, n)
	for i := range sources {
		claims := map[string]any{"personal_number": fmt.Sprintf("BENCH-%d-%d", now.UnixNano(), counter.Add(1)), "birthdate": "1990-01-01", "nationality": "NL"}
		if sources[i], err = coreid.SignJWTVC(b.srv.SampleSource, server.SampleSourceID, "did:example:bench", []string{"PersonIdentificationData"}, claims, now, now.Add(time.Hour)); err != nil {
			return err
		}
	}
	dbBefore := b.dbSize(ctx)
	lat, took, err := b.parallel(ctx, n, 4, func(i int) error {
		_, err := b.c.Enroll(ctx, coreid.EnrollBody{Source: sources[i], Commitment: randomHex(), DeviceKeyHash: randomHex()})
		return err
	})
	if err != nil {
		return fmt.Errorf("enrollment: %w", err)
	}
	rep.add(Figure{Name: "enrollments", Value: float64(len(lat)) / took.Seconds(), Unit: "/s", N: len(lat), Note: "JWT-VC source, over HTTP, 4 clients"})
	rep.add(Figure{Name: "enrollment p95", Value: percentile(lat, .95), Unit: "ms", N: len(lat)})
	if grew := b.dbSize(ctx) - dbBefore; grew > 0 && len(lat) > 0 {
		rep.add(Figure{Name: "store per 100k identities", Value: float64(grew) / float64(len(lat)) * 1e5 / (1 << 20), Unit: "MiB", N: len(lat), Note: "extrapolated from the database's growth (identities, log)"})
	}
	return nil
}

// dbSize is the database's size once its write-ahead log is checkpointed
// (the WAL holds page images, not data).
func (b *run) dbSize(ctx context.Context) int64 {
	_, _ = b.srv.Store.DB().ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`)
	st, err := os.Stat(filepath.Join(b.opts.DataDir, "mustard.db"))
	if err != nil {
		return 0
	}
	return st.Size()
}

// personas: derive personas (a Groth16 proof each) and have them issued.
func (b *run) personas(ctx context.Context, rep *Report) error {
	pin := []byte("000000")
	w, err := wallet.Create(keystore.NewSoftware(), pin)
	if err != nil {
		return err
	}
	comm, err := w.Commitment(pin)
	if err != nil {
		return err
	}
	now := time.Now()
	src, err := coreid.SignJWTVC(b.srv.SampleSource, server.SampleSourceID, "did:example:bench", []string{"PersonIdentificationData"},
		map[string]any{"personal_number": fmt.Sprintf("BENCH-P-%d", now.UnixNano()), "birthdate": "1990-01-01", "nationality": "NL"}, now, now.Add(time.Hour))
	if err != nil {
		return err
	}
	e, err := b.c.Enroll(ctx, coreid.EnrollBody{Source: src, Commitment: zk.Hex(comm), DeviceKeyHash: zk.Hex(w.DeviceKeyHash())})
	if err != nil {
		return err
	}
	if err := w.Accept(pin, b.fw, e); err != nil {
		return err
	}
	// The wallet's revocation cache: the whole tree once, then only the
	// entries added since (an enrollment phase revokes nothing, so here
	// usually none).
	rc := &wallet.RevocationCache{}
	t0 := time.Now()
	if err := rc.Sync(ctx, b.c); err != nil {
		return err
	}
	rep.add(Figure{Name: "wallet first revocation sync", Value: float64(time.Since(t0).Microseconds()) / 1000, Unit: "ms", N: 1, Note: fmt.Sprintf("download %d entries in pages and build the tree, once per wallet", rc.Len())})
	n := b.n(20, 3)
	b.say("personas: %d derivations (Groth16 proof of %d constraints) and issuances", n, b.srv.Keys.CCS.GetNbConstraints())
	var syncLat []time.Duration
	var proveLat, issueLat []time.Duration
	deadline := time.Now().Add(b.opts.PhaseMax * 2)
	for i := 0; i < n && time.Now().Before(deadline); i++ {
		nonce, err := b.c.Nonce(ctx, "shop.example")
		if err != nil {
			return err
		}
		ts := time.Now()
		if err := rc.Sync(ctx, b.c); err != nil {
			return err
		}
		syncLat = append(syncLat, time.Since(ts))
		key, err := wallet.NewPersonaKey()
		if err != nil {
			return err
		}
		t0 := time.Now()
		proof, err := w.DeriveCached(ctx, b.srv.Keys, pin, b.fw, rc, key, wallet.Query{Scope: "shop.example", Nonce: nonce, MinGrade: zk.GradeSubstantial, Predicates: []string{"age>=18"}, Now: time.Now()})
		if err != nil {
			return err
		}
		proveLat = append(proveLat, time.Since(t0))
		b.proof = proof
		t1 := time.Now()
		iss, err := b.c.Issue(ctx, b.srv.Issuer.ID(), proof, key)
		if err != nil {
			return err
		}
		issueLat = append(issueLat, time.Since(t1))
		b.creds = append(b.creds, issued{iss.Credential, key})
	}
	rep.add(Figure{Name: "persona proof p50", Value: percentile(proveLat, .5), Unit: "ms", N: len(proveLat), Note: "wallet: witness (revocation path from the cached tree) + Groth16 prove"})
	rep.add(Figure{Name: "persona proof p95", Value: percentile(proveLat, .95), Unit: "ms", N: len(proveLat)})
	rep.add(Figure{Name: "wallet revocation update p50", Value: percentile(syncLat, .5), Unit: "ms", N: len(syncLat), Note: "GET /v1/revocations?since=N before each derivation"})
	var sum time.Duration
	for _, d := range issueLat {
		sum += d
	}
	rep.add(Figure{Name: "issuance", Value: float64(len(issueLat)) / sum.Seconds(), Unit: "/s", N: len(issueLat), Note: "one at a time: proof verify + SD-JWT VC sign, over HTTP"})
	return nil
}

// verifications: key-bound SD-JWT VC presentations through the
// verification API, and Groth16 proofs verified singly and in a batch.
func (b *run) verifications(ctx context.Context, rep *Report) error {
	n := b.n(3000, 100)
	b.say("verification: %d presentations through the verification API, 4 at a time", n)
	type job struct{ vp, nonce string }
	jobs := make([]job, n)
	aud := "https://shop.example"
	for i := range jobs {
		var preq verifier.PresentationRequestJSON
		if err := b.c.Post(ctx, "/v1/presentation-requests", verifier.RequestJSON{Audience: aud}, &preq); err != nil {
			return err
		}
		cr := b.creds[i%len(b.creds)]
		tok, err := sdjwt.Parse(cr.cred)
		if err != nil {
			return err
		}
		vp, err := tok.Present(sdjwt.PresentRequest{Disclose: []string{"age_over_18"}, Audience: aud, Nonce: preq.Nonce}, cr.key)
		if err != nil {
			return err
		}
		jobs[i] = job{vp, preq.Nonce}
	}
	lat, took, err := b.parallel(ctx, n, 4, func(i int) error {
		var v verifier.VerdictJSON
		return b.c.Post(ctx, "/v1/presentations/verify", verifier.VerifyJSON{Presentation: jobs[i].vp, Audience: aud, Scope: "shop.example", Nonce: jobs[i].nonce, RequiredClaims: []string{"age_over_18"}}, &v)
	})
	if err != nil {
		return fmt.Errorf("verification: %w", err)
	}
	rep.add(Figure{Name: "SD-JWT VC verifications", Value: float64(len(lat)) / took.Seconds(), Unit: "/s", N: len(lat), Note: "verification API over HTTP, 4 clients"})
	rep.add(Figure{Name: "verification p99", Value: percentile(lat, .99), Unit: "ms", N: len(lat)})

	// Groth16: one proof at a time vs a batch, in process.
	k := b.n(64, 8)
	b.say("proof verification: %d Groth16 proofs singly and in one batch", k)
	proof, pub, err := b.someProof(ctx)
	if err != nil {
		return err
	}
	t0 := time.Now()
	for range k {
		if err := b.srv.Keys.Verify(proof, pub); err != nil {
			return err
		}
	}
	single := time.Since(t0)
	proofs := make([]zk.BatchItem, k)
	for i := range proofs {
		proofs[i] = zk.BatchItem{Proof: proof, Public: pub}
	}
	t1 := time.Now()
	if err := b.srv.Keys.BatchVerify(proofs); err != nil {
		return err
	}
	batched := time.Since(t1)
	rep.add(Figure{Name: "proof verifications", Value: float64(k) / single.Seconds(), Unit: "/s", N: k, Note: "Groth16, one at a time"})
	rep.add(Figure{Name: "proof verifications (batched)", Value: float64(k) / batched.Seconds(), Unit: "/s", N: k, Note: fmt.Sprintf("one batch of %d: %.1fx", k, single.Seconds()/batched.Seconds())})
	return nil
}

// logins: whole OpenID Connect sign-ins with a persona.
func (b *run) logins(ctx context.Context, rep *Report) error {
	n := b.n(300, 20)
	b.say("OIDC: %d sign-ins of a sample portal with a persona, 4 at a time", n)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	portalURL := "http://" + ln.Addr().String()
	id, secret, err := portal.Register(ctx, b.hc, b.base, b.srv.RegistrationToken, portal.Registration{
		RedirectURIs: []string{portalURL + "/callback"}, ClientName: "Bench portal", SectorIdentifier: "shop.example",
		Manifest: map[string]any{"purpose": "Benchmark.", "claims": []string{"age_over_18"}, "retention": "none", "framework": b.fw.ID},
	})
	if err != nil {
		ln.Close()
		return err
	}
	p, err := portal.New(ctx, b.hc, b.base, portalURL, id, secret, []string{"openid", "age_over_18"})
	if err != nil {
		ln.Close()
		return err
	}
	hs := &http.Server{Handler: p.Handler()}
	go func() { _ = hs.Serve(ln) }()
	defer hs.Close()
	lat, took, err := b.parallel(ctx, n, 4, func(i int) error {
		cr := b.creds[i%len(b.creds)]
		br := portal.NewBrowser()
		link, err := br.SignIn(ctx, portalURL)
		if err != nil {
			return err
		}
		req, err := wallet.FetchRequest(ctx, b.hc, link)
		if err != nil {
			return err
		}
		if err := wallet.AnswerRequest(ctx, b.hc, req, cr.cred, cr.key); err != nil {
			return err
		}
		res, err := br.Consent(ctx, true)
		if err != nil {
			return err
		}
		if res.Error != "" || res.Claims["age_over_18"] != true {
			return errors.New("sign-in did not yield age_over_18: " + res.Error)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("oidc: %w", err)
	}
	rep.add(Figure{Name: "OIDC sign-ins", Value: float64(len(lat)) / took.Seconds(), Unit: "/s", N: len(lat), Note: "authorize, present, consent, token, ID token verified; 4 browsers"})
	rep.add(Figure{Name: "OIDC sign-in p50", Value: percentile(lat, .5), Unit: "ms", N: len(lat)})
	rep.add(Figure{Name: "OIDC sign-in p95", Value: percentile(lat, .95), Unit: "ms", N: len(lat)})
	return nil
}

// someProof is a persona proof made in the personas phase, and its public
// inputs.
func (b *run) someProof(context.Context) ([]byte, frontend.Circuit, error) {
	st, err := persona.Decode(b.proof)
	if err != nil {
		return nil, nil, err
	}
	return st.Proof, persona.PublicAssignment(&st.Public), nil
}

// WriteJSON writes the report.
func (r *Report) WriteJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
