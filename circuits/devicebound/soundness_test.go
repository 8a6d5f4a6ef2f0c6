package devicebound

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"math/big"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark-crypto/ecc/secp256r1"
	"github.com/consensys/gnark/std/math/emulated"
	"github.com/consensys/gnark/test"
	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/circuits/persona"
	"github.com/mustard-id/mustard/zk"
)

// witness assembles a full assignment from parts a test may have forged,
// bypassing Check and Assign's native refusals.
func witness(t *testing.T, pub *persona.Public, priv *persona.Private, b *Binding, s *big.Int) *Circuit {
	t.Helper()
	w, err := PublicAssignment(pub, b)
	require.NoError(t, err)
	p, err := persona.Assign(pub, priv)
	require.NoError(t, err)
	w.Persona = *p
	w.S = emulated.ValueOf[Fr](s)
	return w
}

func solves(w *Circuit) error {
	return test.IsSolved(&Circuit{}, w, ecc.BN254.ScalarField())
}

// TestSoundness forges, for each constraint, a witness that breaks only
// it, and checks that the solver refuses it.
func TestSoundness(t *testing.T) {
	f := newFixture(t)
	b, err := f.sig.Binding(f.pub.Nonce)
	require.NoError(t, err)
	require.NoError(t, solves(witness(t, &f.pub, &f.priv, b, f.sig.S)), "the honest witness must solve")

	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)

	cases := map[string]func(t *testing.T) *Circuit{
		// A valid signature on the right nonce by a key the credential
		// does not commit: a stolen core secret with another device.
		"signature by another key": func(t *testing.T) *Circuit {
			s := signNonce(t, other, f.pub.Nonce)
			ob, err := s.Binding(f.pub.Nonce)
			require.NoError(t, err)
			return witness(t, &f.pub, &f.priv, ob, s.S)
		},
		// The credential commits another key hash than the device's.
		"key not matching DeviceKeyHash": func(t *testing.T) *Circuit {
			g := *f
			g.priv.Credential.DeviceKeyHash = KeyHash(&other.PublicKey)
			g.resign(t)
			return witness(t, &g.pub, &g.priv, b, f.sig.S)
		},
		// The device key signed another verifier's nonce.
		"signature over another nonce": func(t *testing.T) *Circuit {
			n := zk.Nonce("another-nonce")
			s := signNonce(t, f.dev, n)
			ob, err := s.Binding(n)
			require.NoError(t, err)
			return witness(t, &f.pub, &f.priv, ob, s.S)
		},
		"wrong s": func(t *testing.T) *Circuit {
			return witness(t, &f.pub, &f.priv, b, new(big.Int).Add(f.sig.S, big.NewInt(1)))
		},
		"s = 0": func(t *testing.T) *Circuit {
			return witness(t, &f.pub, &f.priv, b, new(big.Int))
		},
		"s = n − s (the other signature of the pair, under the same R)": func(t *testing.T) *Circuit {
			return witness(t, &f.pub, &f.priv, b, new(big.Int).Sub(order, f.sig.S))
		},
		// −R has the same x, hence the same r: T becomes −T.
		"R negated": func(t *testing.T) *Circuit {
			nb := &Binding{}
			nb.R.Neg(&b.R)
			return witness(t, &f.pub, &f.priv, nb, f.sig.S)
		},
		// The efficient-ECDSA inputs inconsistent with R.
		"table entry tampered": func(t *testing.T) *Circuit {
			w := witness(t, &f.pub, &f.priv, b, f.sig.S)
			v := topDigit(f.sig.S)
			w.Table[0][v] = w.Table[0][(v+1)%len(w.Table[0])]
			return w
		},
		"table entry off by G": func(t *testing.T) *Circuit {
			w := witness(t, &f.pub, &f.priv, b, f.sig.S)
			v := topDigit(f.sig.S)
			w.Table[0][v] = packed(addG(t, b, 0, v))
			return w
		},
		"C tampered": func(t *testing.T) *Circuit {
			w := witness(t, &f.pub, &f.priv, b, f.sig.S)
			_, g := secp256r1.Generators()
			w.C = point(&g)
			return w
		},
		"tables of another R": func(t *testing.T) *Circuit {
			s := signNonce(t, f.dev, f.pub.Nonce) // same key, same nonce, fresh R
			ob, err := s.Binding(f.pub.Nonce)
			require.NoError(t, err)
			w := witness(t, &f.pub, &f.priv, ob, f.sig.S)
			return w
		},
		// The persona statement's own constraints are still enforced.
		"persona: wrong pseudonym": func(t *testing.T) *Circuit {
			g := *f
			g.pub.Pseudonym = fr.NewElement(1)
			return witness(t, &g.pub, &g.priv, b, f.sig.S)
		},
		"persona: expired credential": func(t *testing.T) *Circuit {
			g := *f
			g.priv.Credential.Expiry = f.now - 1
			g.resign(t)
			return witness(t, &g.pub, &g.priv, b, f.sig.S)
		},
		"persona: wrong core secret": func(t *testing.T) *Circuit {
			g := *f
			g.priv.Secret = fr.NewElement(5)
			return witness(t, &g.pub, &g.priv, b, f.sig.S)
		},
		"persona: provider signature over another message": func(t *testing.T) *Circuit {
			g := *f
			g.priv.Credential.Grade = zk.GradeLow
			return witness(t, &g.pub, &g.priv, b, f.sig.S)
		},
	}
	for name, forge := range cases {
		t.Run(name, func(t *testing.T) {
			err := solves(forge(t))
			require.Error(t, err)
			t.Log(err)
		})
	}
}

