package persona_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/backend/groth16"
	"github.com/consensys/gnark/test"
	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/circuits/threshold"
	"github.com/mustard-id/mustard/coreid"
	"github.com/mustard-id/mustard/internal/keystore"
	"github.com/mustard-id/mustard/internal/sdjwt"
	"github.com/mustard-id/mustard/internal/store/sqlite"
	"github.com/mustard-id/mustard/internal/trust"
	"github.com/mustard-id/mustard/issuer"
	"github.com/mustard-id/mustard/persona"
	"github.com/mustard-id/mustard/verifier"
	"github.com/mustard-id/mustard/zk"
)

const kofnSource = "https://pid.example"

// kofn is a trust framework with one source issuer and four accredited
// core-identity providers, each its own coreid.Provider with its own key,
// tag key and SQLite store, served on its own loopback port.
type kofn struct {
	fw      *trust.Document
	source  jwk.Key
	keys    []*zk.PrivateKey
	prov    []*coreid.Provider
	clients []*persona.Client
}

// newKofn starts n providers; cfg adjusts provider i's configuration.
func newKofn(t *testing.T, n int, cfg func(i int, c *coreid.Config)) *kofn {
	t.Helper()
	ctx := context.Background()
	ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	src, err := jwk.FromRaw(ek)
	require.NoError(t, err)
	require.NoError(t, src.Set(jwk.KeyIDKey, "pid-1"))
	require.NoError(t, src.Set(jwk.AlgorithmKey, jwa.ES256))
	pub, err := src.PublicKey()
	require.NoError(t, err)
	set := jwk.NewSet()
	require.NoError(t, set.AddKey(pub))
	jwks, err := json.Marshal(set)
	require.NoError(t, err)
	k := &kofn{source: src, fw: &trust.Document{ID: "kofn-framework", Sources: []trust.Source{{
		ID: kofnSource, Kind: trust.FormatJWTVC, Grade: "high", Types: []string{"PID"}, JWKS: jwks,
		Claims:       map[string]string{"birthdate": "birth_date", "nationality": "nationality"},
		SubjectClaim: "personal_number",
	}}}}
	for i := range n {
		pk, err := zk.GenerateKey(rand.Reader)
		require.NoError(t, err)
		k.keys = append(k.keys, pk)
		k.fw.Providers = append(k.fw.Providers, trust.Provider{ID: fmt.Sprintf("https://core%d.example", i), Key: hex.EncodeToString(pk.Public().Bytes()), MaxGrade: "high", ValidUntil: time.Now().AddDate(2, 0, 0).Unix()})
	}
	for i := range n {
		st, err := sqlite.Open(filepath.Join(t.TempDir(), "m.db"))
		require.NoError(t, err)
		t.Cleanup(func() { st.Close() })
		c := coreid.Config{
			Framework: k.fw, Key: k.keys[i], TagKey: make([]byte, 32),
			IsDuplicate: func(err error) bool { return errors.Is(err, sqlite.ErrDuplicate) },
			IsNotFound:  func(err error) bool { return errors.Is(err, sqlite.ErrNotFound) },
		}
		_, _ = rand.Read(c.TagKey)
		if cfg != nil {
			cfg(i, &c)
		}
		p, err := coreid.New(ctx, c, st)
		require.NoError(t, err)
		srv := httptest.NewServer(p.Handler())
		t.Cleanup(srv.Close)
		if k.fw.Providers[i].Key == hex.EncodeToString(c.Key.Public().Bytes()) {
			k.fw.Providers[i].URL = srv.URL
		}
		k.prov = append(k.prov, p)
		k.clients = append(k.clients, &persona.Client{BaseURL: srv.URL, HTTP: srv.Client()})
	}
	return k
}

