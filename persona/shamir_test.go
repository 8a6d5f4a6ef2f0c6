package persona

import (
	"bytes"
	"crypto/rand"
	"testing"

	"github.com/stretchr/testify/require"
)

// gfMulSlow is the textbook shift-and-add multiplication, branching
// freely: the reference gfMul must agree with.
func gfMulSlow(a, b byte) byte {
	var p byte
	for b != 0 {
		if b&1 != 0 {
			p ^= a
		}
		if a&0x80 != 0 {
			a = a<<1 ^ 0x1b
		} else {
			a <<= 1
		}
		b >>= 1
	}
	return p
}

func TestGF256(t *testing.T) {
	// FIPS-197 §4.2: {57} • {83} = {c1}; §4.2.1: {57} • {13} = {fe}.
	require.Equal(t, byte(0xc1), gfMul(0x57, 0x83))
	require.Equal(t, byte(0xfe), gfMul(0x57, 0x13))
	// FIPS-197 §5.1.1: the S-box's first step maps {53} to its inverse {ca}.
	require.Equal(t, byte(0xca), gfInv(0x53))
	require.Equal(t, byte(0), gfInv(0))
	for a := range 256 {
		for b := range 256 {
			if gfMul(byte(a), byte(b)) != gfMulSlow(byte(a), byte(b)) {
				t.Fatalf("gfMul(%#x, %#x)", a, b)
			}
		}
		if a != 0 {
			require.Equal(t, byte(1), gfMul(byte(a), gfInv(byte(a))), "inverse of %#x", a)
		}
	}
}

// TestShamirKnownShares interpolates hand-computed shares: the polynomial
// f(x) = 0x2a + 0x05 x + 0x03 x^2 over GF(2^8) has f(1) = 0x2c,
// f(2) = 0x2c and f(3) = 0x2a (computed independently, by hand and in
// Python).
func TestShamirKnownShares(t *testing.T) {
	f := func(x byte) byte { return 0x2a ^ gfMul(0x05, x) ^ gfMul(0x03, gfMul(x, x)) }
	require.Equal(t, []byte{0x2c, 0x2c, 0x2a}, []byte{f(1), f(2), f(3)})
	s, err := shamirCombine([]byte{1, 2, 3}, [][]byte{{0x2c}, {0x2c}, {0x2a}})
	require.NoError(t, err)
	require.Equal(t, []byte{0x2a}, s)
}

func TestShamir3of5(t *testing.T) {
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	shares, err := shamirSplit(secret, 3, 5)
	require.NoError(t, err)
	// Every 3 of the 5 recover it.
	for i := range 5 {
		for j := i + 1; j < 5; j++ {
			for k := j + 1; k < 5; k++ {
				got, err := shamirCombine([]byte{byte(i + 1), byte(j + 1), byte(k + 1)}, [][]byte{shares[i], shares[j], shares[k]})
				require.NoError(t, err)
				require.Equal(t, secret, got)
			}
		}
	}
	// 2 of them interpolate to something else.
	got, err := shamirCombine([]byte{1, 2}, [][]byte{shares[0], shares[1]})
	require.NoError(t, err)
	require.False(t, bytes.Equal(secret, got))
	// A changed share changes the result.
	bad := bytes.Clone(shares[2])
	bad[0] ^= 1
	got, err = shamirCombine([]byte{1, 2, 3}, [][]byte{shares[0], shares[1], bad})
	require.NoError(t, err)
	require.False(t, bytes.Equal(secret, got))
	// Malformed sets are refused.
	_, err = shamirCombine([]byte{1, 1, 2}, [][]byte{shares[0], shares[0], shares[1]})
	require.ErrorIs(t, err, ErrShares)
	_, err = shamirCombine([]byte{0, 1}, [][]byte{shares[0], shares[1]})
	require.ErrorIs(t, err, ErrShares)
	for _, kn := range [][2]int{{1, 3}, {4, 3}, {2, 256}} {
		_, err = shamirSplit(secret, kn[0], kn[1])
		require.ErrorIs(t, err, ErrShares)
	}
}

func BenchmarkShamirSplit3of5(b *testing.B) {
	secret := make([]byte, 32)
	for b.Loop() {
		_, _ = shamirSplit(secret, 3, 5)
	}
}
