package trust

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/zk"
)

func orgDocument(t testing.TB) *Document {
	d := document(t)
	pk, err := zk.GenerateKey(nil)
	require.NoError(t, err)
	// A second key of organisation "p" (a rotation), under another id.
	d.Providers = append(d.Providers, Provider{ID: "p-2026", Org: "p", Key: hexOf(pk.Public().Bytes()), MaxGrade: "substantial", ValidUntil: 2e9})
	return d
}

func TestOrganisations(t *testing.T) {
	key, set := governance(t)
	d := orgDocument(t)
	signed, err := Seal(d, key)
	require.NoError(t, err)
	got, err := Parse(signed, set)
	require.NoError(t, err)
	require.Equal(t, "p", got.Providers[0].Organisation())
	require.Equal(t, "p", got.Providers[1].Organisation())
	require.Equal(t, "p-2026", got.Providers[1].ID)

	reg, idx, err := got.OrgRegistry()
	require.NoError(t, err)
	for i, p := range got.Providers {
		require.Equal(t, uint64(i), idx[p.Key])
		pk, g, err := p.parse()
		require.NoError(t, err)
		leaf := zk.ProviderOrgLeaf(pk, g, p.ValidUntil, zk.OrgID("p"))
		require.Equal(t, reg.Root(), reg.Path(uint64(i)).Root(leaf))
	}
	plain, _, err := got.Registry()
	require.NoError(t, err)
	require.NotEqual(t, plain.Root(), reg.Root(), "the organisation registry is its own tree")

	// One key under two organisations: refused, sealed or parsed.
	bad := orgDocument(t)
	dup := bad.Providers[0]
	dup.ID, dup.Org = "q", "q"
	bad.Providers = append(bad.Providers, dup)
	_, err = Seal(bad, key)
	require.ErrorIs(t, err, ErrMalformed)
	_, _, err = bad.OrgRegistry()
	require.ErrorIs(t, err, ErrMalformed)
	// The same key twice in one organisation (a renewed validity) is fine.
	renew := orgDocument(t)
	again := renew.Providers[0]
	again.ValidUntil++
	renew.Providers = append(renew.Providers, again)
	_, err = Seal(renew, key)
	require.NoError(t, err)
	// An organisation identifier too long.
	long := orgDocument(t)
	long.Providers[1].Org = string(make([]byte, MaxOrgLength+1))
	_, err = Seal(long, key)
	require.ErrorIs(t, err, ErrMalformed)
}