// person is a fresh wallet and a body builder presenting one source
// credential for subject pn to every provider.
func (k *kofn) person(t *testing.T, pn string) (*persona.Wallet, []byte, func(context.Context, int, *persona.Client) (coreid.EnrollBody, error)) {
	t.Helper()
	pin := []byte("2468")
	w, err := persona.Create(keystore.NewSoftware(), pin)
	require.NoError(t, err)
	now := time.Now()
	vc, err := coreid.SignJWTVC(k.source, kofnSource, "did:example:holder", []string{"PID"},
		map[string]any{"personal_number": pn, "birthdate": "1990-04-12", "nationality": "NL"}, now, now.Add(time.Hour))
	require.NoError(t, err)
	comm, err := w.Commitment(pin)
	require.NoError(t, err)
	body := func(context.Context, int, *persona.Client) (coreid.EnrollBody, error) {
		return coreid.EnrollBody{Source: vc, Commitment: zk.Hex(comm), DeviceKeyHash: zk.Hex(w.DeviceKeyHash())}, nil
	}
	return w, pin, body
}

// snapshot is the framework-wide revocation set: the union of every
// provider's entries, whose indexed tree's root depends on the set alone.
func (k *kofn) snapshot(t *testing.T) coreid.Snapshot {
	t.Helper()
	var all []fr.Element
	seen := map[fr.Element]bool{}
	for _, c := range k.clients {
		s, err := c.Revocations(context.Background())
		require.NoError(t, err)
		for _, e := range s.Entries {
			if !seen[e] {
				seen[e] = true
				all = append(all, e)
			}
		}
	}
	tree, err := zk.IndexedTreeFrom(coreid.RevocationDepth, all)
	require.NoError(t, err)
	return coreid.Snapshot{Root: tree.Root(), Entries: all}
}

// kofnKeys are development keys for the threshold-2 circuit, set up once
// per test binary.
var kofnKeys = sync.OnceValues(func() (*zk.Keys, error) {
	ccs, err := zk.Compile(threshold.New(2))
	if err != nil {
		return nil, err
	}
	pk, vk, err := groth16.Setup(ccs)
	if err != nil {
		return nil, err
	}
	id, err := zk.VerifyingKeyID(vk)
	if err != nil {
		return nil, err
	}
	return &zk.Keys{Name: "threshold-2", CCS: ccs, PK: pk, VK: vk, VKID: id, Development: true}, nil
})

func problemType(err error) string {
	var pe *persona.ProblemError
	if errors.As(err, &pe) {
		return pe.Type
	}
	return ""
}

