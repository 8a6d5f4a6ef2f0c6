package zk

import (
	"bytes"
	"encoding/hex"
	"math/big"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr/poseidon2"
	"github.com/consensys/gnark-crypto/ecc/bn254/twistededwards"
	"github.com/stretchr/testify/require"
)

func randElem(t testing.TB) fr.Element {
	e, err := RandomElement()
	require.NoError(t, err)
	return e
}

func elem(x uint64) fr.Element { return fr.NewElement(x) }

// TestKnownAnswers pins outputs computed once with gnark-crypto v0.21.0, so
// that an upgrade changing Poseidon2's parameters or round constants, the
// EdDSA encoding or the hash layout is caught here rather than as proofs
// that no longer verify against deployed roots and keys. There is no
// independent vector: gnark-crypto derives its width-2 round constants
// itself; the cross tests in circuits/persona check native against
// in-circuit.
func TestKnownAnswers(t *testing.T) {
	p := poseidon2.GetDefaultParameters()
	require.Equal(t, [3]int{2, 6, 50}, [3]int{p.Width, p.NbFullRounds, p.NbPartialRounds}, "Poseidon2 width, full rounds, partial rounds")

	set, err := SetTree(5, []fr.Element{Int64(528)})
	require.NoError(t, err)
	x, y := bytes.Repeat([]byte{0x11}, 32), bytes.Repeat([]byte{0x22}, 32)
	cases := []struct {
		name string
		got  fr.Element
		want string
	}{
		{"Compress(0, 0)", Compress(fr.Element{}, fr.Element{}), "292c3a4b9343aec63e584aefa8bedeaefae44e6d718451a75736def795109dfb"},
		{"Compress(1, 2)", Compress(elem(1), elem(2)), "02e7529d93e1a7ae526147c2ee72588aee90e6a7c3e361de6daa6be045c6f530"},
		{"H(TagHolder, 1)", Hash(TagHolder, elem(1)), "025c10e679f0d61eb6b60779ef72b58afa97a4d0e2eeb794ff548120d85e46d9"},
		{"H(TagPseudonym, 1, 2)", Hash(TagPseudonym, elem(1), elem(2)), "1dd5e532de2d577fee2dca58fcceaf92f91aca495f947cbd4051413fbd38ddfc"},
		{"Scope(shop.example)", Scope("shop.example"), "0bde0160a25d4b514e0276c17835f641244b5956aafb2c6be56538b4f4373978"},
		{"HashBytes(TagString, Jansen)", HashBytes(TagString, []byte("Jansen")), "28ac8c7a351ef465f164035bfc9c78d813585c80e74ed874d9a8ee30879cde00"},
		{"empty tree of depth 16", NewTree(16).Root(), "0526bcf2f2f80f0767b3b7ccd36aad34bff6994d25fc1b69788cc630e93df5bb"},
		{"empty indexed tree of depth 32", NewIndexedTree(32).Root(), "279991e07622c79973072240aafa20d7dbcf8f6b91cf1c291477eecdfc5ead0d"},
		{"SetTree(5, {528})", set.Root(), "0b1147d415b69d72f70ded6462b6e2f420485289065dd557055356be5c4177d6"},
		{"KeyHash(TagHolderKey, 0x11.., 0x22..)", KeyHash(TagHolderKey, x, y), "1a3bce689c54f58425d7c01380efe914ae76628fccb179844ed4275fa8eb0a08"},
	}
	for _, tc := range cases {
		require.Equal(t, tc.want, Hex(tc.got), tc.name)
	}

	// EdDSA: a key from a fixed seed and its (deterministic) signature.
	k, err := GenerateKey(bytes.NewReader(bytes.Repeat([]byte{7}, 64)))
	require.NoError(t, err)
	sig, err := k.Sign(elem(1))
	require.NoError(t, err)
	require.Equal(t, "687935def69680ff1ce68c7f38d3778d6e358886dee5aefd3079d6e110a2ad01", hex.EncodeToString(k.Public().Bytes()))
	require.Equal(t, "021c453c1f114dd1ab91d643c64a4743c5d78a0162ad5b08f750cd2ba8cae127"+
		"01b25b5b1f972d906accdab7500bcaaf9db02692ed9f952cd99d873463b2c891", hex.EncodeToString(sig))
	require.NoError(t, k.Public().Verify(elem(1), sig))
}

