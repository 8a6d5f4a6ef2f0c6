package threshold

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/constraint"
	"github.com/consensys/gnark/frontend"
	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/circuits/persona"
	"github.com/mustard-id/mustard/internal/trust"
	"github.com/mustard-id/mustard/zk"
)

// TestProve2of3 proves a 2-of-3 credential with real Groth16 keys: three
// providers signed, the wallet picks two, and the proof verifies against
// the public statement alone, whichever two it picked.
func TestProve2of3(t *testing.T) {
	f := newFixture(t, 2)
	require.Equal(t, 3, f.n)
	k := thresholdKeys(t, 2)

	// The wallet holds all three endorsements plus a duplicate and a bad
	// one, and lets Choose pick.
	bad := f.all[1]
	bad.Signature = forgeS(bad.Signature)
	held := []Endorsement{bad, f.all[2], f.all[2], f.all[0], f.all[1]}
	chosen, err := Choose(2, &f.pub, &f.priv.Credential, held)
	require.NoError(t, err)
	require.Equal(t, []*zk.PublicKey{f.all[2].Key, f.all[0].Key}, []*zk.PublicKey{chosen[0].Key, chosen[1].Key})
	f.priv.Endorsements = chosen
	require.NoError(t, Check(2, &f.pub, &f.priv))
	w, err := Assign(&f.pub, &f.priv)
	require.NoError(t, err)
	proof, err := k.Prove(w)
	require.NoError(t, err)
	t.Logf("proof size: %d bytes", len(proof))
	require.NoError(t, k.Verify(proof, PublicAssignment(2, &f.pub)))

	// The persona circuit's wire form carries the proof: the statement
	// decoded from JSON verifies under the K = 2 key the proof names.
	b, err := json.Marshal(persona.Encode(k.VKID, "shop.example", "n-0S6_WzA2Mj", &f.pub, proof))
	require.NoError(t, err)
	var j persona.ProofJSON
	require.NoError(t, json.Unmarshal(b, &j))
	st, err := persona.Decode(&j)
	require.NoError(t, err)
	require.Equal(t, k.VKID, st.VK)
	require.NoError(t, k.Verify(st.Proof, PublicAssignment(2, &st.Public)))

	// Another pair of signers: another proof of the same public statement.
	f.priv.Endorsements = []Endorsement{f.all[1], f.all[2]}
	w, err = Assign(&f.pub, &f.priv)
	require.NoError(t, err)
	proof2, err := k.Prove(w)
	require.NoError(t, err)
	require.NoError(t, k.Verify(proof2, PublicAssignment(2, &f.pub)))

	// Every public input is bound to the proof.
	alter := map[string]func(p *Public){
		"registry root":   func(p *Public) { p.RegistryRoot.SetUint64(1) },
		"revocation root": func(p *Public) { p.RevocationRoot.SetUint64(1) },
		"scope":           func(p *Public) { p.Scope = zk.Scope("forum.example") },
		"pseudonym":       func(p *Public) { p.Pseudonym.SetUint64(1) },
		"time":            func(p *Public) { p.Now-- },
		"minimum grade":   func(p *Public) { p.MinGrade = zk.GradeLow },
		"predicate value": func(p *Public) { p.Predicates[0].Value = zk.Int64(0) },
		"predicate op":    func(p *Public) { p.Predicates[0].Op = persona.OpGe },
		"disclosed value": func(p *Public) { p.Disclosures[0].Value = zk.Int64(276) },
		"holder binding":  func(p *Public) { p.HolderBinding = fr.NewElement(8) },
		"nonce":           func(p *Public) { p.Nonce = zk.Nonce("another") },
	}
	for name, edit := range alter {
		t.Run(name, func(t *testing.T) {
			pub := f.pub
			edit(&pub)
			require.ErrorIs(t, k.Verify(proof, PublicAssignment(2, &pub)), zk.ErrProof)
		})
	}

	// The prover itself refuses the false statements: it cannot make a
	// proof from a witness the constraint system rejects.
	refused := map[string]func(f *fixture){
		"one provider's signature twice": func(f *fixture) {
			f.priv.Endorsements = []Endorsement{f.all[0], f.all[0]}
		},
		"one valid signature and one invalid": func(f *fixture) {
			f.priv.Endorsements = []Endorsement{f.all[0], bad}
		},
		"a key not in the registry": func(f *fixture) {
			stranger := newKey(t)
			sig, err := stranger.Sign(f.priv.Credential.Message())
			require.NoError(t, err)
			e := f.all[1]
			e.Key, e.Signature = stranger.Public(), sig
			f.priv.Endorsements = []Endorsement{f.all[0], e}
		},
	}
	for name, edit := range refused {
		t.Run("prover refuses "+name, func(t *testing.T) {
			g := *f
			edit(&g)
			require.Error(t, Check(2, &g.pub, &g.priv))
			w, err := Assign(&g.pub, &g.priv)
			require.NoError(t, err)
			_, err = k.Prove(w)
			require.ErrorContains(t, err, "not satisfied", "the solver, not the witness encoding, refuses")
			if name == "one provider's signature twice" {
				// The distinctness constraint (x_0 - x_1) * inv = 1 with
				// x_0 - x_1 = 0: no inverse exists.
				require.ErrorContains(t, err, "0 ⋅ 0 != 1")
			}
		})
	}
}