// TestThresholdEnrollment2of3 enrolls one person with three providers over
// HTTP (each verifies the source itself and applies its own uniqueness
// tag), proves a 2-of-3 persona with a real Groth16 proof and has a
// relying party that demands two providers accept it; one that demands
// three refuses it.
func TestThresholdEnrollment2of3(t *testing.T) {
	ctx := context.Background()
	k := newKofn(t, 3, nil)
	w, pin, body := k.person(t, "pn-2of3")
	require.NoError(t, w.EnrollThreshold(ctx, pin, k.fw, 2, k.clients, body))
	require.Len(t, w.Threshold.Endorsements, 3)
	for i, e := range w.Threshold.Endorsements {
		require.Equal(t, k.keys[i].Public().Bytes(), e.ProviderKey.Bytes())
	}
	require.Equal(t, uint64(zk.GradeHigh), w.Threshold.Credential.Grade)

	// Every provider recorded the person: a second wallet for the same
	// subject is refused by the lead.
	w2, pin2, body2 := k.person(t, "pn-2of3")
	err := w2.EnrollThreshold(ctx, pin2, k.fw, 2, k.clients, body2)
	require.ErrorIs(t, err, persona.ErrThreshold)
	require.Equal(t, coreid.ErrDuplicate.Type(), problemType(err))
	// And so does each co-signer, under its own tag, to the second
	// wallet's own nonce; the first credential's nonce is bound to the
	// first wallet's commitment, so replaying it is refused, with either
	// wallet's salt.
	salt, salt2 := saltOf(t, w, pin), saltOf(t, w2, pin2)
	for _, c := range k.clients[1:] {
		own := *coreid.ProposalOf(&w.Threshold.Credential)
		own.RevNonce = zk.Hex(zk.ThresholdNonce(mustCommitment(t, w2, pin2), mustParse(t, salt2)))
		_, err := c.Cosign(ctx, coreid.CosignBody{EnrollBody: mustBody(t, body2), Salt: salt2, Proposal: &own})
		require.Equal(t, coreid.ErrDuplicate.Type(), problemType(err), "%v", err)
		for _, s := range []string{salt, salt2} {
			_, err = c.Cosign(ctx, coreid.CosignBody{EnrollBody: mustBody(t, body2), Salt: s, Proposal: coreid.ProposalOf(&w.Threshold.Credential)})
			require.Equal(t, coreid.ErrProposal.Type(), problemType(err), "%v", err)
		}
	}
	// The first wallet's own request, again, is answered again.
	again, err := k.clients[1].Cosign(ctx, coreid.CosignBody{EnrollBody: mustBody(t, body), Salt: salt, Proposal: coreid.ProposalOf(&w.Threshold.Credential)})
	require.NoError(t, err)
	require.Equal(t, w.Threshold.Credential, mustCredential(t, again))

	keys, err := kofnKeys()
	require.NoError(t, err)
	require.NoError(t, k.prov[2].Revoke(ctx, fr.NewElement(5), coreid.ReasonProvider)) // someone else's
	snap, err := persona.FrameworkRevocations(ctx, k.fw, nil)
	require.NoError(t, err)
	require.Equal(t, k.snapshot(t).Root, snap.Root)
	require.Len(t, snap.Entries, 1)
	pk, err := persona.NewPersonaKey()
	require.NoError(t, err)
	q := persona.Query{Scope: "shop.example", Nonce: "n-1", MinGrade: zk.GradeSubstantial, Predicates: []string{"age>=18"}, Disclose: []string{"nationality"}, Now: time.Now()}
	proof, err := w.DeriveThreshold(ctx, keys, 2, pin, k.fw, snap, pk, q)
	require.NoError(t, err)
	require.Equal(t, keys.VKID, proof.VK)

	reg, _, err := k.fw.Registry()
	require.NoError(t, err)
	orgs, _, err := k.fw.OrgRegistry()
	require.NoError(t, err)
	v, err := verifier.New(verifier.Config{
		Issuers:               sdjwt.StaticKeys("none", jwk.NewSet()),
		ThresholdZK:           map[int]*zk.Keys{2: keys},
		RegistryRoot:          reg.Root,
		ThresholdRegistryRoot: orgs.Root,
		RevocationRoot:        func() fr.Element { return snap.Root },
	})
	require.NoError(t, err)
	policy := verifier.Policy{Audience: "https://shop.example", Scope: q.Scope, Nonce: q.Nonce, MinGrade: zk.GradeSubstantial, MinProviders: 2}
	verdict, err := v.VerifyProof(ctx, proof, verifier.Holder{}, policy)
	require.NoError(t, err)
	require.EqualValues(t, 528, verdict.Claims["nationality"]) // ISO 3166 numeric

	policy.MinProviders = 3
	_, err = v.VerifyProof(ctx, proof, verifier.Holder{}, policy)
	require.ErrorIs(t, err, verifier.ErrProviders)

	// An issuer that requires two providers issues a persona credential
	// for a 2-of-n proof over HTTP; one that requires three refuses it.
	iss := func(minProviders int) (*issuer.Issuer, *persona.Client) {
		st, err := sqlite.Open(filepath.Join(t.TempDir(), "i.db"))
		require.NoError(t, err)
		t.Cleanup(func() { st.Close() })
		var h http.Handler
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
		t.Cleanup(srv.Close)
		key, err := persona.NewPersonaKey() // a P-256 signing key
		require.NoError(t, err)
		i, err := issuer.New(issuer.Config{
			ID: "did:web:issuer.kofn.test", Key: key, BaseURL: srv.URL,
			RegistryRoot: reg.Root, RevocationRoot: func() fr.Element { return fr.Element{} },
			Threshold: &issuer.Threshold{Keys: map[int]*zk.Keys{2: keys}, RegistryRoot: orgs.Root,
				RevocationRoot: func() fr.Element { return snap.Root }, MinProviders: minProviders},
		}, st)
		require.NoError(t, err)
		h = i.Handler()
		return i, &persona.Client{BaseURL: srv.URL, HTTP: srv.Client()}
	}
	for _, minProviders := range []int{2, 3} {
		i, c := iss(minProviders)
		nonce, err := c.Nonce(ctx, "shop.example")
		require.NoError(t, err)
		pq := q
		pq.Nonce = nonce
		pq.Now = time.Now()
		p, err := w.DeriveThreshold(ctx, keys, 2, pin, k.fw, snap, pk, pq)
		require.NoError(t, err)
		got, err := c.Issue(ctx, i.ID(), p, pk)
		if minProviders == 3 {
			require.Equal(t, issuer.ErrProviders.Type(), problemType(err), "%v", err)
			continue
		}
		require.NoError(t, err)
		require.NotEmpty(t, got.Credential)
	}

	// One signer revokes the credential (its credential-wide entry): the
	// wallet can no longer prove, with any two of the three.
	// Revoke is what every revocation path (holder, provider, source)
	// calls: the nonce's k-of-n mark makes it revoke the credential whole.
	require.True(t, zk.IsThresholdNonce(w.Threshold.Credential.RevNonce))
	require.NoError(t, k.prov[1].Revoke(ctx, w.Threshold.Credential.RevNonce, coreid.ReasonProvider))
	after, err := persona.FrameworkRevocations(ctx, k.fw, nil)
	require.NoError(t, err)
	require.NotEqual(t, snap.Root, after.Root)
	_, _, err = w.ThresholdStatement(2, pin, k.fw, after, pk, q)
	require.ErrorContains(t, err, "revoked")
	// Nor with any one signature through the persona circuit.
	for _, e := range w.Threshold.Endorsements {
		single := &persona.Wallet{Sealer: w.Sealer, Sealed: w.Sealed, Core: &persona.Core{Credential: w.Threshold.Credential, Signature: e.Signature, ProviderKey: e.ProviderKey, MaxGrade: zk.GradeHigh, ValidUntil: time.Now().AddDate(1, 0, 0).Unix()}}
		_, _, err = single.Statement(pin, k.fw, after.Entries, after.Root, pk, q)
		require.ErrorContains(t, err, "revoked")
	}
}