func TestHash(t *testing.T) {
	// Merkle–Damgård with a zero IV: H(tag, x...) = C(...C(C(0, tag), x1)..., xk).
	a, b := randElem(t), randElem(t)
	require.Equal(t, Compress(Compress(Compress(fr.Element{}, elem(TagRevLeaf)), a), b), Hash(TagRevLeaf, a, b))
	require.Equal(t, Compress(fr.Element{}, elem(7)), Hash(7))
	require.NotEqual(t, Hash(TagHolder, a), Hash(TagPseudonym, a), "tags separate domains")
	require.NotEqual(t, Hash(TagRevLeaf, a, b), Hash(TagRevLeaf, b, a))
	require.Equal(t, RevLeaf(a, b), Hash(TagRevLeaf, a, b))

	// HashBytes: length first, then 31-byte big-endian chunks.
	msg := bytes.Repeat([]byte{0xab}, 40)
	var c1, c2 fr.Element
	c1.SetBytes(msg[:31])
	c2.SetBytes(msg[31:])
	require.Equal(t, Hash(TagString, elem(40), c1, c2), HashBytes(TagString, msg))
	require.Equal(t, Hash(TagString, elem(0)), HashBytes(TagString, nil))
	require.NotEqual(t, HashBytes(TagString, []byte{1}), HashBytes(TagString, []byte{0, 1}), "lengths never collide")
}

func TestTree(t *testing.T) {
	t.Run("hand-computed root", func(t *testing.T) {
		tr := NewTree(2)
		l := []fr.Element{randElem(t), randElem(t), randElem(t)}
		for i, x := range l {
			j, err := tr.Append(x)
			require.NoError(t, err)
			require.Equal(t, uint64(i), j)
		}
		require.Equal(t, uint64(3), tr.Len())
		want := Compress(Compress(l[0], l[1]), Compress(l[2], fr.Element{}))
		require.Equal(t, want, tr.Root())
		_, err := tr.Append(randElem(t))
		require.NoError(t, err)
		_, err = tr.Append(randElem(t))
		require.ErrorIs(t, err, ErrTreeFull)
	})

	t.Run("empty subtrees are zero hashes", func(t *testing.T) {
		z := fr.Element{}
		for d := 1; d <= 32; d++ {
			z = Compress(z, z)
			require.Equal(t, z, NewTree(d).Root(), "depth %d", d)
		}
		tr := NewTree(8)
		_, err := tr.Append(elem(5))
		require.NoError(t, err)
		p := tr.Path(200) // an empty leaf far from the only one
		require.Equal(t, Compress(fr.Element{}, fr.Element{}), p.Siblings[1])
		require.Equal(t, tr.Root(), p.Root(fr.Element{}))
	})

	t.Run("paths verify, set replaces", func(t *testing.T) {
		tr := NewTree(10)
		leaves := make([]fr.Element, 37)
		for i := range leaves {
			leaves[i] = randElem(t)
			_, err := tr.Append(leaves[i])
			require.NoError(t, err)
		}
		for i, l := range leaves {
			p := tr.Path(uint64(i))
			require.Len(t, p.Siblings, 10)
			require.Equal(t, tr.Root(), p.Root(l))
			require.NotEqual(t, tr.Root(), p.Root(Int64(-1)))
			got, err := tr.Leaf(uint64(i))
			require.NoError(t, err)
			require.Equal(t, l, got)
		}
		old := tr.Root()
		x := randElem(t)
		require.NoError(t, tr.Set(12, x))
		require.NotEqual(t, old, tr.Root())
		require.Equal(t, tr.Root(), tr.Path(12).Root(x))
		// The same leaves appended afresh give the same root.
		fresh := NewTree(10)
		leaves[12] = x
		for _, l := range leaves {
			_, err := fresh.Append(l)
			require.NoError(t, err)
		}
		require.Equal(t, fresh.Root(), tr.Root())

		require.ErrorIs(t, tr.Set(37, x), ErrNotFound)
		_, err := tr.Leaf(37)
		require.ErrorIs(t, err, ErrNotFound)
	})

	t.Run("depth bounds", func(t *testing.T) {
		require.Panics(t, func() { NewTree(0) })
		require.Panics(t, func() { NewTree(63) })
		require.NotPanics(t, func() { NewTree(62) })
	})
}

