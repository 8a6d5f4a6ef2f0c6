package sdjwt

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/stretchr/testify/require"
)

var updateCorpus = flag.Bool("update-corpus", false, "rewrite the seed corpus in testdata/fuzz")

// FuzzParse: Parse never panics, and what it accepts reassembles to its
// input with each digest the hash of its Disclosure.
func FuzzParse(f *testing.F) {
	f.Add("")
	f.Add("~")
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := Parse(s)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrDisclosure) {
				t.Fatalf("Parse error outside the sentinels: %v", err)
			}
			return
		}
		if got := tok.Serialize(); got != s {
			t.Fatalf("Serialize(Parse(s)) = %q, want %q", got, s)
		}
		if len(tok.Disclosures) > MaxDisclosures {
			t.Fatalf("%d disclosures accepted", len(tok.Disclosures))
		}
		for _, d := range tok.Disclosures {
			if d.Digest != digest(d.Encoded) {
				t.Fatal("digest does not match its disclosure")
			}
			if !d.Element && (d.Name == keySD || d.Name == keyElement) {
				t.Fatal("reserved claim name accepted")
			}
		}
	})
}

// fuzzResolver knows the test issuer and the RFC 9901 example issuers.
func fuzzResolver(tb testing.TB) KeyResolver {
	keys := loadKeys(tb)
	rfcKey, err := jwk.ParseKey([]byte(rfcIssuerJWK))
	require.NoError(tb, err)
	mustard := StaticKeys(testIssuer, publicSet(tb, keys.issuerES, keys.issuerEd))
	rfc := publicSet(tb, rfcKey)
	return func(ctx context.Context, q KeyQuery) (jwk.Key, error) {
		if strings.HasPrefix(q.Issuer, "https://") && strings.Contains(q.Issuer, ".example") && q.Issuer != testIssuer {
			return StaticKeys(q.Issuer, rfc)(ctx, q)
		}
		return mustard(ctx, q)
	}
}

// FuzzVerify: Verify never panics, returns only this package's sentinel
// errors, and what it accepts is processed: no SD-JWT structure left, Key
// Binding checked.
func FuzzVerify(f *testing.F) {
	o := verifyOpts(f)
	o.IssuerKeys = fuzzResolver(f)
	o.AllowedAlgs = []jwa.SignatureAlgorithm{jwa.ES256, jwa.EdDSA, jwa.HS256, jwa.NoSignature}
	sentinels := []error{ErrMalformed, ErrAlgorithm, ErrUnknownKey, ErrSignature, ErrType, ErrExpired,
		ErrNotYetValid, ErrDisclosure, ErrKeyBinding, ErrAudience, ErrNonce, ErrStale}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := Verify(bg, s, o)
		if err != nil {
			if !slices.ContainsFunc(sentinels, func(e error) bool { return errors.Is(err, e) }) {
				t.Fatalf("Verify error outside the sentinels: %v", err)
			}
			return
		}
		if !v.KeyBound || v.HolderKey == nil {
			t.Fatal("accepted without Key Binding")
		}
		if v.VCT != testVCT || v.Issuer == "" {
			t.Fatal("accepted without the expected vct and an iss")
		}
		for _, k := range []string{keySD, keySDAlg} {
			if _, ok := v.Claims[k]; ok {
				t.Fatalf("%s left in the processed payload", k)
			}
		}
		if !slices.IsSorted(v.Disclosed) {
			t.Fatal("Disclosed not sorted")
		}
	})
}

// TestWriteFuzzCorpus rewrites testdata/fuzz with -update-corpus.
func TestWriteFuzzCorpus(t *testing.T) {
	if !*updateCorpus {
		t.Skip("run with -update-corpus to rewrite testdata/fuzz")
	}
	keys := loadKeys(t)
	cred := issueT(t, personaRequest(keys.holderES), keys.issuerES)
	credEd := issueT(t, personaRequest(keys.holderEd), keys.issuerEd)
	pres := presentT(t, cred, []string{"age_over_18", "country", "given_name"}, keys.holderES)
	presOne := presentT(t, cred, []string{"country"}, keys.holderES)
	presEd := presentT(t, credEd, []string{"given_name"}, keys.holderEd)
	tok, err := Parse(pres)
	require.NoError(t, err)
	jwt, err := parseJWS(tok.JWT)
	require.NoError(t, err)
	prefix := pres[:len(pres)-len(tok.KeyBinding)]
	hdrNone := unsigned(t, map[string]any{"alg": "none", "typ": TypeSDJWTVC, "kid": "issuer-es256"}, jwt.payload)
	pub, err := jwk.PublicKeyOf(keys.issuerES)
	require.NoError(t, err)
	pubJSON := fmt.Sprint(pub)
	hs := signJWT(t, []byte(pubJSON), jwa.HS256, map[string]any{"typ": TypeSDJWTVC, "kid": "issuer-es256"}, jwt.payload)
	a3 := rfcVector(t, "a3-presentation.txt")
	sec5 := rfcVector(t, "sec5-presentation.txt")
	nested := reissue(t, keys, map[string]any{
		"iss": testIssuer, "vct": testVCT, "exp": testNow.Add(1e9).Unix(), "cnf": jwt.payload["cnf"],
		"_sd":  []any{digest(encodeDisclosure(t, "c2FsdA", "address", map[string]any{"_sd": []any{digest(encodeDisclosure(t, "c2FsdDI", "street", "x"))}}))},
		"list": []any{map[string]any{"...": digest(encodeDisclosure(t, "c2FsdDM", "el"))}, 1},
	}, []string{
		encodeDisclosure(t, "c2FsdA", "address", map[string]any{"_sd": []any{digest(encodeDisclosure(t, "c2FsdDI", "street", "x"))}}),
		encodeDisclosure(t, "c2FsdDI", "street", "x"),
		encodeDisclosure(t, "c2FsdDM", "el"),
	})

	verifySeeds := []string{
		pres, presOne, presEd, prefix, cred,
		hdrNone + "~" + kbJWT(t, keys.holderES, hdrNone+"~", nil),
		hs + "~" + kbJWT(t, keys.holderES, hs+"~", nil),
		prefix + tok.Disclosures[0].Encoded + "~" + tok.KeyBinding,
		strings.Replace(pres, "~", "~~", 1),
		a3, sec5, nested,
	}
	parseSeeds := append([]string{
		"", "~", "a.b.c~", "a.b.c~~", "e30.e30.~", "e30.e30.~e30~", "e30.e30.=~", "e30.e30.\n~",
		"eyJhIjoxLCJhIjoyfQ.e30.~", // duplicate header key
		"e30.e30.~" + encodeDisclosure(t, "s", "_sd", 1) + "~",
		"e30.e30.~" + encodeDisclosure(t, "s", 1e300) + "~",
		"e30.e30.~" + b64.EncodeToString([]byte(`["s","n",`+strings.Repeat("[", 40)+strings.Repeat("]", 40)+`]`)) + "~",
		"e30.e30.~" + b64.EncodeToString([]byte("[\"s\",\"\xff\",1]")) + "~",
	}, verifySeeds...)

	write := func(target string, seeds []string) {
		dir := filepath.Join("testdata", "fuzz", target)
		require.NoError(t, os.RemoveAll(dir))
		require.NoError(t, os.MkdirAll(dir, 0o755))
		for i, s := range seeds {
			body := "go test fuzz v1\nstring(" + strconv.Quote(s) + ")\n"
			require.NoError(t, os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%02d", i)), []byte(body), 0o644))
		}
	}
	write("FuzzParse", parseSeeds)
	write("FuzzVerify", verifySeeds)
}