func saltOf(t *testing.T, w *persona.Wallet, pin []byte) string {
	s, err := w.ThresholdSalt(pin)
	require.NoError(t, err)
	return s
}

func mustCommitment(t *testing.T, w *persona.Wallet, pin []byte) fr.Element {
	c, err := w.Commitment(pin)
	require.NoError(t, err)
	return c
}

func mustParse(t *testing.T, h string) fr.Element {
	e, err := zk.ParseHex(h)
	require.NoError(t, err)
	return e
}

func mustCredential(t *testing.T, e *coreid.EnrollmentJSON) zk.CoreCredential {
	c, err := coreid.FromJSON(e.Credential)
	require.NoError(t, err)
	return c
}

func mustBody(t *testing.T, body func(context.Context, int, *persona.Client) (coreid.EnrollBody, error)) coreid.EnrollBody {
	b, err := body(context.Background(), 0, nil)
	require.NoError(t, err)
	return b
}

// TestThresholdEnrollmentRefusals: one provider's signature twice, k-1
// signatures, and providers that disagree with the lead.
func TestThresholdEnrollmentRefusals(t *testing.T) {
	ctx := context.Background()
	// Provider 2 grades an unattested device key at most substantial: it
	// disagrees with a lead that grades it high.
	// Provider 3 is a second server holding provider 0's key (its own
	// store): a misconfigured replica whose signature must not count again.
	var first *zk.PrivateKey
	k := newKofn(t, 4, func(i int, c *coreid.Config) {
		switch i {
		case 0:
			first = c.Key
		case 2:
			c.UnattestedMaxGrade = zk.GradeSubstantial
		case 3:
			c.Key = first
		}
	})

	t.Run("one provider twice", func(t *testing.T) {
		w, pin, body := k.person(t, "pn-twice")
		// The provider answers the second request again (the same nonce,
		// the same commitment); the wallet does not count it twice.
		err := w.EnrollThreshold(ctx, pin, k.fw, 2, []*persona.Client{k.clients[0], k.clients[0]}, body)
		require.ErrorIs(t, err, persona.ErrThreshold)
		require.ErrorContains(t, err, "already counted")
		require.Nil(t, w.Threshold)

		w, pin, body = k.person(t, "pn-twice-2")
		err = w.EnrollThreshold(ctx, pin, k.fw, 2, []*persona.Client{k.clients[0], k.clients[3]}, body)
		require.ErrorIs(t, err, persona.ErrThreshold)
		require.ErrorContains(t, err, "already counted")
		require.Nil(t, w.Threshold)
	})

	t.Run("k-1 providers", func(t *testing.T) {
		down := httptest.NewServer(http.NotFoundHandler())
		down.Close()
		w, pin, body := k.person(t, "pn-k-1")
		err := w.EnrollThreshold(ctx, pin, k.fw, 2, []*persona.Client{k.clients[0], {BaseURL: down.URL}}, body)
		require.ErrorIs(t, err, persona.ErrThreshold)
		require.ErrorContains(t, err, "1 of the 2 signatures")
		require.Nil(t, w.Threshold)
		err = w.EnrollThreshold(ctx, pin, k.fw, 3, k.clients[:2], body)
		require.ErrorContains(t, err, "2 providers for a threshold of 3")
	})

	t.Run("grade disagreement", func(t *testing.T) {
		w, pin, body := k.person(t, "pn-grade")
		err := w.EnrollThreshold(ctx, pin, k.fw, 2, k.clients, body)
		require.ErrorIs(t, err, persona.ErrThreshold)
		require.Equal(t, coreid.ErrGradeTooHigh.Type(), problemType(err))
		require.ErrorContains(t, err, k.clients[2].BaseURL)
		require.Nil(t, w.Threshold)
		// Retried, led by the stricter provider: the others (provider 0
		// signed the higher grade before, under the same nonce) co-sign
		// the lower grade.
		require.NoError(t, w.EnrollThreshold(ctx, pin, k.fw, 2, []*persona.Client{k.clients[2], k.clients[0], k.clients[1]}, body))
		require.Equal(t, uint64(zk.GradeSubstantial), w.Threshold.Credential.Grade)
		require.Len(t, w.Threshold.Endorsements, 3)
	})

	t.Run("tampered proposal", func(t *testing.T) {
		w, pin, body := k.person(t, "pn-tamper")
		require.NoError(t, w.EnrollThreshold(ctx, pin, k.fw, 1, k.clients[:1], body))
		base := coreid.ProposalOf(&w.Threshold.Credential)
		salt := saltOf(t, w, pin)
		for _, tc := range []struct {
			name string
			edit func(p *coreid.ProposalJSON)
			want string
		}{
			{"attribute", func(p *coreid.ProposalJSON) { p.Attrs[3] = zk.Hex(fr.NewElement(7)) }, coreid.ErrAttributesMismatch.Type()},
			{"expiry beyond the provider's", func(p *coreid.ProposalJSON) { p.Expiry += 400 * 86400 }, coreid.ErrExpiryTooLate.Type()},
			{"expired", func(p *coreid.ProposalJSON) { p.Expiry = time.Now().Add(-time.Minute).Unix() }, coreid.ErrExpiryTooLate.Type()},
			{"no revocation nonce", func(p *coreid.ProposalJSON) { p.RevNonce = zk.Hex(fr.Element{}) }, coreid.ErrProposal.Type()},
			{"another revocation nonce", func(p *coreid.ProposalJSON) { p.RevNonce = zk.Hex(fr.NewElement(12345)) }, coreid.ErrProposal.Type()},
			{"short attributes", func(p *coreid.ProposalJSON) { p.Attrs = p.Attrs[:3] }, coreid.ErrProposal.Type()},
			{"bad hex", func(p *coreid.ProposalJSON) { p.RevNonce = "zz" }, coreid.ErrProposal.Type()},
		} {
			t.Run(tc.name, func(t *testing.T) {
				p := *base
				p.Attrs = append([]string(nil), base.Attrs...)
				tc.edit(&p)
				_, err := k.clients[1].Cosign(ctx, coreid.CosignBody{EnrollBody: mustBody(t, body), Salt: salt, Proposal: &p})
				require.Equal(t, tc.want, problemType(err), "%v", err)
			})
		}
		for _, bad := range []string{"", "zz", zk.Hex(fr.Element{})} {
			_, err := k.clients[1].Cosign(ctx, coreid.CosignBody{EnrollBody: mustBody(t, body), Salt: bad, Proposal: base})
			require.Equal(t, coreid.ErrProposal.Type(), problemType(err), "salt %q: %v", bad, err)
		}
		// None of the refusals recorded the person: the honest proposal
		// is still signed.
		e, err := k.clients[1].Cosign(ctx, coreid.CosignBody{EnrollBody: mustBody(t, body), Salt: salt, Proposal: base})
		require.NoError(t, err)
		require.Equal(t, hex.EncodeToString(k.keys[1].Public().Bytes()), e.ProviderKey)
	})
}

