package persona

import (
	"encoding/base64"
	"strings"
	"testing"
)

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

// FuzzDescribeIssued: a credential an OpenID4VCI issuer returns, any
// bytes, is described or refused, never a panic.
func FuzzDescribeIssued(f *testing.F) {
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	f.Add("e30." + enc(`{"exp":1790000000,"pseudonym":"ab","status":{"status_list":{"idx":3,"uri":"https://i.example/v1/status-lists/2"}}}`) + ".sig~WyJhIiwiYiIsMV0~")
	f.Add("e30." + enc(`{"validUntil":"2026-12-24T00:00:00Z","credentialSubject":{"pseudonym":"ab"},"credentialStatus":[{"statusPurpose":"revocation","statusListIndex":"7","statusListCredential":"https://i.example/v1/status-lists/1/revocation"}]}`) + ".sig")
	f.Add("e30." + enc(`{"credentialStatus":{"statusListIndex":"x"}}`) + ".sig")
	f.Add("a.b")
	f.Fuzz(func(t *testing.T, cred string) {
		out, err := describeIssued(cred, "dc+sd-jwt")
		if err == nil && out.Credential != cred {
			t.Fatal("the credential is kept as it came")
		}
	})
}

// FuzzParseRevocationUpdate: a provider's revocation page never panics,
// and an accepted one fits its request.
func FuzzParseRevocationUpdate(f *testing.F) {
	f.Add([]byte(`{"root":"0x01","entries":["0x02","0x03"],"since":0,"size":2}`), 0)
	f.Add([]byte(`{"root":"0x01","entries":[],"since":5,"size":5}`), 5)
	f.Add([]byte(`{"root":"0x01","entries":["0x02"],"since":3,"size":2}`), 3)
	f.Add([]byte(`{"root":"zz","entries":null}`), 0)
	f.Fuzz(func(t *testing.T, b []byte, since int) {
		u, err := ParseRevocationUpdate(b, since)
		if err != nil {
			return
		}
		if u.Since != since || u.Size < since || len(u.Entries) > u.Size-since {
			t.Fatalf("accepted a page that does not fit: since %d size %d entries %d", u.Since, u.Size, len(u.Entries))
		}
	})
}
