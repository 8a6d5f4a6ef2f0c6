package cli

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/spf13/cobra"

	"github.com/mustard-id/mustard/circuits/devicebound"
	circuit "github.com/mustard-id/mustard/circuits/persona"
	"github.com/mustard-id/mustard/internal/keystore"
	"github.com/mustard-id/mustard/internal/sdjwt"
	"github.com/mustard-id/mustard/internal/trust"
	"github.com/mustard-id/mustard/issuer"
	"github.com/mustard-id/mustard/persona"
	"github.com/mustard-id/mustard/zk"
)

func newWalletPersonaCmd(e *walletEnv) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "persona",
		Short: "Derive and list personas",
	}
	cmd.AddCommand(newWalletPersonaNewCmd(e), newWalletPersonaListCmd(e))
	return cmd
}

// personaJSON is a persona in --json output.
type personaJSON struct {
	ID         string   `json:"id"`
	Scope      string   `json:"scope"`
	Pseudonym  string   `json:"pseudonym"`
	Issuer     string   `json:"issuer"`
	Format     string   `json:"format"`
	Expires    string   `json:"expires"`
	Predicates []string `json:"predicates"`
	Disclosed  []string `json:"disclosed"`
	Created    string   `json:"created"`
	// DeviceBound: proved with this device's TPM key (--device-bound).
	DeviceBound bool `json:"device_bound,omitempty"`
}

func toPersonaJSON(r *persona.Record) personaJSON {
	nz := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	return personaJSON{ID: r.ID, Scope: r.Scope, Pseudonym: r.Pseudonym, Issuer: r.Issuer, Format: r.Format, Expires: unixTime(r.Expiry),
		Predicates: nz(r.Predicates), Disclosed: nz(r.Disclosed), Created: r.Created.UTC().Format(time.RFC3339), DeviceBound: r.DeviceBound}
}

