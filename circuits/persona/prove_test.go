package persona

import (
	"sync"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/backend/groth16"
	"github.com/consensys/gnark/frontend"
	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/zk"
)

// testKeys runs one development setup per test binary.
var testKeys = sync.OnceValues(func() (*zk.Keys, error) {
	ccs, err := zk.Compile(&Circuit{})
	if err != nil {
		return nil, err
	}
	pk, vk, err := groth16.Setup(ccs)
	if err != nil {
		return nil, err
	}
	return &zk.Keys{Name: "persona", CCS: ccs, PK: pk, VK: vk}, nil
})

func keys(t testing.TB) *zk.Keys {
	k, err := testKeys()
	require.NoError(t, err)
	return k
}

func TestProveVerify(t *testing.T) {
	f := newFixture(t)
	k := keys(t)
	w, err := Assign(&f.pub, &f.priv)
	require.NoError(t, err)
	proof, err := k.Prove(w)
	require.NoError(t, err)
	t.Logf("proof size: %d bytes", len(proof))
	require.NoError(t, k.Verify(proof, PublicAssignment(&f.pub)))

	// Every public input is bound to the proof: changing any one of them
	// makes verification fail.
	alter := map[string]func(p *Public){
		"registry root":   func(p *Public) { p.RegistryRoot.SetUint64(1) },
		"revocation root": func(p *Public) { p.RevocationRoot.SetUint64(1) },
		"scope":           func(p *Public) { p.Scope = zk.Scope("forum.example") },
		"pseudonym":       func(p *Public) { p.Pseudonym.SetUint64(1) },
		"time":            func(p *Public) { p.Now-- },
		"minimum grade":   func(p *Public) { p.MinGrade = zk.GradeLow },
		"predicate value": func(p *Public) { p.Predicates[0].Value = zk.Int64(0) },
		"predicate op":    func(p *Public) { p.Predicates[0].Op = OpGe },
		"predicate slot":  func(p *Public) { p.Predicates[0].Slot = 3 },
		"disclosed value": func(p *Public) { p.Disclosures[0].Value = zk.Int64(276) },
		"holder binding":  func(p *Public) { p.HolderBinding = fr.NewElement(8) },
		"nonce":           func(p *Public) { p.Nonce = zk.Nonce("another") },
	}
	for name, f2 := range alter {
		t.Run(name, func(t *testing.T) {
			pub := f.pub
			f2(&pub)
			require.ErrorIs(t, k.Verify(proof, PublicAssignment(&pub)), zk.ErrProof)
		})
	}

	t.Run("tampered proof", func(t *testing.T) {
		bad := append([]byte(nil), proof...)
		bad[40] ^= 1
		require.Error(t, k.Verify(bad, PublicAssignment(&f.pub)))
	})
}

func BenchmarkWitness(b *testing.B) {
	f := newFixture(b)
	b.ResetTimer()
	for b.Loop() {
		if _, err := Assign(&f.pub, &f.priv); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkProve(b *testing.B) {
	f := newFixture(b)
	k := keys(b)
	w, err := Assign(&f.pub, &f.priv)
	require.NoError(b, err)
	b.ResetTimer()
	for b.Loop() {
		if _, err := k.Prove(w); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	f := newFixture(b)
	k := keys(b)
	w, err := Assign(&f.pub, &f.priv)
	require.NoError(b, err)
	proof, err := k.Prove(w)
	require.NoError(b, err)
	pub := PublicAssignment(&f.pub)
	b.ResetTimer()
	for b.Loop() {
		if err := k.Verify(proof, pub); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDerivation compares the wallet's whole derivation (native
// check, witness assignment, witness vector, proof, encoding) with the bare
// groth16.Prove call on the same circuit and witness, in one run.
func BenchmarkDerivation(b *testing.B) {
	f := newFixture(b)
	k := keys(b)
	b.Run("bare-groth16.Prove", func(b *testing.B) {
		a, err := Assign(&f.pub, &f.priv)
		require.NoError(b, err)
		w, err := frontend.NewWitness(a, ecc.BN254.ScalarField())
		require.NoError(b, err)
		for b.Loop() {
			if _, err := groth16.Prove(k.CCS, k.PK, w); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("wallet-derivation", func(b *testing.B) {
		for b.Loop() {
			if err := Check(&f.pub, &f.priv); err != nil {
				b.Fatal(err)
			}
			a, err := Assign(&f.pub, &f.priv)
			if err != nil {
				b.Fatal(err)
			}
			proof, err := k.Prove(a)
			if err != nil {
				b.Fatal(err)
			}
			_ = Encode(k.VKID, "shop.example", "n", &f.pub, proof)
		}
	})
}
