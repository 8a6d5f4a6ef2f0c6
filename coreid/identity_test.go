package coreid

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/internal/trust"
	"github.com/mustard-id/mustard/zk"
)

func TestCombineGradeRules(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	gov := e.jwtVC(t, govID, person, e.now)
	low := e.jwtVC(t, lowID, with(person, "personal_number", nil), e.now)
	srcGov, err := e.p.VerifySource(ctx, SourceCredential{Credential: gov}, "")
	require.NoError(t, err)
	srcLow, err := e.p.VerifySource(ctx, SourceCredential{Credential: low}, "")
	require.NoError(t, err)
	n := e.nonce(t)
	srcIdP, err := e.p.VerifySource(ctx, SourceCredential{Format: trust.FormatOIDC, Credential: idToken(t, e.keys[idpID], e.idClaims(n))}, n)
	require.NoError(t, err)

	for _, tc := range []struct {
		rule string
		srcs []*Source
		want uint64
	}{
		{"", []*Source{srcGov}, zk.GradeHigh},
		{trust.GradeRuleMax, []*Source{srcLow, srcGov}, zk.GradeHigh},
		{trust.GradeRuleTwoForHigh, []*Source{srcGov}, zk.GradeSubstantial},
		{trust.GradeRuleTwoForHigh, []*Source{srcGov, srcLow}, zk.GradeSubstantial}, // low is not independent evidence enough
		{trust.GradeRuleTwoForHigh, []*Source{srcGov, srcIdP}, zk.GradeHigh},
		{trust.GradeRuleTwoForHigh, []*Source{srcLow}, zk.GradeLow},
	} {
		e.fw.GradeRule = tc.rule
		c, err := Combine(e.fw, tc.srcs)
		require.NoError(t, err)
		require.Equal(t, tc.want, c.Grade, "rule %q", tc.rule)
	}
	e.fw.GradeRule = "whatever"
	_, err = Combine(e.fw, []*Source{srcGov})
	require.Error(t, err)
	e.fw.GradeRule = ""

	// Two people's credentials cannot be pooled; one issuer twice is not
	// two sources; "NL" and "528" are one nationality.
	other := e.jwtVC(t, lowID, with(person, "birthdate", "1991-01-01"), e.now)
	srcOther, err := e.p.VerifySource(ctx, SourceCredential{Credential: other}, "")
	require.NoError(t, err)
	_, err = Combine(e.fw, []*Source{srcGov, srcOther})
	require.ErrorIs(t, err, ErrInconsistent)
	_, err = Combine(e.fw, []*Source{srcGov, srcGov})
	require.ErrorIs(t, err, ErrInconsistent)
	numeric := e.jwtVC(t, lowID, with(person, "nationality", "528"), e.now)
	srcNum, err := e.p.VerifySource(ctx, SourceCredential{Credential: numeric}, "")
	require.NoError(t, err)
	_, err = Combine(e.fw, []*Source{srcGov, srcNum})
	require.NoError(t, err)

	// Through Enroll: a JWT-VC and an id_token together, under two-for-high.
	e.fw.GradeRule = trust.GradeRuleTwoForHigh
	n = e.nonce(t)
	req := e.commitment(t)
	req.Nonce = n
	req.Sources = []SourceCredential{{Credential: gov}, {Format: trust.FormatOIDC, Credential: idToken(t, e.keys[idpID], e.idClaims(n))}}
	enr, err := e.p.Enroll(ctx, req)
	require.NoError(t, err)
	require.Equal(t, uint64(zk.GradeHigh), enr.Credential.Grade)
	require.Equal(t, 2, e.counts(t)["identities"], "one tag per source, one identity")
	// Either source alone now finds the person enrolled.
	n = e.nonce(t)
	again := e.commitment(t)
	again.Nonce = n
	again.Sources = []SourceCredential{{Format: trust.FormatOIDC, Credential: idToken(t, e.keys[idpID], e.idClaims(n))}}
	_, err = e.p.Enroll(ctx, again)
	require.ErrorIs(t, err, ErrDuplicate)
}

// Many requests enrolling one person at once yield exactly one identity.
func TestEnrollConcurrentOnePerson(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const n = 24
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			r := e.commitment(t)
			// Each request has its own credential (another holder DID,
			// another iat); the person identifier is the same.
			r.Source = e.jwtVC(t, govID, with(person, "x", i), e.now.Add(-time.Duration(i)*time.Second))
			_, errs[i] = e.p.Enroll(ctx, r)
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
			continue
		}
		require.ErrorIs(t, err, ErrDuplicate)
	}
	require.Equal(t, 1, ok)
	require.Equal(t, 1, e.counts(t)["identities"])
}