// TestAccepted: any k of the n signers, in any order, for K = 1, 2, 3, 5.
func TestAccepted(t *testing.T) {
	perms := func(n, k int) [][]int {
		var out [][]int
		var rec func(cur []int)
		rec = func(cur []int) {
			if len(cur) == k {
				out = append(out, append([]int(nil), cur...))
				return
			}
			for i := range n {
				used := false
				for _, c := range cur {
					used = used || c == i
				}
				if !used {
					rec(append(cur, i))
				}
			}
		}
		rec(nil)
		return out
	}
	for _, k := range []int{1, 2, 3} {
		for _, p := range perms(3, k) {
			t.Run(fmt.Sprintf("K=%d/%v", k, p), func(t *testing.T) {
				t.Parallel()
				f := newFixture(t, k)
				f.priv.Endorsements = f.priv.Endorsements[:0]
				for _, i := range p {
					f.priv.Endorsements = append(f.priv.Endorsements, f.all[i])
				}
				requireAccepted(t, k, &f.pub, &f.priv)
			})
		}
	}
	t.Run("K=5", func(t *testing.T) {
		f := newFixture(t, 5)
		f.priv.Endorsements[0], f.priv.Endorsements[4] = f.priv.Endorsements[4], f.priv.Endorsements[0]
		requireAccepted(t, 5, &f.pub, &f.priv)
	})
	t.Run("grade equal to every signer's maximum, keys valid until now", func(t *testing.T) {
		f := newFixture(t, 2)
		f.grades[0], f.grades[1], f.valid[0], f.valid[1] = zk.GradeHigh, zk.GradeHigh, f.now, f.now
		f.register(t)
		requireAccepted(t, 2, &f.pub, &f.priv)
	})
	t.Run("signers with different maximum grades", func(t *testing.T) {
		f := newFixture(t, 2)
		f.grades[1] = 255
		f.register(t)
		requireAccepted(t, 2, &f.pub, &f.priv)
	})
}

