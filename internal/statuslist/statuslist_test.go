package statuslist

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/internal/sdjwt"
)

// Known answers.
const (
	// draft-ietf-oauth-status-list, "Status List" section, the 1-bit example:
	// statuses 1,0,0,1,1,1,0,1, 1,1,0,0,0,1,0,1 are bytes 0xB9 0xA3.
	draftLst1 = "eNrbuRgAAhcBXQ"
	// The 2-bit example: statuses 1,2,0,3,0,1,0,1,1,2,3,3 are 0xC9 0x44 0xF9.
	draftLst2 = "eNo76fITAAPfAgc"
	// ../shared/testdata/README.md: the empty 131,072-bit W3C Bitstring
	// Status List (compare decoded bits: gzip headers differ).
	w3cEmpty = "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA"
)

func TestDraftExamples(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		bits  int
		lst   string
		want  []uint8
		bytes []byte
	}{
		{"1 bit", 1, draftLst1, []uint8{1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1}, []byte{0xb9, 0xa3}},
		{"2 bits", 2, draftLst2, []uint8{1, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3}, []byte{0xc9, 0x44, 0xf9}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l, err := DecodeToken(ListJSON{Bits: tc.bits, Lst: tc.lst})
			require.NoError(t, err)
			require.Equal(t, tc.bytes, l.Bytes())
			for i, v := range tc.want {
				got, err := l.Get(i)
				require.NoError(t, err)
				require.Equal(t, v, got, "index %d", i)
			}
			// Built with Set, the same bytes; encoded, the same list.
			b, err := New(tc.bits, len(tc.want), LSBFirst)
			require.NoError(t, err)
			for i, v := range tc.want {
				require.NoError(t, b.Set(i, v))
			}
			require.Equal(t, tc.bytes, b.Bytes())
			j, err := b.EncodeToken()
			require.NoError(t, err)
			back, err := DecodeToken(j)
			require.NoError(t, err)
			require.Equal(t, tc.bytes, back.Bytes())
		})
	}
}

func TestW3CEmptyKnownAnswer(t *testing.T) {
	t.Parallel()
	l, err := DecodeBitstring(w3cEmpty, 1)
	require.NoError(t, err)
	require.Equal(t, MinBitstringEntries, l.Len())
	require.Equal(t, make([]byte, MinBitstringEntries/8), l.Bytes())

	// Our encoding of an empty list decodes to the same bits.
	e, err := New(1, MinBitstringEntries, MSBFirst)
	require.NoError(t, err)
	enc, err := e.EncodeBitstring()
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(enc, "u"))
	back, err := DecodeBitstring(enc, 1)
	require.NoError(t, err)
	require.Equal(t, l.Bytes(), back.Bytes())
}

// TestBitOrder pins the two formats' orders: the W3C list's index 0 is
// the left-most (most significant) bit, the IETF list's the least.
func TestBitOrder(t *testing.T) {
	t.Parallel()
	w, err := New(1, MinBitstringEntries, MSBFirst)
	require.NoError(t, err)
	require.NoError(t, w.Set(0, 1))
	require.NoError(t, w.Set(9, 1))
	require.Equal(t, byte(0x80), w.Bytes()[0])
	require.Equal(t, byte(0x40), w.Bytes()[1])
	enc, err := w.EncodeBitstring()
	require.NoError(t, err)
	back, err := DecodeBitstring(enc, 1)
	require.NoError(t, err)
	for i := range 16 {
		v, err := back.Get(i)
		require.NoError(t, err)
		require.Equal(t, i == 0 || i == 9, v == 1, "index %d", i)
	}

	l, err := New(2, 8, LSBFirst)
	require.NoError(t, err)
	require.NoError(t, l.Set(0, uint8(Invalid)))
	require.NoError(t, l.Set(3, uint8(Suspended)))
	require.Equal(t, []byte{0x81, 0x00}, l.Bytes())
}

func TestListBounds(t *testing.T) {
	t.Parallel()
	l, err := New(2, 5, LSBFirst)
	require.NoError(t, err)
	require.Equal(t, 8, l.Len()) // two bytes: padding entries read as zero
	require.ErrorIs(t, l.Set(8, 1), ErrRange)
	require.ErrorIs(t, l.Set(-1, 1), ErrRange)
	require.ErrorIs(t, l.Set(0, 4), ErrRange)
	_, err = l.Get(8)
	require.ErrorIs(t, err, ErrRange)
	for _, bits := range []int{0, 3, 5, 16} {
		_, err := New(bits, 8, LSBFirst)
		require.ErrorIs(t, err, ErrMalformed)
	}
	_, err = New(1, 0, LSBFirst)
	require.ErrorIs(t, err, ErrMalformed)
}

func zlibOf(t *testing.T, b []byte) string {
	var buf bytes.Buffer
	w := zlib.NewWriter(&buf)
	_, err := w.Write(b)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return b64.EncodeToString(buf.Bytes())
}

func gzipOf(t *testing.T, b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	_, err := w.Write(b)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return buf.Bytes()
}