// A framework-wide identifier scheme: the same national number through the
// government's JWT-VC and the bank's SD-JWT VC is one person.
func TestEnrollSharedSchemeAcrossSources(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	r := e.commitment(t)
	r.Source = e.jwtVC(t, govID, person, e.now)
	_, err := e.p.Enroll(ctx, r)
	require.NoError(t, err)

	holder := ecKey(t, "h")
	n := e.nonce(t)
	r = e.commitment(t)
	r.Nonce = n
	r.Sources = []SourceCredential{{Format: trust.FormatSDJWTVC, Credential: present(t, e.sdJWT(t, e.keys[bankID], person, e.now, holder), holder, provID, n)}}
	_, err = e.p.Enroll(ctx, r)
	require.ErrorIs(t, err, ErrDuplicate)

	// Without the scheme, tags are per source: the bank alone would not
	// have recognized the person.
	require.NotEqual(t, e.p.Tag(govID, "NL-123456789"), e.p.Tag(bankID, "NL-123456789"))
	require.Equal(t, e.p.sourceTag(&e.fw.Sources[0], "NL-123456789"), e.p.sourceTag(&e.fw.Sources[1], "NL-123456789"))
}

func TestReenrollAfterLoss(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	first := e.commitment(t)
	first.Source = e.jwtVC(t, govID, person, e.now.Add(-time.Minute))
	old, err := e.p.Enroll(ctx, first)
	require.NoError(t, err)

	// Not enrolled: nothing to replace.
	stranger := e.commitment(t)
	stranger.Source = e.jwtVC(t, govID, with(person, "personal_number", "NL-999"), e.now)
	stranger.Reenroll = true
	_, err = e.p.Enroll(ctx, stranger)
	require.ErrorIs(t, err, ErrNotEnrolled)

	// The credential used for the first enrollment (a copy someone kept)
	// cannot hijack the identity: re-enrollment needs a newer one.
	e.now = e.now.Add(10 * time.Minute)
	replay := e.commitment(t)
	replay.Source = e.jwtVC(t, govID, person, e.now.Add(-11*time.Minute))
	replay.Reenroll = true
	_, err = e.p.Enroll(ctx, replay)
	require.ErrorIs(t, err, ErrStaleSource)

	fresh := e.commitment(t)
	fresh.Source = e.jwtVC(t, govID, person, e.now)
	fresh.Reenroll = true
	e.now = e.now.Add(time.Second)
	enr, err := e.p.Enroll(ctx, fresh)
	require.NoError(t, err)
	require.True(t, enr.Replaced)

	tree, err := zk.IndexedTreeFrom(RevocationDepth, e.p.Revocations().Entries)
	require.NoError(t, err)
	require.True(t, tree.Contains(zk.RevocationEntry(e.p.cfg.Key.Public(), old.Credential.RevNonce)))
	require.False(t, tree.Contains(zk.RevocationEntry(e.p.cfg.Key.Public(), enr.Credential.RevNonce)))
	require.Equal(t, 1, e.counts(t)["identities"])
	var reason string
	require.NoError(t, e.store.DB().QueryRow(`SELECT reason FROM revocations`).Scan(&reason))
	require.Equal(t, ReasonReenrollment, reason)

	// Concurrent re-enrollments of one person: one wins, the others are
	// refused, and exactly one more credential is revoked.
	e.now = e.now.Add(time.Minute)
	const racers = 8
	var wg sync.WaitGroup
	errs := make([]error, racers)
	for i := range racers {
		wg.Go(func() {
			r := e.commitment(t)
			r.Source = e.jwtVC(t, govID, with(person, "x", i), e.now)
			r.Reenroll = true
			_, errs[i] = e.p.Enroll(ctx, r)
		})
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		if err == nil {
			won++
		}
	}
	require.Equal(t, 1, won, "%v", errs)
	require.Len(t, e.p.Revocations().Entries, 2)
	require.Equal(t, 1, e.counts(t)["identities"])

	// And a plain enrollment is still refused.
	dup := e.commitment(t)
	dup.Source = e.jwtVC(t, govID, person, e.now)
	_, err = e.p.Enroll(ctx, dup)
	require.ErrorIs(t, err, ErrDuplicate)
}