func TestIndexedTree(t *testing.T) {
	const depth = 16
	values := make([]fr.Element, 40)
	for i := range values {
		values[i] = randElem(t)
	}
	values[0] = Int64(-1) // p - 1, the largest value
	values[1] = elem(1)   // the smallest

	a := NewIndexedTree(depth)
	for _, v := range values {
		require.NoError(t, a.Insert(v))
	}
	shuffled := slices.Clone(values)
	rand.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	b := NewIndexedTree(depth)
	for _, v := range shuffled {
		require.NoError(t, b.Insert(v))
	}

	t.Run("membership does not depend on insertion order", func(t *testing.T) {
		require.Equal(t, len(values), a.Len())
		require.Equal(t, a.Len(), b.Len())
		probes := append(slices.Clone(values), randElem(t), randElem(t), elem(2), Int64(-2))
		for _, x := range probes {
			require.Equal(t, a.Contains(x), b.Contains(x))
			_, errA := a.ProveAbsent(x)
			_, errB := b.ProveAbsent(x)
			require.Equal(t, errA == nil, errB == nil)
		}
		require.False(t, a.Contains(fr.Element{}), "the sentinel is not a member")
	})

	t.Run("non-membership verifies for absent values", func(t *testing.T) {
		for _, x := range []fr.Element{randElem(t), randElem(t), elem(2), Int64(-2)} {
			for _, tr := range []*IndexedTree{a, b} {
				w, err := tr.ProveAbsent(x)
				require.NoError(t, err)
				require.True(t, w.Verify(tr.Root(), x))
				require.Len(t, w.Path.Siblings, depth)
				require.False(t, w.Verify(addInt(tr.Root(), 1), x))
			}
		}
	})

	t.Run("no witness for members", func(t *testing.T) {
		for _, x := range values {
			_, err := a.ProveAbsent(x)
			require.ErrorIs(t, err, ErrDuplicate)
			// A neighbour's witness never covers a member: the member's own
			// leaf and its predecessor's both exclude it.
			for _, y := range []fr.Element{addInt(x, 1), addInt(x, -1)} {
				if a.Contains(y) || y.IsZero() {
					continue
				}
				w, err := a.ProveAbsent(y)
				require.NoError(t, err)
				require.True(t, w.Verify(a.Root(), y))
				require.False(t, w.Verify(a.Root(), x), "a witness for %s must not cover member %s", Hex(y), Hex(x))
			}
		}
	})

	t.Run("a witness goes stale when its gap is filled", func(t *testing.T) {
		tr := NewIndexedTree(depth)
		require.NoError(t, tr.Insert(elem(10)))
		require.NoError(t, tr.Insert(elem(20)))
		w, err := tr.ProveAbsent(elem(15))
		require.NoError(t, err)
		require.Equal(t, [2]fr.Element{elem(10), elem(20)}, [2]fr.Element{w.LowValue, w.LowNext})
		require.NoError(t, tr.Insert(elem(15)))
		require.False(t, w.Verify(tr.Root(), elem(15)))
		w, err = tr.ProveAbsent(elem(16))
		require.NoError(t, err)
		require.Equal(t, [2]fr.Element{elem(15), elem(20)}, [2]fr.Element{w.LowValue, w.LowNext})
		w, err = tr.ProveAbsent(elem(25))
		require.NoError(t, err)
		require.True(t, w.LowNext.IsZero(), "above every value the low leaf is the last")
		w, err = tr.ProveAbsent(elem(5))
		require.NoError(t, err)
		require.True(t, w.LowValue.IsZero(), "below every value the low leaf is the sentinel")
		require.True(t, w.Verify(tr.Root(), elem(5)))
	})

	t.Run("duplicates and zero refused", func(t *testing.T) {
		root := a.Root()
		require.ErrorIs(t, a.Insert(values[3]), ErrDuplicate)
		require.ErrorIs(t, a.Insert(fr.Element{}), ErrRange)
		require.Equal(t, root, a.Root(), "a refused insert changes nothing")
		_, err := a.ProveAbsent(fr.Element{})
		require.Error(t, err)
	})

	t.Run("Values rebuilds the same root", func(t *testing.T) {
		require.Equal(t, values, a.Values())
		c := NewIndexedTree(depth)
		for _, v := range a.Values() {
			require.NoError(t, c.Insert(v))
		}
		require.Equal(t, a.Root(), c.Root())
		require.Equal(t, b.Values(), shuffled)
	})

	t.Run("full", func(t *testing.T) {
		tr := NewIndexedTree(2) // the sentinel and three values
		for i := uint64(1); i <= 3; i++ {
			require.NoError(t, tr.Insert(elem(i)))
		}
		require.ErrorIs(t, tr.Insert(elem(4)), ErrTreeFull)
	})
}

