package trust

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/stretchr/testify/require"
)

// council is n governance keys with kids.
func council(t testing.TB, n int) []jwk.Key {
	var keys []jwk.Key
	for i := range n {
		k, _ := governance(t)
		require.NoError(t, k.Set(jwk.KeyIDKey, fmt.Sprintf("gov-%d", i)))
		keys = append(keys, k)
	}
	return keys
}

func policy(t testing.TB, threshold int, keys ...jwk.Key) Governance {
	set := jwk.NewSet()
	for _, k := range keys {
		pub, err := k.PublicKey()
		require.NoError(t, err)
		require.NoError(t, set.AddKey(pub))
	}
	raw, err := json.Marshal(set)
	require.NoError(t, err)
	return Governance{Threshold: threshold, Keys: raw}
}

func TestGovernanceThreshold(t *testing.T) {
	k := council(t, 3)
	outsider := council(t, 1)[0]
	g := policy(t, 2, k...)
	d := document(t)

	for name, tc := range map[string]struct {
		signers []jwk.Key
		want    error
	}{
		"2 of 3":                  {[]jwk.Key{k[0], k[1]}, nil},
		"3 of 3":                  {[]jwk.Key{k[0], k[1], k[2]}, nil},
		"1 of 3":                  {[]jwk.Key{k[0]}, ErrThreshold},
		"one key twice":           {[]jwk.Key{k[2], k[2]}, ErrThreshold},
		"one key and an outsider": {[]jwk.Key{k[0], outsider}, ErrThreshold},
		"outsiders only":          {[]jwk.Key{outsider, outsider}, ErrSignature},
	} {
		t.Run(name, func(t *testing.T) {
			signed, err := SealBy(d, tc.signers...)
			require.NoError(t, err)
			got, err := ParseGoverned(signed, g)
			if tc.want != nil {
				require.ErrorIs(t, err, tc.want)
				return
			}
			require.NoError(t, err)
			require.Equal(t, d.ID, got.ID)
		})
	}

	// A signature moved onto another payload does not count.
	signed, err := SealBy(d, k[0], k[1])
	require.NoError(t, err)
	var msg map[string]any
	require.NoError(t, json.Unmarshal(signed, &msg))
	other := document(t)
	other.ID = "urn:forged"
	forged, err := SealBy(other, k[0], outsider)
	require.NoError(t, err)
	var fmsg map[string]any
	require.NoError(t, json.Unmarshal(forged, &fmsg))
	fmsg["signatures"] = append(fmsg["signatures"].([]any), msg["signatures"].([]any)[1])
	spliced, _ := json.Marshal(fmsg)
	_, err = ParseGoverned(spliced, g)
	require.Error(t, err, "k[1]'s signature over another payload counted")

	// Bad governance policies are refused outright.
	for _, bad := range []Governance{policy(t, 0, k...), policy(t, 4, k...), {Threshold: 1, Keys: json.RawMessage(`{"keys":[]}`)}} {
		_, err := ParseGoverned(signed, bad)
		require.ErrorIs(t, err, ErrMalformed)
	}
}

// The framework changes only with m-of-n of the current governance, moves
// forward only, and can hand governance to a new set.
func TestGovernanceSuccession(t *testing.T) {
	k := council(t, 5)
	pinned := policy(t, 2, k[0], k[1], k[2])
	v1 := document(t)
	v1.Governance = &pinned
	s1, err := SealBy(v1, k[0], k[1])
	require.NoError(t, err)
	d1, err := ParseGoverned(s1, pinned)
	require.NoError(t, err)

	next := func(version int, previous string, gov *Governance, signers ...jwk.Key) []byte {
		d := document(t)
		d.Version, d.Previous, d.Governance = version, previous, gov
		s, err := SealBy(d, signers...)
		require.NoError(t, err)
		return s
	}
	// Rotate governance to k[2], k[3], k[4], 2-of-3.
	rotated := policy(t, 2, k[2], k[3], k[4])
	s2 := next(2, Digest(s1), &rotated, k[1], k[2])
	d2, err := Succeed(d1, s1, s2, pinned)
	require.NoError(t, err)
	require.Equal(t, 2, d2.Version)

	_, err = Succeed(d1, s1, next(1, Digest(s1), &rotated, k[1], k[2]), pinned)
	require.ErrorIs(t, err, ErrSuccession, "same version")
	_, err = Succeed(d1, s1, next(2, Digest([]byte("other")), &rotated, k[1], k[2]), pinned)
	require.ErrorIs(t, err, ErrSuccession, "not chained")
	_, err = Succeed(d1, s1, next(2, Digest(s1), &rotated, k[3], k[4]), pinned)
	require.Error(t, err, "signed by keys not yet in governance")

	// After the rotation, the new set governs and the old one does not.
	_, err = Succeed(d2, s2, next(3, Digest(s2), &rotated, k[3], k[4]), pinned)
	require.NoError(t, err)
	_, err = Succeed(d2, s2, next(3, Digest(s2), &rotated, k[0], k[1]), pinned)
	require.Error(t, err, "retired governance keys changed the framework")
}

func FuzzParseGoverned(f *testing.F) {
	k := council(f, 3)
	g := policy(f, 2, k...)
	signed, _ := SealBy(document(f), k[0], k[1])
	f.Add(signed)
	f.Add([]byte(`{"payload":"e30","signatures":[]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := ParseGoverned(b, g)
		if err == nil && d == nil {
			t.Fatal("nil document without error")
		}
	})
}

// Members sign one after another: a document sealed by one key gains the
// others' signatures without anyone holding another's key.
func TestAddSignature(t *testing.T) {
	k := council(t, 3)
	g := policy(t, 2, k...)
	d := document(t)
	one, err := Seal(d, k[0]) // compact
	require.NoError(t, err)
	_, err = ParseGoverned(one, g)
	require.ErrorIs(t, err, ErrThreshold)
	two, err := AddSignature(one, k[2])
	require.NoError(t, err)
	got, err := ParseGoverned(two, g)
	require.NoError(t, err)
	require.Equal(t, d.ID, got.ID)
	again, err := AddSignature(two, k[2])
	require.NoError(t, err)
	_, err = ParseGoverned(again, policy(t, 3, k...))
	require.ErrorIs(t, err, ErrThreshold, "a key signing twice counts once")
	_, err = AddSignature([]byte("not a jws"), k[1])
	require.ErrorIs(t, err, ErrMalformed)
}