// Nothing personal is stored or logged: the database files and the log
// output of enrollments (good and bad, over HTTP) hold neither the person
// identifier nor a name nor the birthdate.
func TestNothingPersonalStoredOrLogged(t *testing.T) {
	var logs bytes.Buffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	t.Cleanup(func() { slog.SetDefault(prev) })

	e := newEnv(t)
	srv := httptest.NewServer(e.p.Handler())
	defer srv.Close()
	post := func(body EnrollBody) int {
		b, _ := json.Marshal(body)
		resp, err := http.Post(srv.URL+"/v1/enroll", "application/json", bytes.NewReader(b))
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	c := zk.Hex(e.commitment(t).Commitment)
	require.Equal(t, http.StatusCreated, post(EnrollBody{Source: e.jwtVC(t, govID, person, e.now), Commitment: c, DeviceKeyHash: zk.Hex(zk.Int64(0))}))
	require.Equal(t, http.StatusConflict, post(EnrollBody{Source: e.jwtVC(t, govID, person, e.now), Commitment: c, DeviceKeyHash: zk.Hex(zk.Int64(0))}))
	require.Equal(t, http.StatusBadRequest, post(EnrollBody{Source: e.jwtVC(t, lowID, with(person, "birthdate", "not a date"), e.now), Commitment: c, DeviceKeyHash: zk.Hex(zk.Int64(0))}))
	require.NoError(t, e.store.Close())

	files, _ := filepath.Glob(e.dbPath + "*")
	require.NotEmpty(t, files)
	for _, secret := range []string{"NL-123456789", "Johanna", "Vermeer", "1990-04-12", "did:example:holder"} {
		for _, f := range files {
			b, err := os.ReadFile(f)
			require.NoError(t, err)
			require.False(t, bytes.Contains(b, []byte(secret)), "%s found in %s", secret, f)
		}
		require.False(t, strings.Contains(logs.String(), secret), "%s found in the logs", secret)
	}
}

func TestRevocation(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	srv := httptest.NewServer(e.p.Handler())
	defer srv.Close()

	// The holder's device key; the credential commits to its hash.
	dev, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	x, y := make([]byte, 32), make([]byte, 32)
	dev.X.FillBytes(x)
	dev.Y.FillBytes(y)
	r := e.commitment(t)
	r.DeviceKeyHash = zk.KeyHash(zk.TagDevice, x, y)
	r.Source = e.jwtVC(t, govID, person, e.now)
	enr, err := e.p.Enroll(ctx, r)
	require.NoError(t, err)

	postJSON := func(path, token string, body any) int {
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(http.MethodPost, srv.URL+path, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	snapshot := func(q string) SnapshotJSON {
		resp, err := http.Get(srv.URL + "/v1/revocations" + q)
		require.NoError(t, err)
		defer resp.Body.Close()
		var s SnapshotJSON
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&s))
		return s
	}

	t.Run("holder", func(t *testing.T) {
		n, err := e.p.NewNonce(ctx, NonceRevoke)
		require.NoError(t, err)
		proof, err := ecdsa.SignASN1(rand.Reader, dev, HolderRevocationDigest(enr.ProviderKey, enr.Credential.RevNonce, n))
		require.NoError(t, err)
		pub, _ := dev.PublicKey.ECDH()
		body := HolderRevocationBody{Credential: ToJSON(&enr.Credential), Signature: hex.EncodeToString(enr.Signature), DeviceKey: hex.EncodeToString(pub.Bytes()), Nonce: n, Proof: hex.EncodeToString(proof)}

		other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		otherProof, _ := ecdsa.SignASN1(rand.Reader, other, HolderRevocationDigest(enr.ProviderKey, enr.Credential.RevNonce, n))
		otherPub, _ := other.PublicKey.ECDH()
		forgedCred := ToJSON(&enr.Credential)
		forgedCred.Grade = 1
		for name, bad := range map[string]HolderRevocationBody{
			"another device key":                   {Credential: body.Credential, Signature: body.Signature, DeviceKey: hex.EncodeToString(otherPub.Bytes()), Nonce: n, Proof: hex.EncodeToString(otherProof)},
			"proof by another key":                 {Credential: body.Credential, Signature: body.Signature, DeviceKey: body.DeviceKey, Nonce: n, Proof: hex.EncodeToString(otherProof)},
			"credential the provider never signed": {Credential: forgedCred, Signature: body.Signature, DeviceKey: body.DeviceKey, Nonce: n, Proof: body.Proof},
			"proof over another nonce":             {Credential: body.Credential, Signature: body.Signature, DeviceKey: body.DeviceKey, Nonce: "other", Proof: body.Proof},
			"not a point":                          {Credential: body.Credential, Signature: body.Signature, DeviceKey: "04ff", Nonce: n, Proof: body.Proof},
		} {
			require.Equal(t, http.StatusUnauthorized, postJSON("/v1/revocations/holder", "", bad), name)
		}
		require.Equal(t, 0, snapshot("").Size)
		require.Equal(t, http.StatusNoContent, postJSON("/v1/revocations/holder", "", body))
		require.Equal(t, 1, snapshot("").Size)
		// Replayed: the nonce is spent.
		require.Equal(t, http.StatusUnauthorized, postJSON("/v1/revocations/holder", "", body))
	})

	t.Run("provider", func(t *testing.T) {
		rn, _ := zk.RandomElement()
		body := ProviderRevocationBody{RevNonce: zk.Hex(rn)}
		require.Equal(t, http.StatusUnauthorized, postJSON("/v1/revocations/provider", "", body))
		require.Equal(t, http.StatusUnauthorized, postJSON("/v1/revocations/provider", "0123456789abcdef0123456789abcdeX", body))
		require.Equal(t, http.StatusNoContent, postJSON("/v1/revocations/provider", "0123456789abcdef0123456789abcdef", body))
		require.Equal(t, 2, snapshot("").Size)
	})

	t.Run("source", func(t *testing.T) {
		r := e.commitment(t)
		r.Source = e.jwtVC(t, govID, with(person, "personal_number", "NL-777"), e.now)
		victim, err := e.p.Enroll(ctx, r)
		require.NoError(t, err)
		notice, err := SignNotice(e.keys[govID], govID, "NL-777", e.now)
		require.NoError(t, err)
		forged, _ := SignNotice(ecKey(t, "gov-1"), govID, "NL-777", e.now)
		stale, _ := SignNotice(e.keys[govID], govID, "NL-777", e.now.Add(-48*time.Hour))
		nobody, _ := SignNotice(e.keys[govID], govID, "NL-000", e.now)
		notNotice := e.jwtVC(t, govID, person, e.now)
		for name, tc := range map[string]struct {
			notice string
			status int
		}{
			"forged":       {forged, http.StatusUnauthorized},
			"stale":        {stale, http.StatusUnauthorized},
			"nobody":       {nobody, http.StatusNotFound},
			"not a notice": {notNotice, http.StatusBadRequest},
			"garbage":      {"x", http.StatusBadRequest},
		} {
			require.Equal(t, tc.status, postJSON("/v1/revocations/source", "", SourceRevocationBody{Notice: tc.notice}), name)
		}
		require.Equal(t, 2, snapshot("").Size)
		require.Equal(t, http.StatusNoContent, postJSON("/v1/revocations/source", "", SourceRevocationBody{Notice: notice}))
		require.Equal(t, http.StatusNoContent, postJSON("/v1/revocations/source", "", SourceRevocationBody{Notice: notice}), "idempotent")
		s := snapshot("")
		require.Equal(t, 3, s.Size)
		require.Equal(t, zk.Hex(zk.RevocationEntry(e.p.cfg.Key.Public(), victim.Credential.RevNonce)), s.Entries[2])
	})

	t.Run("records hold time and reason class only", func(t *testing.T) {
		rows, err := e.store.DB().Query(`SELECT reason FROM revocations ORDER BY seq`)
		require.NoError(t, err)
		var reasons []string
		for rows.Next() {
			var s string
			require.NoError(t, rows.Scan(&s))
			reasons = append(reasons, s)
		}
		require.Equal(t, []string{ReasonHolder, ReasonProvider, ReasonSource}, reasons)
	})

	t.Run("snapshot, incremental update, signed root", func(t *testing.T) {
		full := snapshot("")
		inc := snapshot("?since=1")
		require.Equal(t, full.Entries[1:], inc.Entries)
		require.Equal(t, full.Root, inc.Root)
		require.Equal(t, 3, inc.Size)
		// A wallet holding the first entry catches up and gets the root.
		vals := make([]string, 0, 3)
		vals = append(vals, full.Entries[:1]...)
		vals = append(vals, inc.Entries...)
		els := make([]fr.Element, len(vals))
		for i, v := range vals {
			els[i], err = zk.ParseHex(v)
			require.NoError(t, err)
		}
		tree, err := zk.IndexedTreeFrom(RevocationDepth, els)
		require.NoError(t, err)
		require.Equal(t, full.Root, zk.Hex(tree.Root()))

		resp, err := http.Get(srv.URL + "/v1/revocations/keys")
		require.NoError(t, err)
		defer resp.Body.Close()
		var raw json.RawMessage
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&raw))
		keys, err := trust.KeySet(raw)
		require.NoError(t, err)
		st, err := VerifyRoot(full.SignedRoot, keys)
		require.NoError(t, err)
		require.Equal(t, full.Root, st.Root)
		require.Equal(t, 3, st.Size)
		require.Equal(t, enr.ProviderKey, st.Provider)
		_, err = VerifyRoot(full.SignedRoot[:len(full.SignedRoot)-4]+"AAAA", keys)
		require.Error(t, err)

		for _, q := range []string{"?since=4", "?since=-1", "?since=x", "?since=99999999999999"} {
			resp, err := http.Get(srv.URL + "/v1/revocations" + q)
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusBadRequest, resp.StatusCode, q)
			require.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
		}
	})
}