func addInt(a fr.Element, n int64) fr.Element {
	d := Int64(n)
	a.Add(&a, &d)
	return a
}

func TestSetTree(t *testing.T) {
	const depth = 5
	set := []fr.Element{Int64(276), Int64(528), Int64(250)}
	tr, err := SetTree(depth, set)
	require.NoError(t, err)
	require.Equal(t, uint64(1)<<depth, tr.Len(), "padded to 2^depth leaves")
	for i := range uint64(1) << depth {
		l, err := tr.Leaf(i)
		require.NoError(t, err)
		require.Contains(t, set, l, "leaf %d: padding repeats set values, never zero", i)
		require.Equal(t, tr.Root(), tr.Path(i).Root(l))
		// A value not in the set never verifies at any index.
		for _, x := range []fr.Element{{}, Int64(56), addInt(l, 1)} {
			require.NotEqual(t, tr.Root(), tr.Path(i).Root(x))
		}
	}
	_, err = SetTree(depth, nil)
	require.ErrorIs(t, err, ErrRange)

	// The root depends on the set, not on padding: {a} and {a, a} agree.
	single, err := SetTree(depth, set[:1])
	require.NoError(t, err)
	double, err := SetTree(depth, []fr.Element{set[0], set[0]})
	require.NoError(t, err)
	require.Equal(t, single.Root(), double.Root())

	t.Run("more values than leaves", func(t *testing.T) {
		values := make([]fr.Element, 1<<depth+1)
		for i := range values {
			values[i] = elem(uint64(i + 1))
		}
		_, err := SetTree(depth, values)
		require.ErrorIs(t, err, ErrRange)
	})
}

func TestParseHex(t *testing.T) {
	mod := fr.Modulus()
	hexOf := func(x *big.Int) string { return hex.EncodeToString(x.FillBytes(make([]byte, 32))) }
	pm1 := new(big.Int).Sub(mod, big.NewInt(1))

	for _, s := range []string{hexOf(big.NewInt(0)), hexOf(big.NewInt(1)), hexOf(pm1)} {
		e, err := ParseHex(s)
		require.NoError(t, err, s)
		require.Equal(t, s, Hex(e))
	}
	e, err := ParseHex(hexOf(pm1))
	require.NoError(t, err)
	require.Equal(t, Int64(-1), e)

	bad := []string{
		hexOf(mod), // p: non-canonical zero
		hexOf(new(big.Int).Add(mod, big.NewInt(1))), // p + 1: non-canonical one
		strings.Repeat("ff", 32),
		"",
		"00",
		strings.Repeat("0", 63),
		strings.Repeat("0", 65),
		strings.Repeat("00", 33),
		"0x" + strings.Repeat("0", 62),
		strings.Repeat("0", 63) + "g",
		" " + strings.Repeat("0", 63),
	}
	for _, s := range bad {
		_, err := ParseHex(s)
		require.ErrorIs(t, err, ErrRange, "%q", s)
	}

	t.Run("upper case", func(t *testing.T) {
		s := strings.ToUpper(hexOf(pm1))
		_, err := ParseHex(s)
		require.ErrorIs(t, err, ErrRange)
	})
}