// TestTwoKeysOfOneOrganisationCountOnce: the framework registers one
// organisation under two keys (say, during a key rotation). Both sign;
// the circuit counts organisations, so the two signatures do not meet
// K = 2: Check, the test engine and the R1CS solver refuse them, at the
// organisations' inequality. With a second organisation they do.
func TestTwoKeysOfOneOrganisationCountOnce(t *testing.T) {
	f := newFixture(t, 2)
	doc := &trust.Document{ID: "https://framework.example", Providers: []trust.Provider{
		{ID: "provider-a", Key: hex.EncodeToString(f.keys[0].Public().Bytes()), MaxGrade: "high", ValidUntil: f.valid[0]},
		{ID: "provider-a-2026", Org: "provider-a", Key: hex.EncodeToString(f.keys[1].Public().Bytes()), MaxGrade: "high", ValidUntil: f.valid[1]},
		{ID: "provider-b", Key: hex.EncodeToString(f.keys[2].Public().Bytes()), MaxGrade: "high", ValidUntil: f.valid[2]},
	}}
	reg, idx, err := doc.OrgRegistry()
	require.NoError(t, err)
	f.pub.RegistryRoot = reg.Root()
	endorse := func(i int) Endorsement {
		e := f.all[i]
		e.Org = zk.OrgID(doc.Providers[i].Organisation())
		e.Registry = reg.Path(idx[doc.Providers[i].Key])
		return e
	}
	f.priv.Endorsements = []Endorsement{endorse(0), endorse(1)}
	solveErr := requireRefused(t, 2, &f.pub, &f.priv, ErrStatement, "signers 0 and 1 are keys of one organisation")
	require.ErrorContains(t, solveErr, "assertIsDifferent")
	_, err = Choose(2, &f.pub, &f.priv.Credential, f.priv.Endorsements)
	require.ErrorContains(t, err, "1 usable")

	f.priv.Endorsements = []Endorsement{endorse(0), endorse(2)}
	requireAccepted(t, 2, &f.pub, &f.priv)
	got, err := Choose(2, &f.pub, &f.priv.Credential, []Endorsement{endorse(0), endorse(1), endorse(2)})
	require.NoError(t, err)
	require.Equal(t, f.keys[2].Public().Bytes(), got[1].Key.Bytes(), "Choose skips the organisation's second key")
}

func TestChoose(t *testing.T) {
	f := newFixture(t, 3)
	_, err := Choose(3, &f.pub, &f.priv.Credential, []Endorsement{f.all[0], f.all[1], f.all[1]})
	require.ErrorIs(t, err, ErrStatement)
	require.ErrorContains(t, err, "2 usable")
	expired := f.all[2]
	expired.ValidUntil = f.now - 1 // no longer matches its leaf either
	_, err = Choose(3, &f.pub, &f.priv.Credential, []Endorsement{f.all[0], f.all[1], expired})
	require.ErrorIs(t, err, ErrStatement)
	got, err := Choose(3, &f.pub, &f.priv.Credential, []Endorsement{f.all[2], expired, f.all[1], f.all[2], f.all[0]})
	require.NoError(t, err)
	f.priv.Endorsements = got
	requireAccepted(t, 3, &f.pub, &f.priv)
	for _, k := range []int{0, MaxK + 1} {
		_, err = Choose(k, &f.pub, &f.priv.Credential, f.all)
		require.ErrorIs(t, err, ErrThreshold)
	}
}

func TestThresholdBounds(t *testing.T) {
	for _, k := range []int{0, MaxK + 1} {
		_, err := zk.Compile(New(k))
		require.ErrorIs(t, err, ErrThreshold)
		f := newFixture(t, 1)
		require.ErrorIs(t, Check(k, &f.pub, &f.priv), ErrThreshold)
	}
	f := newFixture(t, 2)
	require.ErrorIs(t, Check(3, &f.pub, &f.priv), ErrShape, "two endorsements for K = 3")
	require.ErrorContains(t, Check(3, &f.pub, &f.priv), "2 endorsements for a threshold of 3")
}

