package sdjwt

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	t.Parallel()
	keys := loadKeys(t)
	cred := issueT(t, personaRequest(keys.holderES), keys.issuerES)
	pres := presentT(t, cred, []string{"country"}, keys.holderES)
	for _, s := range []string{cred, pres} {
		tok, err := Parse(s)
		require.NoError(t, err)
		require.Equal(t, s, tok.Serialize())
	}
	tok, err := Parse(pres)
	require.NoError(t, err)
	require.Len(t, tok.Disclosures, 1)
	require.Equal(t, "country", tok.Disclosures[0].Name)
	require.NotEmpty(t, tok.KeyBinding)

	// RFC 9901 §4: "<Issuer-signed JWT>~" is an SD-JWT without Disclosures.
	jwt := tok.JWT
	tok, err = Parse(jwt + "~")
	require.NoError(t, err)
	require.Empty(t, tok.Disclosures)
	require.Empty(t, tok.KeyBinding)
}

func TestParseRejects(t *testing.T) {
	t.Parallel()
	keys := loadKeys(t)
	cred := issueT(t, personaRequest(keys.holderES), keys.issuerES)
	tok, err := Parse(cred)
	require.NoError(t, err)
	jwt := tok.JWT
	disc := func(json string) string { return b64.EncodeToString([]byte(json)) }

	for _, tc := range []struct {
		name, in string
		want     error
	}{
		{"empty", "", ErrMalformed},
		{"a bare JWT, no ~", jwt, ErrMalformed},
		{"too large", jwt + "~" + strings.Repeat("A", MaxSize) + "~", ErrMalformed},
		{"too many disclosures", jwt + "~" + strings.Repeat(disc(`["s","n",1]`)+"~", MaxDisclosures+1), ErrMalformed},
		{"empty disclosure", jwt + "~~", ErrMalformed},
		{"JWT with two segments", "e30.e30~", ErrMalformed},
		{"JWT with four segments", jwt + ".e30~", ErrMalformed},
		{"header not JSON", "bm90.e30.AA~", ErrMalformed},
		{"header an array", disc(`[]`) + ".e30.AA~", ErrMalformed},
		{"duplicate header key", disc(`{"alg":"ES256","alg":"none"}`) + ".e30.AA~", ErrMalformed},
		{"duplicate payload key", "e30." + disc(`{"iss":"a","iss":"b"}`) + ".AA~", ErrMalformed},
		{"trailing data after payload", "e30." + disc(`{} {}`) + ".AA~", ErrMalformed},
		{"padding", jwt + "~" + disc(`["s","n",1]`) + "=~", ErrMalformed},
		{"standard base64 alphabet", jwt + "~" + "WyJz+IiwibiIs/MV0" + "~", ErrMalformed},
		{"newline in a disclosure", jwt + "~WyJzIiwi\nbiIsMV0~", ErrMalformed},
		{"non-canonical base64 (trailing bits)", jwt + "~" + disc(`["s","n",1]`)[:len(disc(`["s","n",1]`))-1] + "1~", ErrMalformed},
		{"disclosure not JSON", jwt + "~" + disc(`["s","n",`) + "~", ErrMalformed},
		{"disclosure an object", jwt + "~" + disc(`{"s":1}`) + "~", ErrMalformed},
		{"disclosure of one element", jwt + "~" + disc(`["s"]`) + "~", ErrMalformed},
		{"disclosure of four elements", jwt + "~" + disc(`["s","n",1,2]`) + "~", ErrMalformed},
		{"salt not a string", jwt + "~" + disc(`[1,"n",1]`) + "~", ErrMalformed},
		{"empty salt", jwt + "~" + disc(`["","n",1]`) + "~", ErrMalformed},
		{"claim name not a string", jwt + "~" + disc(`["s",1,1]`) + "~", ErrMalformed},
		{"claim name _sd", jwt + "~" + disc(`["s","_sd",[]]`) + "~", ErrMalformed},
		{"claim name ...", jwt + "~" + disc(`["s","...","x"]`) + "~", ErrMalformed},
		{"duplicate key in a disclosed value", jwt + "~" + disc(`["s","n",{"a":1,"a":2}]`) + "~", ErrMalformed},
		{"invalid UTF-8", jwt + "~" + disc("[\"s\",\"n\xff\",1]") + "~", ErrMalformed},
		{"number out of range", jwt + "~" + disc(`["s","n",1e400]`) + "~", ErrMalformed},
		{"nesting too deep", jwt + "~" + disc(`["s","n",`+strings.Repeat("[", maxDepth)+strings.Repeat("]", maxDepth)+`]`) + "~", ErrMalformed},
		{"duplicate disclosure", jwt + "~" + disc(`["s","n",1]`) + "~" + disc(`["s","n",1]`) + "~", ErrDisclosure},
		{"malformed KB-JWT", jwt + "~" + "abc", ErrMalformed},
		{"KB-JWT with a bad signature alphabet", jwt + "~" + "e30.e30.a+b", ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse(tc.in)
			require.ErrorIs(t, err, tc.want)
			require.True(t, strings.HasPrefix(err.Error(), "sdjwt: parse: "))
		})
	}
}

func TestDecodeJSON(t *testing.T) {
	t.Parallel()
	v, err := decodeJSON([]byte(`{"a":[1,"x",true,null,{"b":2.5}],"c":{}}`))
	require.NoError(t, err)
	require.Equal(t, map[string]any{"a": []any{float64(1), "x", true, nil, map[string]any{"b": 2.5}}, "c": map[string]any{}}, v)

	_, err = decodeJSON([]byte(strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1)))
	require.Error(t, err, "depth is bounded")
	_, err = decodeJSON([]byte(strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth)))
	require.NoError(t, err)
	for _, bad := range []string{``, `{`, `{"a":1,}`, `[1 2]`, `{"a" 1}`, `1 2`, `{"a":1}x`, `"\ud800`, `{"a":1,"a":1}`} {
		_, err := decodeJSON([]byte(bad))
		require.Error(t, err, bad)
	}
}