// TestThresholdProofRefusals: a wallet that holds one provider's
// signature twice, or k-1 signatures, cannot prove k-of-n; forced into a
// witness, the circuit's solver refuses it.
func TestThresholdProofRefusals(t *testing.T) {
	ctx := context.Background()
	k := newKofn(t, 3, nil)
	w, pin, body := k.person(t, "pn-proof")
	require.NoError(t, w.EnrollThreshold(ctx, pin, k.fw, 2, k.clients, body))
	pk, err := persona.NewPersonaKey()
	require.NoError(t, err)
	q := persona.Query{Scope: "forum.example", Nonce: "n-2", MinGrade: zk.GradeLow, Now: time.Now()}
	snap := k.snapshot(t)
	pub, priv, err := w.ThresholdStatement(2, pin, k.fw, snap, pk, q)
	require.NoError(t, err)
	require.NoError(t, threshold.Check(2, pub, priv))
	ok, err := threshold.Assign(pub, priv)
	require.NoError(t, err)
	require.NoError(t, test.IsSolved(threshold.New(2), ok, ecc.BN254.ScalarField()))

	twice := *priv
	twice.Endorsements = []threshold.Endorsement{priv.Endorsements[0], priv.Endorsements[0]}
	require.ErrorContains(t, threshold.Check(2, pub, &twice), "same provider key")
	bad, err := threshold.Assign(pub, &twice)
	require.NoError(t, err)
	require.Error(t, test.IsSolved(threshold.New(2), bad, ecc.BN254.ScalarField()))

	// k-1: a wallet with one distinct signature (held twice) has nothing
	// to choose from.
	w.Threshold.Endorsements = []persona.Endorsed{w.Threshold.Endorsements[0], w.Threshold.Endorsements[0]}
	_, _, err = w.ThresholdStatement(2, pin, k.fw, snap, pk, q)
	require.ErrorIs(t, err, threshold.ErrStatement)
	require.True(t, strings.Contains(err.Error(), "1 usable endorsements"), err.Error())
}