func newWalletPersonaNewCmd(e *walletEnv) *cobra.Command {
	var scope, minGrade, keysDir string
	var preds, disclose []string
	var replace, vci, deviceBound bool
	var thresholdK int
	cmd := &cobra.Command{
		Use:   "new --scope SITE [--predicate age>=18 ...] [--disclose country ...]",
		Short: "Derive a persona for a site: prove in zero knowledge, get its credential from the issuer",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if scope == "" || len(scope) > 255 {
				return &usageError{"persona new needs --scope SITE (at most 255 characters), e.g. --scope shop.example"}
			}
			now := time.Now()
			for _, p := range preds {
				if _, err := persona.ParsePredicate(p, now); err != nil {
					return fmt.Errorf("%w (write age>=18, nationality=NL, birth_date<=2000-01-01 or residence_country in NL,BE)", err)
				}
			}
			for _, d := range disclose {
				if _, ok := zk.AttrByName(d); !ok {
					return fmt.Errorf("cannot disclose %q: it is not an attribute of the schema (%s)", d, attrNames())
				}
			}
			u, pin, done, err := e.unlock()
			if err != nil {
				return err
			}
			defer done()
			ctx := cmd.Context()
			if old, err := u.Persona(scope); err == nil && !replace {
				return fmt.Errorf("you already have a persona for %s (%s): pass --replace to get a new credential for it", scope, old.ID)
			} else if err != nil && !errors.Is(err, persona.ErrUnknownPerson) {
				return err
			}
			rec, proving, err := e.derivePersona(ctx, u, pin, deriveSpec{scope: scope, preds: preds, disclose: disclose, minGrade: minGrade, keysDir: keysDir, oid4vci: vci, deviceBound: deviceBound, threshold: thresholdK})
			if err != nil {
				return err
			}
			out := struct {
				personaJSON
				ProvingMS int64 `json:"proving_ms"`
			}{toPersonaJSON(rec), proving.Milliseconds()}
			return e.emit(out, func(w io.Writer) {
				fmt.Fprintf(w, "New persona %s for %s (proof made in %.1fs).\n", rec.ID, scope, proving.Seconds())
				fmt.Fprintf(w, "Pseudonym %s…: %s will recognize you; no other site can link it to you.\n", short(rec.Pseudonym), scope)
				if len(preds)+len(disclose) > 0 {
					fmt.Fprintf(w, "It proves %s and nothing else about you.\n", strings.Join(append(append([]string{}, preds...), disclose...), ", "))
				}
				fmt.Fprintf(w, "Its credential is valid until %s.\n", day(rec.Expiry))
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&scope, "scope", "", "the site the persona is for (its pseudonym is stable there and unlinkable elsewhere)")
	f.StringArrayVar(&preds, "predicate", nil, "what to prove, e.g. age>=18, nationality=NL, residence_country in NL,BE (repeatable)")
	f.StringArrayVar(&disclose, "disclose", nil, "an attribute to disclose, e.g. nationality (repeatable)")
	f.StringVar(&minGrade, "min-grade", "", "assurance grade to prove (default: your core credential's)")
	f.StringVar(&keysDir, "keys", "", "directory of the persona circuit's proving key (default $MUSTARD_ZK_KEYS, else WALLET/zk)")
	f.BoolVar(&replace, "replace", false, "replace the persona you already have for this scope")
	f.BoolVar(&vci, "oid4vci", false, "get the credential over OpenID for Verifiable Credential Issuance (offer, token, c_nonce, key proof) instead of POST /v1/persona")
	f.BoolVar(&deviceBound, "device-bound", false, "prove with this device's TPM key, so that only this device can derive it (the server must offer device-bound personas)")
	f.IntVar(&thresholdK, "threshold", 0, "prove that this many providers signed your core credential (k-of-n; the server must run serve --threshold K); default: the most the server accepts when you enrolled with --providers")
	return cmd
}

// deriveSpec is what a new persona proves.
type deriveSpec struct {
	scope           string
	preds, disclose []string
	minGrade        string // "" means the wallet's own grade
	keysDir         string
	oid4vci         bool // get the credential over OpenID4VCI
	deviceBound     bool // prove with the TPM's device key (circuits/devicebound)
	threshold       int  // K of a k-of-n proof (circuits/threshold); 0: automatic
}

// walletGrade is the grade the wallet's personas prove by default: the
// core credential's, but at most substantial when no TPM protects the
// secret (whatever the source's grade, the wallet does not claim more).
func walletGrade(u *persona.Unlocked) uint64 {
	g := u.Wallet.Core.Credential.Grade
	if u.Meta.Keystore == keystore.KindSoftware {
		g = min(g, zk.GradeSubstantial)
	}
	return g
}

// derivePersona proves a persona for spec, has the issuer issue its
// credential, checks it, and stores it (replacing any persona for the same
// scope).
func (e *walletEnv) derivePersona(ctx context.Context, u *persona.Unlocked, pin []byte, spec deriveSpec) (*persona.Record, time.Duration, error) {
	c, fw, err := walletFramework(ctx, u)
	if err != nil {
		return nil, 0, err
	}
	grade := walletGrade(u)
	if spec.minGrade != "" {
		if grade, err = zk.ParseGrade(spec.minGrade); err != nil {
			return nil, 0, &usageError{"the minimum grade must be low, substantial or high"}
		}
	}
	if spec.oid4vci && spec.deviceBound {
		return nil, 0, &usageError{"device-bound personas are not issued over OpenID4VCI yet: leave out --oid4vci"}
	}
	var kofn *thresholdProfile
	if !spec.deviceBound {
		if kofn, err = e.thresholdFor(ctx, c, u, spec.threshold); err != nil {
			return nil, 0, err
		}
	} else if spec.threshold != 0 {
		return nil, 0, &usageError{"choose --device-bound or --threshold, not both"}
	}
	var keys *zk.Keys
	if kofn != nil {
		keys = kofn.keys
	} else if spec.deviceBound {
		keys, err = e.deviceBoundKeys(ctx, c)
	} else {
		keys, err = e.provingKeys(ctx, c, spec.keysDir)
	}
	if err != nil {
		return nil, 0, err
	}
	rc, err := e.syncRevocations(ctx, u, c)
	if err != nil {
		return nil, 0, err
	}
	key, err := persona.NewPersonaKey()
	if err != nil {
		return nil, 0, err
	}
	var proving time.Duration
	var bound *devicebound.ProofJSON
	prove := func(nonce string) (*circuit.ProofJSON, error) {
		start := time.Now()
		defer func() { proving = time.Since(start) }()
		q := persona.Query{Scope: spec.scope, Nonce: nonce, MinGrade: grade, Predicates: spec.preds, Disclose: spec.disclose, Now: time.Now()}
		if spec.deviceBound {
			b, err := e.proveDeviceBound(ctx, u, pin, keys, fw, rc, key, q)
			if err != nil {
				return nil, keystoreHelp(err)
			}
			bound = b
			return &b.ProofJSON, nil
		}
		if kofn != nil {
			return e.proveThreshold(ctx, u, pin, kofn, fw, key, q)
		}
		var proof *circuit.ProofJSON
		err := e.withProgress("proving", func() error {
			var err error
			proof, err = u.Wallet.DeriveCached(ctx, keys, pin, fw, rc, key, q)
			return err
		})
		if err != nil {
			return nil, keystoreHelp(err)
		}
		return proof, nil
	}
	var iss *issuer.IssuedJSON
	if spec.oid4vci {
		// OpenID4VCI: offer, token, c_nonce, then the proof for that nonce.
		if iss, err = c.IssueOID4VCI(ctx, nil, "", key, prove); err != nil {
			return nil, 0, fmt.Errorf("the issuer refused the persona (OpenID4VCI): %w", err)
		}
	} else {
		nonce, err := c.Nonce(ctx, spec.scope)
		if err != nil {
			return nil, 0, fmt.Errorf("the issuer gave no nonce: %w", err)
		}
		proof, err := prove(nonce)
		if err != nil {
			return nil, 0, err
		}
		if bound != nil {
			iss, err = c.IssueDeviceBound(ctx, u.Meta.Issuer, bound, key)
		} else {
			iss, err = c.Issue(ctx, u.Meta.Issuer, proof, key)
		}
		if err != nil {
			return nil, 0, fmt.Errorf("the issuer refused the persona: %w", err)
		}
	}
	if err := checkIssued(ctx, fw, u.Meta.Issuer, iss.Credential, key); err != nil {
		return nil, 0, err
	}
	kj, err := json.Marshal(key)
	if err != nil {
		return nil, 0, err
	}
	rec := &persona.Record{ID: persona.NewID(), Scope: spec.scope, Pseudonym: iss.Pseudonym, Key: kj, Credential: iss.Credential, Format: iss.Format,
		Issuer: u.Meta.Issuer, StatusIndex: iss.StatusIndex, Expiry: iss.Expiry, Grade: zk.GradeName(grade), Predicates: spec.preds, Disclosed: spec.disclose, Created: time.Now().UTC().Truncate(time.Second),
		DeviceBound: spec.deviceBound}
	old, _ := u.Persona(spec.scope)
	if err := u.SavePersona(rec); err != nil {
		return nil, 0, err
	}
	if old != nil {
		_ = u.DeletePersona(old.ID)
	}
	_ = u.Audit(persona.AuditEntry{Event: "persona", Persona: rec.ID, Scope: spec.scope, Audience: u.Meta.Issuer, Disclosed: spec.disclose, Outcome: "issued"})
	return rec, proving, nil
}

func attrNames() string {
	var names []string
	for _, a := range zk.Schema {
		names = append(names, a.Name)
	}
	return strings.Join(names, ", ")
}

func short(hex string) string {
	if len(hex) > 16 {
		return hex[:16]
	}
	return hex
}

// checkIssued verifies a fresh persona credential as RFC 9901 §7.2 asks
// of a holder: the issuer's signature under the framework's keys for it,
// and that it binds the persona key.
func checkIssued(ctx context.Context, fw *trust.Document, issuerID, cred string, key jwk.Key) error {
	iss, err := fw.Issuer(issuerID)
	if err != nil {
		return fmt.Errorf("the issuer %s is no longer accredited", issuerID)
	}
	keys, err := issuerKeys(iss)
	if err != nil {
		return err
	}
	v, err := sdjwt.Verify(ctx, cred, sdjwt.VerifyOptions{IssuerKeys: keys})
	if err != nil {
		return fmt.Errorf("the issuer sent a credential that does not verify: %w", err)
	}
	pub, err := key.PublicKey()
	if err != nil {
		return err
	}
	want, _ := pub.Thumbprint(crypto.SHA256)
	if v.HolderKey == nil {
		return errors.New("the issuer sent a credential that is not bound to the persona key")
	}
	got, _ := v.HolderKey.Thumbprint(crypto.SHA256)
	if string(got) != string(want) {
		return errors.New("the issuer sent a credential bound to another key")
	}
	return nil
}

// provingKeys loads the persona circuit's keys from dir once per process
// and checks that they are the server's.
var provingKeysCache struct {
	sync.Mutex
	m map[string]*zk.Keys
}

func (e *walletEnv) provingKeys(ctx context.Context, c *persona.Client, dir string) (*zk.Keys, error) {
	if dir == "" {
		dir = os.Getenv("MUSTARD_ZK_KEYS")
	}
	own := dir == ""
	if own {
		dir = filepath.Join(e.dir, "zk")
	}
	var info struct {
		VK string `json:"vk"`
	}
	if err := c.Get(ctx, "/v1/zk/persona", &info); err != nil {
		return nil, fmt.Errorf("cannot ask %s for its verifying key: %w", c.BaseURL, err)
	}
	provingKeysCache.Lock()
	defer provingKeysCache.Unlock()
	if k, ok := provingKeysCache.m[dir]; ok && k.VKID == info.VK {
		return k, nil
	}
	var meta struct {
		VKID string `json:"vk_id"`
	}
	b, err := readInput(filepath.Join(dir, "persona.json"), 4<<10)
	if err == nil {
		err = json.Unmarshal(b, &meta)
	}
	if own && (err != nil || meta.VKID != info.VK) {
		// The wallet's own key directory: fetch the server's current keys.
		if err = e.withProgress("downloading the proving key", func() error {
			return c.DownloadProvingKey(ctx, dir, info.VK)
		}); err != nil {
			return nil, fmt.Errorf("cannot download the proving key from %s: %w", c.BaseURL, err)
		}
		meta.VKID = info.VK
	}
	if err != nil {
		return nil, fmt.Errorf("no proving key in %s: copy the server's zk directory there, or pass --keys DIR (or set MUSTARD_ZK_KEYS)", dir)
	}
	if meta.VKID != info.VK {
		return nil, fmt.Errorf("the proving key in %s (%s) is not the one %s verifies with (%s): copy the server's current zk directory", dir, meta.VKID, c.BaseURL, info.VK)
	}
	var k *zk.Keys
	err = e.withProgress("loading the proving key", func() error {
		k, err = zk.LoadOrSetup(dir, "persona", &circuit.Circuit{}, nil)
		return err
	})
	if err != nil {
		return nil, err
	}
	if k.VKID != info.VK {
		return nil, fmt.Errorf("the proving key in %s was made for another version of the circuit: copy the server's current zk directory", dir)
	}
	if provingKeysCache.m == nil {
		provingKeysCache.m = map[string]*zk.Keys{}
	}
	provingKeysCache.m[dir] = k
	return k, nil
}

func newWalletPersonaListCmd(e *walletEnv) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List your personas",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			u, _, done, err := e.unlock()
			if err != nil {
				return err
			}
			defer done()
			all, err := u.Personas()
			if err != nil {
				return err
			}
			out := struct {
				Personas []personaJSON `json:"personas"`
			}{Personas: []personaJSON{}}
			for _, r := range all {
				out.Personas = append(out.Personas, toPersonaJSON(r))
			}
			return e.emit(out, func(w io.Writer) {
				if len(all) == 0 {
					fmt.Fprintln(w, "No personas yet: mustard wallet persona new --scope SITE")
					return
				}
				rows := make([][]string, 0, len(all))
				for _, r := range all {
					proves := strings.Join(append(append([]string{}, r.Predicates...), r.Disclosed...), ", ")
					if proves == "" {
						proves = "-"
					}
					rows = append(rows, []string{r.ID, r.Scope, short(r.Pseudonym) + "…", day(r.Expiry), proves})
				}
				table(w, []string{"ID", "SCOPE", "PSEUDONYM", "EXPIRES", "PROVES"}, rows)
			})
		},
	}
}
