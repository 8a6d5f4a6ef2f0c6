package persona

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParsePresentationRequest(t *testing.T) {
	cases := []struct {
		in        string
		ok        bool
		scope     string
		claims    int
		responded bool
	}{
		{`{"nonce":"n1","audience":"https://shop.example"}`, true, "shop.example", 0, false},
		{`{"nonce":"n1","audience":"https://shop.example:8443/login","scope":"shop"}`, true, "shop", 0, false},
		{"mustard://present?nonce=n&audience=https%3A%2F%2Fa.example&claims=age_over_18,nationality&response_uri=https%3A%2F%2Frp.example%2Fcb", true, "a.example", 2, true},
		{"https://rp.example/req?nonce=n&audience=rp", true, "rp", 0, false},
		{`{"nonce":"","audience":"a"}`, false, "", 0, false},
		{`{"nonce":"n","audience":"a","response_uri":"javascript:alert(1)"}`, false, "", 0, false},
		{`{"nonce":"n","audience":"a","more":1}`, false, "", 0, false},
		{`{"nonce":"n","audience":"a"} {}`, false, "", 0, false},
		{"mustard://present?audience=a", false, "", 0, false},
		{"ftp://x?nonce=n&audience=a", false, "", 0, false},
		{"mustard://present?nonce=n&audience=a&expires_in=-1", false, "", 0, false},
		{"mustard://present?nonce=n&audience=a&claims=" + strings.Repeat("c,", 20) + "c", false, "", 0, false},
		{strings.Repeat(" ", MaxRequestSize+1), false, "", 0, false},
		{"\xff", false, "", 0, false},
	}
	for _, tc := range cases {
		r, err := ParsePresentationRequest(tc.in)
		if !tc.ok {
			require.ErrorIs(t, err, ErrRequest, "%q", tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		require.Equal(t, tc.scope, r.Scope)
		require.Len(t, r.Claims, tc.claims)
		require.Equal(t, tc.responded, r.ResponseURI != "")
	}
}

// FuzzParsePresentationRequest: a request from outside never panics, and
// what parses is within bounds.
func FuzzParsePresentationRequest(f *testing.F) {
	f.Add(`{"nonce":"n1","audience":"https://shop.example","claims":["age_over_18"],"min_grade":"high"}`)
	f.Add("mustard://present?nonce=n&audience=https%3A%2F%2Fa.example&claims=age_over_18&response_uri=https%3A%2F%2Frp.example%2Fcb")
	f.Add("https://rp.example/req?nonce=n&audience=rp&expires_in=300")
	f.Add("mustard:present?nonce=n&audience=a")
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParsePresentationRequest(s)
		if err != nil {
			return
		}
		if r.Nonce == "" || r.Audience == "" || r.Scope == "" || len(r.Claims) > maxRequestClaims || len(r.Audience) > 255 {
			t.Fatalf("accepted out of bounds: %+v", r)
		}
	})
}

// FuzzParseBackup: a backup from outside never panics, and every name it
// accepts stays inside the wallet directory.
func FuzzParseBackup(f *testing.F) {
	f.Add([]byte(`{"format":"mustard-wallet-backup/v1","files":{"wallet.json":"e30=","core.sealed":"AA==","personas/0123456789abcdef.enc":"AA=="}}`))
	f.Add([]byte(`{"format":"mustard-wallet-backup/v1","files":{"../etc/passwd":"AA=="}}`))
	f.Add([]byte(`{"format":"x"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		files, err := ParseBackup(b)
		if err != nil {
			return
		}
		for n := range files {
			if strings.Contains(n, "..") || strings.HasPrefix(n, "/") || !walletFileName.MatchString(n) {
				t.Fatalf("accepted %q", n)
			}
		}
	})
}
