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
