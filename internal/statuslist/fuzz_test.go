package statuslist

import (
	"context"
	"testing"
	"time"

	"github.com/mustard-id/mustard/internal/sdjwt"
)

// FuzzDecodeToken: any bits and lst decode to a list or an error, never a
// panic, and a decoded list reads every index it reports.
func FuzzDecodeToken(f *testing.F) {
	f.Add(1, draftLst1)
	f.Add(2, draftLst2)
	f.Add(8, "eJwDAAAAAAE")
	f.Add(1, "")
	f.Add(4, "eNrbuRgAAhcBXQ==")
	f.Fuzz(func(t *testing.T, bits int, lst string) {
		l, err := DecodeToken(ListJSON{Bits: bits, Lst: lst})
		if err != nil {
			return
		}
		if l.Len() == 0 || len(l.Bytes()) > MaxDecoded {
			t.Fatalf("decoded a list of %d entries, %d bytes", l.Len(), len(l.Bytes()))
		}
		if _, err := l.Get(l.Len() - 1); err != nil {
			t.Fatal(err)
		}
		if _, err := l.Get(l.Len()); err == nil {
			t.Fatal("read past the end")
		}
	})
}

// FuzzDecodeBitstring: the W3C decoder on arbitrary encodedList strings.
func FuzzDecodeBitstring(f *testing.F) {
	f.Add(w3cEmpty, 1)
	f.Add("u"+draftLst1, 1)
	f.Add("zH4sIAAAAAAAAA", 2)
	f.Add("u", 1)
	f.Fuzz(func(t *testing.T, s string, size int) {
		l, err := DecodeBitstring(s, size)
		if err != nil {
			return
		}
		if len(l.Bytes())*8 < MinBitstringEntries {
			t.Fatal("accepted a bitstring under the minimum")
		}
		if _, err := l.Get(l.Len() - 1); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzParseToken: arbitrary Status List Tokens are refused or parsed
// under the resolver's key, never panic.
func FuzzParseToken(f *testing.F) {
	s := newSigner(f)
	now := time.Unix(1_790_000_000, 0)
	l, _ := New(2, 64, LSBFirst)
	good, err := (&Token{Issuer: testIssuer, Subject: testURI, IssuedAt: now, Expiry: now.Add(time.Hour), TTL: time.Minute, List: l}).Sign(s.key)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add("eyJhbGciOiJub25lIiwidHlwIjoic3RhdHVzbGlzdCtqd3QifQ.e30.")
	f.Add("a.b.c")
	opts := ParseOptions{Subject: testURI, Issuer: testIssuer, Keys: sdjwt.StaticKeys(testIssuer, s.set), Now: now}
	f.Fuzz(func(t *testing.T, raw string) {
		tok, err := ParseToken(context.Background(), raw, opts)
		if err == nil && (tok.Subject != testURI || tok.List == nil) {
			t.Fatal("accepted a token for another list")
		}
	})
}