// An identity enrolled through two sources and re-enrolled through one
// moves whole: re-enrolling later through the other revokes the current
// credential, never leaving two valid ones.
func TestReenrollMovesEveryTag(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	n := e.nonce(t)
	r := e.commitment(t)
	r.Nonce = n
	r.Sources = []SourceCredential{{Credential: e.jwtVC(t, govID, person, e.now)}, {Format: trust.FormatOIDC, Credential: idToken(t, e.keys[idpID], e.idClaims(n))}}
	first, err := e.p.Enroll(ctx, r)
	require.NoError(t, err)

	e.now = e.now.Add(time.Minute)
	r = e.commitment(t)
	r.Source = e.jwtVC(t, govID, person, e.now)
	r.Reenroll = true
	second, err := e.p.Enroll(ctx, r)
	require.NoError(t, err)

	e.now = e.now.Add(time.Minute)
	n = e.nonce(t)
	r = e.commitment(t)
	r.Nonce = n
	r.Sources = []SourceCredential{{Format: trust.FormatOIDC, Credential: idToken(t, e.keys[idpID], e.idClaims(n))}}
	r.Reenroll = true
	third, err := e.p.Enroll(ctx, r)
	require.NoError(t, err)

	tree, err := zk.IndexedTreeFrom(RevocationDepth, e.p.Revocations().Entries)
	require.NoError(t, err)
	pk := e.p.cfg.Key.Public()
	require.True(t, tree.Contains(zk.RevocationEntry(pk, first.Credential.RevNonce)))
	require.True(t, tree.Contains(zk.RevocationEntry(pk, second.Credential.RevNonce)))
	require.False(t, tree.Contains(zk.RevocationEntry(pk, third.Credential.RevNonce)))
}