// TestThresholdOrganisations: the framework lists provider 1 as a second
// key of provider 0's organisation. The wallet refuses to count both at
// enrollment; a wallet holding both signatures cannot prove 2-of-n with
// them, and the circuit's solver refuses them when forced.
func TestThresholdOrganisations(t *testing.T) {
	ctx := context.Background()
	k := newKofn(t, 3, func(i int, c *coreid.Config) {
		if i == 0 {
			c.Framework.Providers[1].Org = c.Framework.Providers[0].ID
		}
	})
	w, pin, body := k.person(t, "pn-org")
	err := w.EnrollThreshold(ctx, pin, k.fw, 2, k.clients, body)
	require.ErrorIs(t, err, persona.ErrThreshold)
	require.ErrorContains(t, err, "already counted")
	require.ErrorContains(t, err, k.fw.Providers[0].ID)

	// Enrolled through providers 0 and 2, then signed by provider 1 too.
	w, pin, body = k.person(t, "pn-org-2")
	require.NoError(t, w.EnrollThreshold(ctx, pin, k.fw, 2, []*persona.Client{k.clients[0], k.clients[2]}, body))
	e1, err := k.clients[1].Cosign(ctx, coreid.CosignBody{EnrollBody: mustBody(t, body), Salt: saltOf(t, w, pin), Proposal: coreid.ProposalOf(&w.Threshold.Credential)})
	require.NoError(t, err)
	sig, err := hex.DecodeString(e1.Signature)
	require.NoError(t, err)
	w.Threshold.Endorsements = []persona.Endorsed{w.Threshold.Endorsements[0], {ProviderKey: k.keys[1].Public(), Signature: sig}, w.Threshold.Endorsements[1]}

	pk, err := persona.NewPersonaKey()
	require.NoError(t, err)
	q := persona.Query{Scope: "forum.example", Nonce: "n-3", MinGrade: zk.GradeLow, Now: time.Now()}
	snap := k.snapshot(t)
	pub, priv, err := w.ThresholdStatement(2, pin, k.fw, snap, pk, q)
	require.NoError(t, err)
	require.Equal(t, k.keys[2].Public().Bytes(), priv.Endorsements[1].Key.Bytes(), "Choose skips the organisation's second key")
	ok, err := threshold.Assign(pub, priv)
	require.NoError(t, err)
	require.NoError(t, test.IsSolved(threshold.New(2), ok, ecc.BN254.ScalarField()))

	// Forced: the organisation's two keys in the two slots.
	reg, idx, err := k.fw.OrgRegistry()
	require.NoError(t, err)
	second := threshold.Endorsement{Key: k.keys[1].Public(), Signature: sig, MaxGrade: zk.GradeHigh, ValidUntil: k.fw.Providers[1].ValidUntil,
		Org: zk.OrgID(k.fw.Providers[1].Organisation()), Registry: reg.Path(idx[k.fw.Providers[1].Key])}
	bad := *priv
	bad.Endorsements = []threshold.Endorsement{priv.Endorsements[0], second}
	require.ErrorContains(t, threshold.Check(2, pub, &bad), "keys of one organisation")
	forced, err := threshold.Assign(pub, &bad)
	require.NoError(t, err)
	require.Error(t, test.IsSolved(threshold.New(2), forced, ecc.BN254.ScalarField()))
}

