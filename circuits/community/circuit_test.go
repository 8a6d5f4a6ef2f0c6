package community

import (
	"os"
	"sync"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/test"

	"github.com/mustard-id/mustard/zk"
)

// group is a community of five members; member 3's secret is known.
func group(t testing.TB) (*zk.Tree, fr.Element) {
	t.Helper()
	tree := zk.NewTree(Depth)
	var mine fr.Element
	for i := range 5 {
		s, err := zk.RandomElement()
		if err != nil {
			t.Fatal(err)
		}
		if i == 3 {
			mine = s
		}
		if _, err := tree.Append(zk.MemberLeaf(s)); err != nil {
			t.Fatal(err)
		}
	}
	return tree, mine
}

func solved(c frontend.Circuit) error {
	return test.IsSolved(&Circuit{}, c, ecc.BN254.ScalarField())
}

func TestStatement(t *testing.T) {
	tree, mine := group(t)
	c, pub, err := Assign(mine, tree, 3, "poll-1", "yes")
	if err != nil {
		t.Fatal(err)
	}
	if err := solved(c); err != nil {
		t.Fatalf("an honest statement does not solve: %v", err)
	}
	if _, _, err := Assign(mine, tree, 2, "poll-1", "yes"); err != ErrNotMember {
		t.Fatal("assigned a member at another's index")
	}
	// The nullifier repeats for one member and topic, and only then.
	_, again, _ := Assign(mine, tree, 3, "poll-1", "no")
	_, other, _ := Assign(mine, tree, 3, "poll-2", "yes")
	if again.Nullifier != pub.Nullifier || other.Nullifier == pub.Nullifier {
		t.Fatal("nullifiers do not follow (member, topic)")
	}
}

// Every constraint refuses what it guards.
func TestStatementNegative(t *testing.T) {
	tree, mine := group(t)
	for name, mut := range map[string]func(c *Circuit){
		"root of another tree":  func(c *Circuit) { c.Root = zk.Int64(1) },
		"another secret":        func(c *Circuit) { s, _ := zk.RandomElement(); c.Secret = s },
		"another index":         func(c *Circuit) { c.Index = 2 },
		"index beyond the tree": func(c *Circuit) { c.Index = uint64(3 + 1<<Depth) },
		"altered path":          func(c *Circuit) { c.Path[7] = zk.Int64(5) },
		"nullifier of another topic": func(c *Circuit) {
			c.Nullifier = zk.Nullifier(mine, Topic("poll-2"))
		},
		"nullifier of another member": func(c *Circuit) {
			s, _ := zk.RandomElement()
			c.Nullifier = zk.Nullifier(s, c.Topic.(fr.Element))
		},
		"topic changed after the fact": func(c *Circuit) { c.Topic = Topic("poll-2") },
	} {
		t.Run(name, func(t *testing.T) {
			c, _, err := Assign(mine, tree, 3, "poll-1", "yes")
			if err != nil {
				t.Fatal(err)
			}
			mut(c)
			if solved(c) == nil {
				t.Fatal("solved")
			}
		})
	}
}

var keyDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "community-keys-")
	if err != nil {
		panic(err)
	}
	keyDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// keys is a development setup, once per test binary.
var keys = sync.OnceValues(func() (*zk.Keys, error) {
	return zk.LoadOrSetup(keyDir, "community", &Circuit{}, nil)
})

// A proof holds for its signal only: the signal is bound.
func TestProofBindsSignal(t *testing.T) {
	k, err := keys()
	if err != nil {
		t.Fatal(err)
	}
	tree, mine := group(t)
	c, pub, err := Assign(mine, tree, 3, "poll-1", "yes")
	if err != nil {
		t.Fatal(err)
	}
	proof, err := k.Prove(c)
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Verify(proof, PublicAssignment(pub)); err != nil {
		t.Fatal(err)
	}
	moved := *pub
	moved.Signal = Signal("no")
	if k.Verify(proof, PublicAssignment(&moved)) == nil {
		t.Fatal("a proof verified for another statement")
	}
	moved = *pub
	moved.Topic = Topic("poll-2")
	if k.Verify(proof, PublicAssignment(&moved)) == nil {
		t.Fatal("a proof verified for another topic")
	}
	t.Logf("community statement circuit: %d constraints, %d public inputs", k.CCS.GetNbConstraints(), k.CCS.GetNbPublicVariables()-1)
}

func BenchmarkProve(b *testing.B) {
	k, err := keys()
	if err != nil {
		b.Fatal(err)
	}
	tree, mine := group(b)
	c, _, _ := Assign(mine, tree, 3, "poll-1", "yes")
	b.ResetTimer()
	for range b.N {
		if _, err := k.Prove(c); err != nil {
			b.Fatal(err)
		}
	}
}
