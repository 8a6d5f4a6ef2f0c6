package cli

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/spf13/cobra"

	"github.com/mustard-id/mustard/coreid"
	"github.com/mustard-id/mustard/internal/keystore"
	"github.com/mustard-id/mustard/internal/portal"
	"github.com/mustard-id/mustard/internal/sdjwt"
	"github.com/mustard-id/mustard/internal/server"
	"github.com/mustard-id/mustard/internal/tlog"
	"github.com/mustard-id/mustard/internal/trust"
	"github.com/mustard-id/mustard/persona"
	"github.com/mustard-id/mustard/verifier"
	"github.com/mustard-id/mustard/zk"
)

func newDemoCmd() *cobra.Command {
	var data string
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Walk the whole story once: enroll, derive a persona, issue, present, verify",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			// The story tells what happens; the servers' info logs would
			// only interleave with it.
			slog.SetDefault(slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn})))
			if data == "" {
				dir, err := os.MkdirTemp("", "mustard-demo-")
				if err != nil {
					return err
				}
				defer os.RemoveAll(dir)
				data = dir
			}
			fmt.Fprintln(out, "Starting a Mustard server on a free loopback port (data in "+data+")")
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				return err
			}
			defer ln.Close()
			srv, err := server.Open(cmd.Context(), server.Options{DataDir: data, Progress: progress(out), PublicURL: "http://" + ln.Addr().String()})
			if err != nil {
				return err
			}
			defer srv.Close()
			ctx, cancel := context.WithCancel(cmd.Context())
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- serveUntilDone(ctx, srv.Handler(), ln, io.Discard) }()
			err = Story(cmd.Context(), out, "http://"+ln.Addr().String(), srv)
			cancel()
			<-done
			if err != nil {
				return fmt.Errorf("the demo failed: %w", err)
			}
			fmt.Fprintln(out, "\nEvery step held.")
			return nil
		},
	}
	cmd.Flags().StringVar(&data, "data", "", "data directory (default: a temporary one, removed afterwards)")
	return cmd
}