// TestFrameworkRevocations: the framework-wide set is the union of every
// provider's signed snapshot; a provider (or a mirror at its URL) that
// hides an entry, or signs under a key the framework does not list
// there, fails the whole call rather than yielding a partial union.
func TestFrameworkRevocations(t *testing.T) {
	ctx := context.Background()
	k := newKofn(t, 3, nil)
	for i, p := range k.prov {
		require.NoError(t, p.RevokeCredential(ctx, fr.NewElement(uint64(100+i)), coreid.ReasonProvider))
	}
	require.NoError(t, k.prov[0].RevokeCredential(ctx, fr.NewElement(101), coreid.ReasonProvider)) // also at provider 1
	snap, err := persona.FrameworkRevocations(ctx, k.fw, nil)
	require.NoError(t, err)
	// Each revocation: one credential entry and one per framework key.
	require.Len(t, snap.Entries, 3*4)
	require.Equal(t, k.snapshot(t).Root, snap.Root)

	// A mirror of provider 1 that drops the last entry of its snapshot.
	real := k.fw.Providers[1].URL
	lying := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resp, err := http.Get(real + r.URL.Path)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		if r.URL.Path != "/v1/revocations" {
			w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
			_, _ = io.Copy(w, resp.Body)
			return
		}
		var j coreid.SnapshotJSON
		if err := json.NewDecoder(resp.Body).Decode(&j); err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		j.Entries = j.Entries[:len(j.Entries)-1]
		_ = json.NewEncoder(w).Encode(j)
	}))
	defer lying.Close()
	k.fw.Providers[1].URL = lying.URL
	_, err = persona.FrameworkRevocations(ctx, k.fw, nil)
	require.ErrorContains(t, err, "does not build the root the provider signed")

	// Provider 2's server listed at provider 1's URL: its signed root names
	// a key the framework does not list there.
	k.fw.Providers[1].URL = k.fw.Providers[2].URL
	k.fw.Providers[2].URL = ""
	_, err = persona.FrameworkRevocations(ctx, k.fw, nil)
	require.ErrorContains(t, err, "does not list at this URL")
}