// FuzzParseHex: ParseHex never panics, accepts only 64 hex digits of a
// value below p, and what it accepts round-trips through Hex.
func FuzzParseHex(f *testing.F) {
	f.Add(strings.Repeat("0", 64))
	f.Add(Hex(Int64(-1)))
	f.Add(hex.EncodeToString(fr.Modulus().FillBytes(make([]byte, 32))))
	f.Add(strings.Repeat("f", 64))
	f.Add("")
	f.Add("0x00")
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseHex(s)
		if err != nil {
			require.ErrorIs(t, err, ErrRange)
			return
		}
		require.Len(t, s, 64)
		require.True(t, strings.EqualFold(s, Hex(e)), "%q parsed to %s", s, Hex(e))
		b, _ := hex.DecodeString(s)
		require.Negative(t, new(big.Int).SetBytes(b).Cmp(fr.Modulus()))
		again, err := ParseHex(Hex(e))
		require.NoError(t, err)
		require.Equal(t, e, again)
	})
}

func TestElement(t *testing.T) {
	_, err := Element(fr.Modulus())
	require.ErrorIs(t, err, ErrRange)
	_, err = Element(big.NewInt(-1))
	require.ErrorIs(t, err, ErrRange)
	e, err := Element(big.NewInt(42))
	require.NoError(t, err)
	require.Equal(t, elem(42), e)
}

func TestAttrEncode(t *testing.T) {
	enc := func(name, v string) (fr.Element, error) {
		a, ok := AttrByName(name)
		require.True(t, ok, name)
		return a.Encode(v)
	}
	cases := []struct {
		attr, in string
		want     fr.Element
	}{
		{"birth_date", "1970-01-01", elem(0)},
		{"birth_date", "1970-01-02", elem(1)},
		{"birth_date", "1969-12-31", Int64(-1)}, // p - 1
		{"birth_date", "1900-01-01", Int64(-25567)},
		{"birth_date", "1990-04-12", Int64(7406)},
		{"birth_date", "2000-02-29", Int64(11016)},
		{"enrolled_on", "2026-11-24", Int64(20781)},
		{"nationality", "NL", Int64(528)},
		{"nationality", "nl", Int64(528)},
		{"nationality", "528", Int64(528)},
		{"residence_country", "DE", Int64(276)},
		{"residence_country", "040", Int64(40)},
		{"source_kind", "-9223372036854775808", Int64(-1 << 63)},
		{"source_kind", "9223372036854775807", Int64(1<<63 - 1)},
		{"family_name", "Jansen", HashBytes(TagString, []byte("Jansen"))},
		{"family_name", "", HashBytes(TagString, nil)},
	}
	for _, tc := range cases {
		got, err := enc(tc.attr, tc.in)
		require.NoError(t, err, "%s %q", tc.attr, tc.in)
		require.Equal(t, tc.want, got, "%s %q", tc.attr, tc.in)
	}
	for _, tc := range [][2]string{
		{"birth_date", "1990-02-30"},
		{"birth_date", "12/04/1990"},
		{"birth_date", ""},
		{"nationality", "XX"},
		{"nationality", "0"},
		{"nationality", "1000"},
		{"nationality", "-528"},
		{"source_kind", "9223372036854775808"},
		{"source_kind", "1.5"},
	} {
		_, err := enc(tc[0], tc[1])
		require.Error(t, err, "%s %q", tc[0], tc[1])
	}

	require.Equal(t, int64(-1), Days(time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC)))
	require.Equal(t, int64(-1), Days(time.Date(1970, 1, 1, 0, 30, 0, 0, time.FixedZone("CET", 3600))), "the UTC date counts")
	for _, a := range Schema {
		require.Equal(t, a.Kind != KindString, a.Comparable(), a.Name)
	}
	for code, n := range Countries {
		got, err := CountryCode(code)
		require.NoError(t, err)
		require.Equal(t, n, got)
	}
	for _, g := range []uint64{GradeLow, GradeSubstantial, GradeHigh} {
		back, err := ParseGrade(GradeName(g))
		require.NoError(t, err)
		require.Equal(t, g, back)
	}
	_, err := ParseGrade("very high")
	require.Error(t, err)
}