// Story walks the foundation story against a running server at base and
// returns an error at the first step that does not hold.
func Story(ctx context.Context, out io.Writer, base string, srv *server.Server) error {
	step := 0
	say := func(format string, args ...any) {
		step++
		fmt.Fprintf(out, "\n%d. "+format+"\n", append([]any{step}, args...)...)
	}
	ok := func(format string, args ...any) { fmt.Fprintf(out, "   ✓ "+format+"\n", args...) }
	c := &persona.Client{BaseURL: base, HTTP: &http.Client{Timeout: time.Minute}}

	gov, err := c.Governance(ctx)
	if err != nil {
		return err
	}
	fw, err := c.Framework(ctx, gov)
	if err != nil {
		return err
	}

	say("A sample government issuer, accredited at grade \"high\" in the trust framework, issues a JWT-VC.")
	now := time.Now()
	person := map[string]any{"personal_number": fmt.Sprintf("NL-BSN-%09d", rand.IntN(1e9)), "birthdate": "1990-04-12", "nationality": "NL", "given_name": "Sanne", "family_name": "de Vries", "resident_country": "NL"}
	sourceFor := func(holder string) (string, error) {
		return coreid.SignJWTVC(srv.SampleSource, server.SampleSourceID, holder, []string{"PersonIdentificationData"}, person, now, now.AddDate(5, 0, 0))
	}
	src, err := sourceFor("did:example:wallet-1")
	if err != nil {
		return err
	}
	ok("JWT-VC for subject born 1990-04-12, nationality NL (%d bytes, ES256)", len(src))

	say("The wallet creates its core secret and seals it.")
	sealer, err := keystore.Open(keystore.Options{Simulator: true, SimulatorSeed: rand.Int64(), AllowSoftware: true})
	if err != nil {
		return err
	}
	defer sealer.Close()
	pin := []byte(fmt.Sprintf("%06d", rand.IntN(1000000)))
	w, err := persona.Create(sealer, pin)
	if err != nil {
		return err
	}
	where := map[keystore.Kind]string{keystore.KindTPM: "the TPM at /dev/tpmrm0", keystore.KindSimulator: "a TPM 2.0 (the go-tpm-tools reference simulator, no /dev/tpmrm0 here)", keystore.KindSoftware: "the software keystore (lower grade)"}[sealer.Kind()]
	ok("sealed under a PIN by %s", where)

	say("The wallet enrolls: it proves its TPM genuine, then sends the source credential and only its commitment C = H(s).")
	comm, err := w.Commitment(pin)
	if err != nil {
		return err
	}
	ticket, err := w.Attest(ctx, c)
	if err != nil {
		return err
	}
	if ticket != "" {
		ok("the TPM proved its keys genuine: ActivateCredential of the provider's MakeCredential, and TPM2_Certify of the device key")
	}
	enr, err := c.Enroll(ctx, coreid.EnrollBody{Source: src, Commitment: zk.Hex(comm), DeviceKeyHash: zk.Hex(w.DeviceKeyHash()), Attestation: ticket})
	if err != nil {
		return err
	}
	if err := w.Accept(pin, fw, enr); err != nil {
		return err
	}
	ok("core credential received: EdDSA on BN254's twisted Edwards curve over a Poseidon2 hash, grade %s, expires %s",
		zk.GradeName(enr.Credential.Grade), time.Unix(enr.Credential.Expiry, 0).UTC().Format(time.DateOnly))
	again, err := sourceFor("did:example:wallet-2") // the same person, another holder identifier
	if err != nil {
		return err
	}
	if _, err := c.Enroll(ctx, coreid.EnrollBody{Source: again, Commitment: zk.Hex(comm), DeviceKeyHash: zk.Hex(w.DeviceKeyHash())}); !isProblem(err, coreid.ErrDuplicate.Type()) {
		return fmt.Errorf("a second enrollment of the same person was not refused: %v", err)
	}
	ok("enrolling the same person again, under another holder identifier, is refused: one core identity per person")

	say("The wallet derives a persona for shop.example, proving in zero knowledge: signed by a registry key, not revoked, pseudonym = H(s, scope), age >= 18.")
	shop, err := derive(ctx, c, srv, w, pin, fw, "shop.example", []string{"age>=18"}, out)
	if err != nil {
		return err
	}
	ok("the issuer verified the proof and issued an SD-JWT VC (%d bytes); pseudonym %s…", len(shop.credential), shop.pseudonym[:16])

	say("A relying party (https://shop.example) asks for a presentation and verifies it through the verification API.")
	var preq verifier.PresentationRequestJSON
	if err := c.Post(ctx, "/v1/presentation-requests", verifier.RequestJSON{Audience: "https://shop.example"}, &preq); err != nil {
		return err
	}
	tok, err := sdjwt.Parse(shop.credential)
	if err != nil {
		return err
	}
	vp, err := tok.Present(sdjwt.PresentRequest{Disclose: []string{"age_over_18"}, Audience: preq.Audience, Nonce: preq.Nonce}, shop.key)
	if err != nil {
		return err
	}
	vreq := verifier.VerifyJSON{Presentation: vp, Audience: preq.Audience, Scope: "shop.example", Nonce: preq.Nonce, MinGrade: "high", RequiredClaims: []string{"age_over_18"}}
	var verdict verifier.VerdictJSON
	if err := c.Post(ctx, "/v1/presentations/verify", vreq, &verdict); err != nil {
		return err
	}
	if !verdict.Valid || verdict.Claims["age_over_18"] != true || verdict.Pseudonym != shop.pseudonym {
		return errors.New("the verification API did not confirm age_over_18 for the persona")
	}
	ok("valid: age_over_18 = true, grade %s, scope %s — and nothing else about the person", verdict.Grade, verdict.Scope)
	if err := c.Post(ctx, "/v1/presentations/verify", vreq, &verdict); !isProblem(err, verifier.ErrNonce.Type()) {
		return fmt.Errorf("a replayed presentation was not refused: %v", err)
	}
	ok("replaying the same presentation is refused (the nonce is single-use)")

	say("The shop's web portal signs the person in through Mustard's OpenID Provider (go-oidc + x/oauth2, code flow with PKCE): the wallet presents the shop.example persona.")
	res, err := portalLogin(ctx, base, srv, shop)
	if err != nil {
		return err
	}
	if res.Subject != shop.pseudonym || res.Claims["age_over_18"] != true {
		return fmt.Errorf("the portal's sign-in did not yield the persona's pseudonym and age_over_18: %+v", res)
	}
	ok("signed in: sub %s… (pairwise: the persona's pseudonym for shop.example), acr %v, age_over_18 = true", res.Subject[:16], res.Claims["acr"])

	say("The same person derives a persona for forum.example.")
	forum, err := derive(ctx, c, srv, w, pin, fw, "forum.example", nil, out)
	if err != nil {
		return err
	}
	if forum.pseudonym == shop.pseudonym {
		return errors.New("two scopes gave the same pseudonym")
	}
	ok("pseudonym %s… differs from shop.example's %s…: the two personas cannot be linked", forum.pseudonym[:16], shop.pseudonym[:16])

	say("A tampered proof is rejected.")
	if !forum.tamperRejected {
		return errors.New("a tampered proof was accepted")
	}
	ok("flipping one bit of the Groth16 proof: the issuer answered %s", forum.tamperType)

	say("An auditor checks the transparency log from outside: signed checkpoint, every entry hashed, nothing but digests.")
	var key []byte
	if err := c.Get(ctx, "/v1/log/key", &key); err != nil {
		return err
	}
	cp, err := tlog.Audit(ctx, c.HTTP, base, &tlog.AuditState{VerifierKey: strings.TrimSpace(string(key))})
	if err != nil {
		return err
	}
	ok("log %s: %d entries (the framework, the enrollment, the portal's registration), root %x…", cp.Origin, cp.Size, cp.Root[:8])
	return nil
}