// TestAssignMalformed: Assign returns an error, never panics, on input it
// cannot encode.
func TestAssignMalformed(t *testing.T) {
	cases := map[string]func(f *fixture){
		"no endorsements": func(f *fixture) { f.priv.Endorsements = nil },
		"no key":          func(f *fixture) { f.priv.Endorsements[1].Key = nil },
		"short signature": func(f *fixture) { f.priv.Endorsements[1].Signature = f.priv.Endorsements[1].Signature[:63] },
		"short registry path": func(f *fixture) {
			f.priv.Endorsements[0].Registry.Siblings = f.priv.Endorsements[0].Registry.Siblings[:3]
		},
		"long revocation path": func(f *fixture) {
			f.priv.Revocation.Path.Siblings = append(f.priv.Revocation.Path.Siblings, fr.Element{})
		},
		"in-set on slot 17": func(f *fixture) { f.pub.Predicates[1].Slot = NumAttrs + 1 },
		"17 endorsements (> MaxK)": func(f *fixture) {
			for len(f.priv.Endorsements) <= MaxK {
				f.priv.Endorsements = append(f.priv.Endorsements, f.all[0])
			}
		},
	}
	for name, edit := range cases {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, 2)
			edit(f)
			require.Error(t, Check(max(1, min(len(f.priv.Endorsements), MaxK)), &f.pub, &f.priv))
			_, err := assignNoPanic(&f.pub, &f.priv)
			require.Error(t, err)
			require.NotContains(t, err.Error(), "panicked")
		})
	}
}

// personaKeys returns development keys for the persona circuit, for the
// benchmarks' comparison.
func personaKeys(b testing.TB) *zk.Keys {
	return setupKeys(b, "persona", func() (constraint.ConstraintSystem, error) { return zk.Compile(&persona.Circuit{}) })
}

// BenchmarkProve compares proving time for K = 2 and 3 with the persona
// circuit, in one run and under the same load: one Groth16 setup each.
func BenchmarkProve(b *testing.B) {
	b.Run("persona", func(b *testing.B) {
		f := newFixture(b, 1)
		e := f.all[0]
		nm, err := f.rev.ProveAbsent(zk.RevocationEntry(e.Key, f.priv.Credential.RevNonce))
		require.NoError(b, err)
		pub := f.pub
		pub.RevocationRoot = f.rev.Root()
		// The persona circuit's registry holds T_PROVIDER leaves, not the
		// organisation registry's.
		reg := zk.NewTree(RegistryDepth)
		i, err := reg.Append(zk.ProviderLeaf(e.Key, e.MaxGrade, e.ValidUntil))
		require.NoError(b, err)
		pub.RegistryRoot = reg.Root()
		priv := persona.Private{
			Secret: f.priv.Secret, Credential: f.priv.Credential, Signature: e.Signature, ProviderKey: e.Key,
			MaxGrade: e.MaxGrade, ValidUntil: e.ValidUntil, Registry: reg.Path(i), Revocation: nm,
		}
		require.NoError(b, persona.Check(&pub, &priv))
		w, err := persona.Assign(&pub, &priv)
		require.NoError(b, err)
		benchProve(b, personaKeys(b), w)
	})
	for _, kk := range []int{2, 3} {
		b.Run(fmt.Sprintf("threshold-%d", kk), func(b *testing.B) {
			f := newFixture(b, kk)
			w, err := Assign(&f.pub, &f.priv)
			require.NoError(b, err)
			benchProve(b, thresholdKeys(b, kk), w)
		})
	}
}

// benchProve proves w in a loop and reports, besides the wall clock, the
// CPU seconds per proof (all threads): the figure that survives a
// machine shared with other work.
func benchProve(b *testing.B, k *zk.Keys, w frontend.Circuit) {
	b.ResetTimer()
	start := cpuTime()
	for b.Loop() {
		if _, err := k.Prove(w); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric((cpuTime()-start).Seconds()/float64(b.N), "cpu-s/op")
}

func BenchmarkVerify(b *testing.B) {
	f := newFixture(b, 2)
	k := thresholdKeys(b, 2)
	w, err := Assign(&f.pub, &f.priv)
	require.NoError(b, err)
	proof, err := k.Prove(w)
	require.NoError(b, err)
	pub := PublicAssignment(2, &f.pub)
	b.ResetTimer()
	for b.Loop() {
		if err := k.Verify(proof, pub); err != nil {
			b.Fatal(err)
		}
	}
}