// TestThresholdReenrollment: a person with a k-of-n identity who
// re-enrolls at one of its providers (a lost device) gets a
// single-provider credential, and the provider revokes the k-of-n one
// whole, so it proves nothing any more.
func TestThresholdReenrollment(t *testing.T) {
	ctx := context.Background()
	k := newKofn(t, 2, nil)
	w, pin, body := k.person(t, "pn-reenroll")
	require.NoError(t, w.EnrollThreshold(ctx, pin, k.fw, 2, k.clients, body))
	time.Sleep(1100 * time.Millisecond) // the new source must be issued after the enrollment

	w2, pin2, body2 := k.person(t, "pn-reenroll")
	b := mustBody(t, body2)
	b.Reenroll = true
	e, err := k.clients[0].Enroll(ctx, b)
	require.NoError(t, err)
	require.True(t, e.Replaced)
	require.NoError(t, w2.Accept(pin2, k.fw, e))

	snap, err := persona.FrameworkRevocations(ctx, k.fw, nil)
	require.NoError(t, err)
	pk, err := persona.NewPersonaKey()
	require.NoError(t, err)
	_, _, err = w.ThresholdStatement(2, pin, k.fw, snap, pk, persona.Query{Scope: "s", Nonce: "n", MinGrade: zk.GradeLow, Now: time.Now()})
	require.ErrorContains(t, err, "revoked")
}

// TestFrameworkRevocationsReplay: a mirror at a provider's URL replaying
// the snapshot it recorded before a revocation (validly signed, but
// earlier) drops that revocation from the union; FrameworkRevocationsSince
// refuses the earlier signed root.
func TestFrameworkRevocationsReplay(t *testing.T) {
	ctx := context.Background()
	k := newKofn(t, 2, nil)
	real := k.fw.Providers[1].URL
	resp, err := http.Get(real + "/v1/revocations")
	require.NoError(t, err)
	recorded, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	time.Sleep(1100 * time.Millisecond) // signed roots carry whole seconds
	notBefore := time.Now().Truncate(time.Second)
	require.NoError(t, k.prov[1].RevokeCredential(ctx, fr.NewElement(777), coreid.ReasonProvider))
	live, err := persona.FrameworkRevocationsSince(ctx, k.fw, nil, notBefore)
	require.NoError(t, err)
	require.Contains(t, live.Entries, zk.CredentialRevocationEntry(fr.NewElement(777)))

	replay := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/revocations" {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(recorded)
			return
		}
		resp, err := http.Get(real + r.URL.Path)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
		_, _ = io.Copy(w, resp.Body)
	}))
	defer replay.Close()
	k.fw.Providers[1].URL = replay.URL
	stale, err := persona.FrameworkRevocations(ctx, k.fw, nil)
	require.NoError(t, err, "without a bound the replay is accepted")
	require.NotContains(t, stale.Entries, zk.CredentialRevocationEntry(fr.NewElement(777)))
	_, err = persona.FrameworkRevocationsSince(ctx, k.fw, nil, notBefore)
	require.ErrorContains(t, err, "an earlier snapshot")
}