type derived struct {
	credential, pseudonym string
	key                   jwk.Key
	tamperRejected        bool
	tamperType            string
}

func isProblem(err error, typ string) bool {
	var pe *persona.ProblemError
	return errors.As(err, &pe) && pe.Type == typ
}

// derive proves a persona for scope and has the issuer issue its
// credential; on the way it sends a copy of the proof with one bit flipped,
// which the issuer must refuse (without consuming the nonce).
func derive(ctx context.Context, c *persona.Client, srv *server.Server, w *persona.Wallet, pin []byte, fw *trust.Document, scope string, preds []string, out io.Writer) (*derived, error) {
	nonce, err := c.Nonce(ctx, scope)
	if err != nil {
		return nil, err
	}
	snap, err := c.Revocations(ctx)
	if err != nil {
		return nil, err
	}
	key, err := persona.NewPersonaKey()
	if err != nil {
		return nil, err
	}
	start := time.Now()
	proof, err := w.Derive(ctx, srv.Keys, pin, fw, snap, key, persona.Query{Scope: scope, Nonce: nonce, MinGrade: zk.GradeHigh, Predicates: preds, Now: time.Now()})
	if err != nil {
		return nil, err
	}
	raw, _ := base64.RawURLEncoding.DecodeString(proof.Proof)
	fmt.Fprintf(out, "   ✓ Groth16 proof over %d constraints made in %.2fs (%d bytes)\n", srv.Keys.CCS.GetNbConstraints(), time.Since(start).Seconds(), len(raw))
	d := &derived{key: key}
	bad := *proof
	raw[len(raw)/2] ^= 1
	bad.Proof = base64.RawURLEncoding.EncodeToString(raw)
	_, err = c.Issue(ctx, srv.Issuer.ID(), &bad, key)
	var pe *persona.ProblemError
	if errors.As(err, &pe) && pe.Status < 500 {
		d.tamperRejected, d.tamperType = true, pe.Type
	}
	iss, err := c.Issue(ctx, srv.Issuer.ID(), proof, key)
	if err != nil {
		return nil, err
	}
	d.credential, d.pseudonym = iss.Credential, iss.Pseudonym
	return d, nil
}

// portalLogin registers a sample portal for sector shop.example, signs in
// through the OP with a browser, and answers the sign-in page's request
// with the persona, as the wallet does.
func portalLogin(ctx context.Context, base string, srv *server.Server, shop *derived) (*portal.Result, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	portalURL := "http://" + ln.Addr().String()
	hc := &http.Client{Timeout: 30 * time.Second}
	id, secret, err := portal.Register(ctx, hc, base, srv.RegistrationToken, portal.Registration{
		RedirectURIs: []string{portalURL + "/callback"}, ClientName: "Shop portal", SectorIdentifier: "shop.example",
		Manifest: map[string]any{"purpose": "Sell age-restricted goods to adults.", "claims": []string{"age_over_18"}, "retention": "for the session only", "framework": srv.Framework.ID},
	})
	if err != nil {
		ln.Close()
		return nil, err
	}
	p, err := portal.New(ctx, hc, base, portalURL, id, secret, []string{"openid", "age_over_18"})
	if err != nil {
		ln.Close()
		return nil, err
	}
	hs := &http.Server{Handler: p.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	defer hs.Close()
	b := portal.NewBrowser()
	link, err := b.SignIn(ctx, portalURL)
	if err != nil {
		return nil, err
	}
	req, err := persona.FetchRequest(ctx, hc, link)
	if err != nil {
		return nil, err
	}
	if err := persona.AnswerRequest(ctx, hc, req, shop.credential, shop.key); err != nil {
		return nil, err
	}
	return b.Consent(ctx, true)
}