func TestKeyHash(t *testing.T) {
	x := bytes.Repeat([]byte{0x11}, 32)
	y := bytes.Repeat([]byte{0x22}, 32)
	var xh, xl, yh, yl fr.Element
	xh.SetBytes(x[:16])
	xl.SetBytes(x[16:])
	yh.SetBytes(y[:16])
	yl.SetBytes(y[16:])
	require.Equal(t, Hash(TagHolderKey, xh, xl, yh, yl), KeyHash(TagHolderKey, x, y))
	require.NotEqual(t, KeyHash(TagHolderKey, x, y), KeyHash(TagHolderKey, y, x))
	require.NotEqual(t, KeyHash(TagHolderKey, x, y), KeyHash(TagDevice, x, y))

	// Short big-endian coordinates are left-padded: leading zeros do not
	// change the key.
	short := []byte{1, 2, 3}
	padded := append(make([]byte, 29), short...)
	require.Equal(t, KeyHash(TagDevice, padded, y), KeyHash(TagDevice, short, y))

	// 256-bit coordinates above p are hashed as they are, not reduced.
	ff := bytes.Repeat([]byte{0xff}, 32)
	red := new(big.Int).Mod(new(big.Int).SetBytes(ff), fr.Modulus()).FillBytes(make([]byte, 32))
	require.NotEqual(t, KeyHash(TagDevice, ff, y), KeyHash(TagDevice, red, y))
}

func TestProviderKeys(t *testing.T) {
	k, err := GenerateKey(nil)
	require.NoError(t, err)
	m := randElem(t)
	sig, err := k.Sign(m)
	require.NoError(t, err)
	require.Len(t, sig, 64)
	require.NoError(t, k.Public().Verify(m, sig))
	require.ErrorIs(t, k.Public().Verify(addInt(m, 1), sig), ErrSignature)
	require.ErrorIs(t, k.Public().Verify(m, sig[:63]), ErrSignature)

	k2, err := ParsePrivateKey(k.Bytes())
	require.NoError(t, err)
	require.Equal(t, k.Public().Bytes(), k2.Public().Bytes())
	pk, err := ParsePublicKey(k.Public().Bytes())
	require.NoError(t, err)
	require.NoError(t, pk.Verify(m, sig))

	leaf := ProviderLeaf(pk, GradeHigh, 1<<40-1)
	require.Equal(t, Hash(TagProvider, pk.A.X, pk.A.Y, elem(GradeHigh), elem(1<<40-1)), leaf)
	require.Equal(t, Hash(TagRevoked, pk.A.X, m), RevocationEntry(pk, m))
}

// compressPoint encodes a point as the curve's 32-byte compressed form, little-endian
// y with x's sign in the top bit, built by hand so that non-canonical forms
// can be made too.
func compressPoint(y *big.Int, xNeg bool) []byte {
	b := y.FillBytes(make([]byte, 32))
	slices.Reverse(b)
	if xNeg {
		b[31] |= 0x80
	}
	return b
}

