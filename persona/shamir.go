package persona

import (
	"crypto/rand"
	"errors"
	"fmt"
)

// Shamir secret sharing over GF(2^8) with the AES polynomial
// x^8 + x^4 + x^3 + x + 1, byte by byte (as in HashiCorp Vault's shamir
// package and SLIP-0039's field). The arithmetic uses no tables and no
// branches on secret data: a table lookup indexed by a secret byte leaks
// it through the cache.

// gfMul multiplies in GF(2^8) in constant time.
func gfMul(a, b byte) byte {
	var p byte
	for range 8 {
		// p ^= a if the low bit of b is set.
		p ^= a & -(b & 1)
		// a *= x, reducing by the polynomial if the high bit was set.
		hi := a >> 7
		a = a<<1 ^ (0x1b & -hi)
		b >>= 1
	}
	return p
}

// gfInv returns a^254 = a^-1 (0 for 0), by a fixed chain of squarings and
// multiplications.
func gfInv(a byte) byte {
	// 254 = 0b11111110: r = a^(2+4+...+128).
	r := byte(1)
	sq := a
	for range 7 {
		sq = gfMul(sq, sq) // a^2, a^4, ..., a^128
		r = gfMul(r, sq)
	}
	return r
}

// Errors of secret sharing.
var (
	ErrShares = errors.New("persona: recovery shares")
)

// shamirSplit splits secret into n shares of which any k recover it.
// Share i (1-based) is evaluated at x = i.
func shamirSplit(secret []byte, k, n int) ([][]byte, error) {
	if k < 2 || n < k || n > 255 {
		return nil, fmt.Errorf("%w: need 2 <= k <= n <= 255, got %d-of-%d", ErrShares, k, n)
	}
	if len(secret) == 0 {
		return nil, fmt.Errorf("%w: empty secret", ErrShares)
	}
	shares := make([][]byte, n)
	for i := range shares {
		shares[i] = make([]byte, len(secret))
	}
	coef := make([]byte, k) // coef[0] is the secret byte
	defer clear(coef)
	for b, s := range secret {
		if _, err := rand.Read(coef[1:]); err != nil {
			return nil, err
		}
		coef[0] = s
		for i := range n {
			x := byte(i + 1)
			// Horner's rule.
			var y byte
			for j := k - 1; j >= 0; j-- {
				y = gfMul(y, x) ^ coef[j]
			}
			shares[i][b] = y
		}
	}
	return shares, nil
}

// shamirCombine interpolates the shares (x-coordinates xs, values ys) at
// zero. It needs at least the threshold's worth of shares to be right; it
// cannot tell on its own, so callers check the result.
func shamirCombine(xs []byte, ys [][]byte) ([]byte, error) {
	if len(xs) < 2 || len(xs) != len(ys) {
		return nil, fmt.Errorf("%w: need at least 2 shares", ErrShares)
	}
	size := len(ys[0])
	for i, x := range xs {
		if x == 0 {
			return nil, fmt.Errorf("%w: a share has x = 0", ErrShares)
		}
		if len(ys[i]) != size {
			return nil, fmt.Errorf("%w: shares of different lengths", ErrShares)
		}
		for _, x2 := range xs[:i] {
			if x == x2 {
				return nil, fmt.Errorf("%w: the same share twice", ErrShares)
			}
		}
	}
	// Lagrange basis at 0: l_i = prod_{j != i} x_j / (x_j - x_i); in
	// characteristic 2, subtraction is XOR.
	basis := make([]byte, len(xs))
	for i, xi := range xs {
		num, den := byte(1), byte(1)
		for j, xj := range xs {
			if j != i {
				num = gfMul(num, xj)
				den = gfMul(den, xj^xi)
			}
		}
		basis[i] = gfMul(num, gfInv(den))
	}
	out := make([]byte, size)
	for b := range size {
		var s byte
		for i := range xs {
			s ^= gfMul(basis[i], ys[i][b])
		}
		out[b] = s
	}
	return out, nil
}
