package persona

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestWireRoundTrip(t *testing.T) {
	f := newFixture(t)
	j := Encode("sha256:00", "shop.example", "n-1", &f.pub, []byte{1, 2, 3})
	b, err := json.Marshal(j)
	require.NoError(t, err)
	var back ProofJSON
	require.NoError(t, json.Unmarshal(b, &back))
	st, err := Decode(&back)
	require.NoError(t, err)
	require.Equal(t, f.pub.Pseudonym, st.Public.Pseudonym)
	require.Equal(t, f.pub.Predicates[0].Slot, st.Public.Predicates[0].Slot)
	require.Equal(t, f.pub.Predicates[1].Value, st.Public.Predicates[1].Value)
	require.Equal(t, f.pub.Disclosures, st.Public.Disclosures)
	require.Equal(t, []byte{1, 2, 3}, st.Proof)

	bad := func(mut func(j *ProofJSON)) {
		c := back
		c.Public.Predicates = append([]PredicateJSON(nil), back.Public.Predicates...)
		mut(&c)
		_, err := Decode(&c)
		require.ErrorIs(t, err, ErrWire)
	}
	bad(func(j *ProofJSON) { j.Public.Scope = "" })
	bad(func(j *ProofJSON) { j.Public.Pseudonym = "zz" })
	bad(func(j *ProofJSON) { j.Public.Predicates[0].Op = "<" })
	bad(func(j *ProofJSON) { j.Public.Predicates[0].Attr = "shoe_size" })
	bad(func(j *ProofJSON) { j.Public.Predicates[1].Set = j.Public.Predicates[1].Set[:1] }) // root no longer matches
	bad(func(j *ProofJSON) { j.Public.Now = 1 << 41 })
	bad(func(j *ProofJSON) { j.Proof = "%%%" })
	bad(func(j *ProofJSON) {
		for range NumPredicates {
			j.Public.Predicates = append(j.Public.Predicates, j.Public.Predicates[0])
		}
	})
}

// FuzzDecode: the wire decoder meets outside input; it must never panic,
// and what it accepts must validate.
func FuzzDecode(f *testing.F) {
	fx := newFixture(f)
	j := Encode("sha256:00", "shop.example", "n-1", &fx.pub, make([]byte, 164))
	b, _ := json.Marshal(j)
	f.Add(b)
	f.Add([]byte(`{"vk":"x","public":{"scope":"a","predicates":[{"attr":"birth_date","op":"<=","value":"00"}]},"proof":""}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var j ProofJSON
		if json.Unmarshal(data, &j) != nil {
			return
		}
		st, err := Decode(&j)
		if err != nil {
			return
		}
		if err := st.Public.Validate(); err != nil {
			t.Fatalf("decoded statement does not validate: %v", err)
		}
	})
}