func TestParsePublicKey(t *testing.T) {
	k, err := GenerateKey(nil)
	require.NoError(t, err)
	good := k.Public().Bytes()

	t.Run("identity", func(t *testing.T) {
		_, err := ParsePublicKey(compressPoint(big.NewInt(1), false))
		require.Error(t, err)
	})
	t.Run("order-2 point (0, -1)", func(t *testing.T) {
		_, err := ParsePublicKey(compressPoint(new(big.Int).Sub(fr.Modulus(), big.NewInt(1)), false))
		require.Error(t, err)
	})
	t.Run("key plus a small-order point", func(t *testing.T) {
		var T, p twistededwards.PointAffine
		T.X.SetZero()
		T.Y.SetOne()
		T.Y.Neg(&T.Y)
		p.Add(&k.Public().A, &T)
		b := p.Bytes()
		_, err := ParsePublicKey(b[:])
		require.Error(t, err)
	})
	t.Run("not on the curve", func(t *testing.T) {
		for y := int64(2); y < 100; y++ {
			b := compressPoint(big.NewInt(y), false)
			var p twistededwards.PointAffine
			if _, err := p.SetBytes(b); err == nil && !p.IsOnCurve() {
				_, err := ParsePublicKey(b)
				require.Error(t, err)
				return
			}
		}
		t.Fatal("no y off the curve below 100")
	})
	t.Run("short", func(t *testing.T) {
		_, err := ParsePublicKey(good[:31])
		require.Error(t, err)
	})
	t.Run("trailing bytes", func(t *testing.T) {
		_, err := ParsePublicKey(append(slices.Clone(good), 0))
		require.Error(t, err)
	})
	t.Run("non-canonical y (y + p)", func(t *testing.T) {
		var y big.Int
		k.Public().A.Y.BigInt(&y)
		y.Add(&y, fr.Modulus())
		if y.BitLen() > 255 {
			t.Skip("y + p does not fit; another key would")
		}
		alias := compressPoint(&y, good[31]&0x80 != 0)
		require.NotEqual(t, good, alias)
		pk, err := ParsePublicKey(alias)
		_ = pk
		require.Error(t, err)
	})
}

// bulkIndexedTree builds, in one pass and in parallel, the tree that
// inserting values one by one would build: leaf i+1 holds values[i] and
// its successor in the final set, leaf 0 the sentinel and the smallest
// value. TestBulkIndexedTree checks it against Insert.
func bulkIndexedTree(depth int, values []fr.Element) *IndexedTree {
	t, err := IndexedTreeFrom(depth, values)
	if err != nil {
		panic(err)
	}
	return t
}

func TestBulkIndexedTree(t *testing.T) {
	values := make([]fr.Element, 100)
	for i := range values {
		values[i] = randElem(t)
	}
	seq := NewIndexedTree(12)
	for _, v := range values {
		require.NoError(t, seq.Insert(v))
	}
	bulk := bulkIndexedTree(12, values)
	require.Equal(t, seq.Root(), bulk.Root())
	x := randElem(t)
	require.NoError(t, seq.Insert(x))
	require.NoError(t, bulk.Insert(x))
	require.Equal(t, seq.Root(), bulk.Root())
	y := randElem(t)
	w, err := bulk.ProveAbsent(y)
	require.NoError(t, err)
	require.True(t, w.Verify(bulk.Root(), y))
}

// BenchmarkIndexedTreeInsert inserts into a depth-32 revocation tree that
// already holds 1,000,000 entries (built once, in bulk, in about ten
// seconds on two cores).
func BenchmarkIndexedTreeInsert(b *testing.B) {
	const n = 1_000_000
	values := make([]fr.Element, n)
	for i := range values {
		values[i] = randElem(b)
	}
	start := time.Now()
	tr := bulkIndexedTree(32, values)
	b.Logf("built a tree of %d entries in %s", tr.Len(), time.Since(start).Round(time.Millisecond))
	for b.Loop() {
		if err := tr.Insert(randElem(b)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "inserts/s")
}

// BenchmarkIndexedTreeRebuild compares what a wallet does with a revocation
// snapshot today (Insert, one value at a time) with the one-pass build of
// bulkIndexedTree, for a snapshot of 10,000 entries.
func BenchmarkIndexedTreeRebuild(b *testing.B) {
	const n = 10_000
	values := make([]fr.Element, n)
	for i := range values {
		values[i] = randElem(b)
	}
	b.Run("insert", func(b *testing.B) {
		for b.Loop() {
			tr := NewIndexedTree(32)
			for _, v := range values {
				if err := tr.Insert(v); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("bulk", func(b *testing.B) {
		for b.Loop() {
			bulkIndexedTree(32, values)
		}
	})
}
