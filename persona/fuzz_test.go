package persona

import (
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