// A software wallet (no device key) revokes by opening its commitment; a
// wrong opening, or an opening for a credential bound to a device key, is
// refused and revokes nothing.
func TestRevokeByOpening(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	s, err := zk.RandomElement()
	require.NoError(t, err)
	req := EnrollRequest{Commitment: zk.Commit(s), Source: e.jwtVC(t, govID, with(person, "personal_number", "open-1"), e.now)}
	enr, err := e.p.Enroll(ctx, req)
	require.NoError(t, err)

	wrong, _ := zk.RandomElement()
	require.ErrorIs(t, e.p.RevokeByHolder(ctx, HolderRevocation{Credential: enr.Credential, Signature: enr.Signature, Opening: &wrong}), ErrUnauthorized)
	forged := enr.Credential
	forged.RevNonce = zk.Int64(7)
	require.ErrorIs(t, e.p.RevokeByHolder(ctx, HolderRevocation{Credential: forged, Signature: enr.Signature, Opening: &s}), ErrUnauthorized)
	before := e.p.Revocations()
	require.NoError(t, e.p.RevokeByHolder(ctx, HolderRevocation{Credential: enr.Credential, Signature: enr.Signature, Opening: &s}))
	require.Equal(t, len(before.Entries)+1, len(e.p.Revocations().Entries))

	// Bound to a device key: the secret alone does not revoke.
	s2, _ := zk.RandomElement()
	req = EnrollRequest{Commitment: zk.Commit(s2), DeviceKeyHash: zk.Int64(42), Source: e.jwtVC(t, govID, with(person, "personal_number", "open-2"), e.now)}
	enr, err = e.p.Enroll(ctx, req)
	require.NoError(t, err)
	require.ErrorIs(t, e.p.RevokeByHolder(ctx, HolderRevocation{Credential: enr.Credential, Signature: enr.Signature, Opening: &s2}), ErrUnauthorized)
}
