package trust

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/zk"
)

func governance(t testing.TB) (jwk.Key, jwk.Set) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	k, err := jwk.FromRaw(priv)
	require.NoError(t, err)
	_ = k.Set(jwk.AlgorithmKey, jwa.EdDSA)
	pub, err := k.PublicKey()
	require.NoError(t, err)
	set := jwk.NewSet()
	require.NoError(t, set.AddKey(pub))
	return k, set
}

func document(t testing.TB) *Document {
	pk, err := zk.GenerateKey(nil)
	require.NoError(t, err)
	return &Document{
		ID: "urn:test", Version: 1,
		Sources:   []Source{{ID: "https://gov.example", Kind: "jwt-vc", Grade: "high", JWKS: json.RawMessage(`{"keys":[]}`)}},
		Providers: []Provider{{ID: "p", Key: strings.ToLower(hexOf(pk.Public().Bytes())), MaxGrade: "high", ValidUntil: 2e9}},
	}
}

func hexOf(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, x := range b {
		out = append(out, digits[x>>4], digits[x&15])
	}
	return string(out)
}

func TestSealParse(t *testing.T) {
	key, set := governance(t)
	d := document(t)
	signed, err := Seal(d, key)
	require.NoError(t, err)
	got, err := Parse(signed, set)
	require.NoError(t, err)
	require.Equal(t, d.RegistryRoot, got.RegistryRoot)
	_, err = got.Source("https://gov.example")
	require.NoError(t, err)
	_, err = got.Source("https://other.example")
	require.ErrorIs(t, err, ErrUnknown)

	// Another governance key: refused.
	_, other := governance(t)
	_, err = Parse(signed, other)
	require.ErrorIs(t, err, ErrSignature)

	// A registry root that does not match its providers: refused even when
	// properly signed.
	d.RegistryRoot = strings.Repeat("0", 64)
	payload, _ := json.Marshal(d)
	hdr := jws.NewHeaders()
	_ = hdr.Set(jws.TypeKey, MediaType)
	lying, err := jws.Sign(payload, jws.WithKey(jwa.EdDSA, key, jws.WithProtectedHeaders(hdr)))
	require.NoError(t, err)
	_, err = Parse(lying, set)
	require.ErrorIs(t, err, ErrMalformed)

	// A provider key that is not a curve point.
	d2 := document(t)
	d2.Providers[0].Key = strings.Repeat("ff", 32)
	_, err = Seal(d2, key)
	require.ErrorIs(t, err, ErrMalformed)
}

func FuzzParse(f *testing.F) {
	key, set := governance(f)
	signed, err := Seal(document(f), key)
	require.NoError(f, err)
	f.Add(signed)
	orgs, err := Seal(orgDocument(f), key)
	require.NoError(f, err)
	f.Add(orgs)
	f.Add([]byte("eyJhbGciOiJub25lIn0.e30."))
	f.Add([]byte("not a jws"))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := Parse(data, set)
		if err == nil && d == nil {
			t.Fatal("nil document without error")
		}
		if err == nil {
			// A document that parses has an organisation registry.
			if _, _, err := d.OrgRegistry(); err != nil {
				t.Fatalf("parsed, but no organisation registry: %v", err)
			}
		}
	})
}

// Formats, the shared subject scheme and the grade rule survive sealing
// and parsing, and a source accepts exactly its formats (its legacy kind
// when it lists none).
func TestSourceFormatsAndRules(t *testing.T) {
	gk, gset := governance(t)
	d := document(t)
	d.GradeRule = GradeRuleTwoForHigh
	d.Sources = append(d.Sources, Source{ID: "https://bank.example", Formats: []string{FormatSDJWTVC, FormatOIDC}, Grade: "substantial", SubjectClaim: "personal_number", SubjectScheme: "national-id", JWKS: json.RawMessage(`{"keys":[]}`)})
	signed, err := Seal(d, gk)
	require.NoError(t, err)
	got, err := Parse(signed, gset)
	require.NoError(t, err)
	require.Equal(t, GradeRuleTwoForHigh, got.GradeRule)
	gov, err := got.Source("https://gov.example")
	require.NoError(t, err)
	bank, err := got.Source("https://bank.example")
	require.NoError(t, err)
	require.Equal(t, "national-id", bank.SubjectScheme)
	for _, tc := range []struct {
		src    *Source
		format string
		want   bool
	}{
		{gov, FormatJWTVC, true}, {gov, FormatSDJWTVC, false},
		{bank, FormatSDJWTVC, true}, {bank, FormatOIDC, true}, {bank, FormatJWTVC, false}, {bank, FormatLDPVC, false},
	} {
		require.Equal(t, tc.want, tc.src.Accepts(tc.format), "%s %s", tc.src.ID, tc.format)
	}
}
