package persona

import (
	"bytes"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/mustard-id/mustard/coreid"
	"github.com/mustard-id/mustard/zk"
)

// FuzzParseRevocationFile: a revocation cache file, any bytes, is parsed
// or refused, never a panic; what parses re-encodes to the same bytes.
func FuzzParseRevocationFile(f *testing.F) {
	key := bytes.Repeat([]byte{9}, 32)
	tree := zk.NewIndexedTree(coreid.RevocationDepth)
	for i := range 3 {
		_ = tree.Insert(fr.NewElement(uint64(10 + i)))
	}
	good, err := encodeRevocationFile("ab", "http://127.0.0.1:1", "e30.e30.AAAA", tree, key)
	if err != nil {
		f.Fatal(err)
	}
	empty, _ := encodeRevocationFile("ab", "", "", zk.NewIndexedTree(coreid.RevocationDepth), key)
	f.Add(good)
	f.Add(empty)
	f.Add(good[:len(good)-macLen])
	f.Add(good[:40])
	f.Add([]byte(revocationMagic))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, withMAC := range []bool{true, false} {
			var c *CachedRevocations
			var err error
			if withMAC {
				c, err = ParseRevocationFile(b, key)
			} else {
				c, err = parseRevocationBody(b)
			}
			if err != nil {
				continue
			}
			again, err := encodeRevocationFile(c.Provider, c.Server, c.SignedRoot, c.Tree, key)
			if err != nil {
				t.Fatal(err)
			}
			if !withMAC {
				again = again[:len(again)-macLen]
			}
			if !bytes.Equal(again, b) {
				t.Fatal("a parsed file does not re-encode to itself")
			}
		}
	})
}