// topDigit is the comb digit of s the first lookup uses.
func topDigit(s *big.Int) int {
	v := 0
	for k := range Teeth {
		v |= int(s.Bit(k*Spacing+Spacing-1)) << k
	}
	return v
}

// addG returns the table entry (j, v) plus G.
func addG(t *testing.T, b *Binding, j, v int) *secp256r1.G1Affine {
	tt, _, err := b.TU(zk.Nonce("n-0S6_WzA2Mj"))
	require.NoError(t, err)
	tables, _ := combTables(&tt, Tables, Teeth, Spacing)
	_, g := secp256r1.Generators()
	var p secp256r1.G1Affine
	p.Add(&tables[j][v], &g)
	return &p
}

// TestNativeRefusals: what the circuit never sees is checked natively.
func TestNativeRefusals(t *testing.T) {
	f := newFixture(t)
	require.NoError(t, Check(&f.pub, &f.priv, f.sig))

	t.Run("r = 0 or s = 0 in the signature", func(t *testing.T) {
		for _, s := range []*Signed{
			{Key: &f.dev.PublicKey, R: new(big.Int), S: f.sig.S},
			{Key: &f.dev.PublicKey, R: f.sig.R, S: new(big.Int)},
			{Key: &f.dev.PublicKey, R: order, S: f.sig.S},
		} {
			_, err := s.Binding(f.pub.Nonce)
			require.ErrorIs(t, err, ErrSignature)
		}
	})
	t.Run("R with x ≡ 0 mod n, at infinity or off the curve", func(t *testing.T) {
		var inf Binding
		_, _, err := inf.TU(f.pub.Nonce)
		require.ErrorIs(t, err, ErrPoint)
		for _, x := range []*big.Int{new(big.Int), order} {
			var b Binding
			b.R.X.SetBigInt(x)
			// y² = x³ − 3x + b
			var y2, three secp256r1.G1Affine
			_ = three
			y2.X.Square(&b.R.X).Mul(&y2.X, &b.R.X)
			var t3 = b.R.X
			t3.Double(&t3).Add(&t3, &b.R.X)
			y2.X.Sub(&y2.X, &t3)
			_, bb := secp256r1.CurveCoefficients()
			y2.X.Add(&y2.X, &bb)
			if b.R.Y.Sqrt(&y2.X) == nil {
				continue // no point with this x
			}
			require.True(t, b.R.IsOnCurve())
			_, _, err := b.TU(f.pub.Nonce)
			require.ErrorIs(t, err, ErrPoint, "r = 0")
		}
	})
	t.Run("signature over another nonce", func(t *testing.T) {
		_, err := f.sig.Binding(zk.Nonce("another-nonce"))
		require.ErrorIs(t, err, ErrSignature)
	})
	t.Run("key not matching", func(t *testing.T) {
		other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(t, err)
		s := signNonce(t, other, f.pub.Nonce)
		require.ErrorIs(t, Check(&f.pub, &f.priv, s), ErrKey)
	})
	t.Run("malformed R encodings", func(t *testing.T) {
		good := (&Binding{R: mustBinding(t, f).R}).Bytes()
		_, err := ParseBinding(good)
		require.NoError(t, err)
		bad := append([]byte(nil), good...)
		bad[63] ^= 1
		_, err = ParseBinding(bad)
		require.ErrorIs(t, err, ErrPoint)
		_, err = ParseBinding(good[:63])
		require.ErrorIs(t, err, ErrPoint)
		_, err = ParseBinding(make([]byte, 64))
		require.ErrorIs(t, err, ErrPoint)
		over := append([]byte(nil), good...)
		for i := range 32 {
			over[i] = 0xff
		}
		_, err = ParseBinding(over)
		require.ErrorIs(t, err, ErrPoint)
	})
}

func mustBinding(t *testing.T, f *fixture) *Binding {
	b, err := f.sig.Binding(f.pub.Nonce)
	require.NoError(t, err)
	return b
}

// TestCombComplete: the comb solves for scalars whose digits repeat or
// vanish (s = 1: every digit 0 but the lowest; 3·2^30: the two top
// digits equal), which a comb starting at a table point could not add.
// Each s is the "signature" of the key s·T + U, which the credential is
// made to commit.
func TestCombComplete(t *testing.T) {
	f := newFixture(t)
	b, err := f.sig.Binding(f.pub.Nonce)
	require.NoError(t, err)
	tt, u, err := b.TU(f.pub.Nonce)
	require.NoError(t, err)
	for _, s := range []*big.Int{
		big.NewInt(1), big.NewInt(2), new(big.Int).Lsh(big.NewInt(3), 30),
		new(big.Int).Sub(order, big.NewInt(1)), new(big.Int).Lsh(big.NewInt(1), 255),
	} {
		var q secp256r1.G1Affine
		q.ScalarMultiplication(&tt, s)
		q.Add(&q, &u)
		var x, y big.Int
		q.X.BigInt(&x)
		q.Y.BigInt(&y)
		g := *f
		g.priv.Credential.DeviceKeyHash = KeyHash(&ecdsa.PublicKey{Curve: elliptic.P256(), X: &x, Y: &y})
		g.resign(t)
		require.NoError(t, solves(witness(t, &g.pub, &g.priv, b, s)), "s = %v", s)
	}
}