func TestDecodeRefuses(t *testing.T) {
	t.Parallel()
	raw, err := base64.RawURLEncoding.DecodeString(draftLst1)
	require.NoError(t, err)
	bomb := zlibOf(t, make([]byte, MaxDecoded+1))
	short := "u" + b64.EncodeToString(gzipOf(t, make([]byte, 1024)))
	twoMembers := "u" + b64.EncodeToString(append(gzipOf(t, make([]byte, 16384)), gzipOf(t, []byte{1})...))
	for _, tc := range []struct {
		name string
		j    ListJSON
	}{
		{"bits 3", ListJSON{Bits: 3, Lst: draftLst1}},
		{"padding", ListJSON{Bits: 1, Lst: draftLst1 + "=="}},
		{"newline", ListJSON{Bits: 1, Lst: draftLst1[:4] + "\n" + draftLst1[4:]}},
		{"standard alphabet", ListJSON{Bits: 1, Lst: base64.RawStdEncoding.EncodeToString(append(raw, 0xfb, 0xff))}},
		{"not zlib", ListJSON{Bits: 1, Lst: b64.EncodeToString([]byte("hello world"))}},
		{"truncated", ListJSON{Bits: 1, Lst: b64.EncodeToString(raw[:len(raw)-2])}},
		{"trailing data", ListJSON{Bits: 1, Lst: b64.EncodeToString(append(raw, 0))}},
		{"empty", ListJSON{Bits: 1, Lst: zlibOf(t, nil)}},
		{"bomb", ListJSON{Bits: 1, Lst: bomb}},
		{"too long", ListJSON{Bits: 1, Lst: strings.Repeat("A", MaxEncoded+1)}},
	} {
		_, err := DecodeToken(tc.j)
		require.ErrorIs(t, err, ErrMalformed, tc.name)
	}
	for name, s := range map[string]string{
		"no multibase prefix": w3cEmpty[1:],
		"base58 prefix":       "z" + w3cEmpty[1:],
		"shorter than 16 KiB": short,
		"two gzip members":    twoMembers,
		"zlib not gzip":       "u" + draftLst1,
		"empty":               "u",
	} {
		_, err := DecodeBitstring(s, 1)
		require.ErrorIs(t, err, ErrMalformed, name)
	}
}

type signer struct {
	key jwk.Key
	set jwk.Set
}

func newSigner(t testing.TB) signer {
	raw, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	k, err := jwk.FromRaw(raw)
	require.NoError(t, err)
	require.NoError(t, jwk.AssignKeyID(k))
	pub, err := k.PublicKey()
	require.NoError(t, err)
	set := jwk.NewSet()
	require.NoError(t, set.AddKey(pub))
	return signer{key: k, set: set}
}

const (
	testIssuer = "did:web:issuer.example"
	testURI    = "https://issuer.example/v1/status-lists/0"
)

func TestTokenRoundTrip(t *testing.T) {
	t.Parallel()
	s := newSigner(t)
	other := newSigner(t)
	now := time.Unix(1_790_000_000, 0)
	l, err := New(2, 1024, LSBFirst)
	require.NoError(t, err)
	require.NoError(t, l.Set(7, uint8(Invalid)))
	require.NoError(t, l.Set(8, uint8(Suspended)))
	tok := &Token{Issuer: testIssuer, Subject: testURI, IssuedAt: now, Expiry: now.Add(time.Hour), TTL: 5 * time.Minute, List: l}
	raw, err := tok.Sign(s.key)
	require.NoError(t, err)
	opts := ParseOptions{Subject: testURI, Issuer: testIssuer, Keys: sdjwt.StaticKeys(testIssuer, s.set), Now: now.Add(time.Minute)}

	got, err := ParseToken(context.Background(), raw, opts)
	require.NoError(t, err)
	require.Equal(t, 5*time.Minute, got.TTL)
	require.Equal(t, now.Add(time.Hour).Unix(), got.Expiry.Unix())
	for i, want := range map[int]Status{6: Valid, 7: Invalid, 8: Suspended} {
		v, err := got.List.Get(i)
		require.NoError(t, err)
		require.Equal(t, want, Status(v))
	}

	bad := func(name string, raw string, o ParseOptions, want error) {
		t.Helper()
		_, err := ParseToken(context.Background(), raw, o)
		require.ErrorIs(t, err, want, name)
	}
	o := opts
	o.Subject = testURI + "1"
	bad("other list", raw, o, ErrSubject)
	o = opts
	o.Now = now.Add(2 * time.Hour)
	bad("expired", raw, o, ErrExpired)
	o = opts
	o.Now = now.Add(-time.Hour)
	bad("from the future", raw, o, ErrExpired)
	o = opts
	o.Keys = sdjwt.StaticKeys(testIssuer, other.set)
	bad("another key", raw, o, ErrSignature)
	o = opts
	o.Issuer = "did:web:other.example"
	bad("another issuer", raw, o, ErrSignature)
	parts := strings.Split(raw, ".")
	bad("tampered", parts[0]+"."+parts[1]+"A."+parts[2], opts, ErrMalformed)
	bad("tampered payload", parts[0]+"."+b64.EncodeToString([]byte(`{"sub":"`+testURI+`","iat":1790000000,"status_list":{"bits":1,"lst":"`+draftLst1+`"}}`))+"."+parts[2], opts, ErrSignature)
	bad("unsigned", parts[0]+"."+parts[1]+".", opts, ErrSignature)

	// A JWT with another typ is not a status list, even well signed.
	wrongTyp, err := sdjwt.Issue(sdjwt.IssueRequest{Issuer: testIssuer, VCT: "x", IssuedAt: now, Expiry: now.Add(time.Hour), HolderKey: s.key}, s.key)
	require.NoError(t, err)
	bad("typ dc+sd-jwt", strings.TrimSuffix(wrongTyp, "~"), opts, ErrMalformed)
}

func TestStatusNames(t *testing.T) {
	t.Parallel()
	for _, s := range []Status{Valid, Invalid, Suspended} {
		back, ok := ParseStatus(s.String())
		require.True(t, ok)
		require.Equal(t, s, back)
	}
	_, ok := ParseStatus("gone")
	require.False(t, ok)
}
