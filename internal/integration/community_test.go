package integration

import (
	"context"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/internal/community"
	"github.com/mustard-id/mustard/internal/sdjwt"
	"github.com/mustard-id/mustard/internal/trust"
	wallet "github.com/mustard-id/mustard/persona"
	"github.com/mustard-id/mustard/verifier"
	"github.com/mustard-id/mustard/zk"
)

type member struct {
	fw     *trust.Document
	w      *wallet.Wallet
	pin    []byte
	secret string // member secret, hex
	cred   string
	key    jwk.Key
	token  string
}

// A community: people join with a persona for its scope after consenting
// to its manifest, once per person; members vote anonymously, once per
// poll; anyone verifies the votes; a member who left can no longer vote.
func TestCommunity(t *testing.T) {
	ctx := context.Background()
	const id = "garden"
	m := community.Manifest{
		Name: "Garden club", Purpose: "Decide what to plant.", Joining: "Adults, one membership per person.",
		Shares: "Nothing but anonymous votes.", Leaving: "Leave any time; your past votes stay, anonymous.",
		RequiredClaims: []string{"age_over_18"},
	}
	require.NoError(t, env.srv.Communities.Register(ctx, id, m))
	c := client()
	var info community.Info
	require.NoError(t, c.Get(ctx, "/v1/communities/"+id, &info))
	require.Equal(t, m.Hash(), info.ManifestHash)

	join := func(p *member, consent string) (*community.Joined, error) {
		var req verifier.PresentationRequest
		if err := c.Post(ctx, "/v1/communities/"+id+"/join-requests", struct{}{}, &req); err != nil {
			return nil, err
		}
		require.Equal(t, community.Scope(id), req.Scope)
		tok, err := sdjwt.Parse(p.cred)
		require.NoError(t, err)
		vp, err := tok.Present(sdjwt.PresentRequest{Disclose: req.RequiredClaims, Audience: req.Audience, Nonce: req.Nonce}, p.key)
		require.NoError(t, err)
		s, err := p.w.MemberSecret(p.pin, id)
		require.NoError(t, err)
		p.secret = zk.Hex(s)
		var out community.Joined
		err = c.Post(ctx, "/v1/communities/"+id+"/members", community.Join{Presentation: vp, Nonce: req.Nonce, Leaf: zk.Hex(zk.MemberLeaf(s)), Consent: consent}, &out)
		return &out, err
	}
	newMember := func() *member {
		w, pin, fw := enrolled(t)
		cred, key := personaFor(t, w, pin, fw, community.Scope(id), []string{"age>=18"})
		return &member{fw: fw, w: w, pin: pin, cred: cred, key: key}
	}
	alice, bob := newMember(), newMember()
	problemType := func(err error) string {
		var pe *wallet.ProblemError
		require.ErrorAs(t, err, &pe)
		return pe.Type
	}

	_, err := join(alice, "not the manifest")
	require.Equal(t, community.ErrConsent.Type(), problemType(err))
	j, err := join(alice, m.Hash())
	require.NoError(t, err)
	alice.token = j.Token
	// The same person again (a second persona for the same scope has the
	// same pseudonym): refused.
	cred2, key2 := personaFor(t, alice.w, alice.pin, alice.fw, community.Scope(id), []string{"age>=18"})
	_, err = join(&member{w: alice.w, pin: alice.pin, cred: cred2, key: key2}, m.Hash())
	require.Equal(t, community.ErrAlreadyJoined.Type(), problemType(err))
	j, err = join(bob, m.Hash())
	require.NoError(t, err)
	bob.token = j.Token

	say := func(p *member, topic, msg string) (*community.Statement, error) {
		var info community.Info
		require.NoError(t, c.Get(ctx, "/v1/communities/"+id, &info))
		s, err := zk.ParseHex(p.secret)
		require.NoError(t, err)
		st, err := community.Prove(env.srv.CommunityKeys, &info, s, topic, msg)
		if err != nil {
			return nil, err
		}
		var out map[string]string
		return st, c.Post(ctx, "/v1/communities/"+id+"/statements", st, &out)
	}
	_, err = say(alice, "poll-1", "tomatoes")
	require.NoError(t, err)
	_, err = say(alice, "poll-1", "roses")
	require.Equal(t, community.ErrNullifier.Type(), problemType(err), "a second vote on one poll")
	st, err := say(bob, "poll-1", "roses")
	require.NoError(t, err)
	tampered := *st
	tampered.Message = "tomatoes"
	var out map[string]string
	require.Equal(t, community.ErrStatement.Type(), problemType(c.Post(ctx, "/v1/communities/"+id+"/statements", tampered, &out)))

	// Anyone counts the votes: each proof verifies, one per nullifier.
	var list struct{ Statements []community.Statement }
	require.NoError(t, c.Get(ctx, "/v1/communities/"+id+"/statements?topic=poll-1", &list))
	require.Len(t, list.Statements, 2)
	seen := map[string]bool{}
	for _, s := range list.Statements {
		require.NoError(t, community.Verify(env.srv.CommunityKeys, &s))
		require.False(t, seen[s.Nullifier])
		seen[s.Nullifier] = true
	}

	// Bob leaves: he can no longer prove membership, and a statement he
	// proved before leaving is refused (its root is no longer recent).
	var info2 community.Info
	require.NoError(t, c.Get(ctx, "/v1/communities/"+id, &info2))
	s, _ := zk.ParseHex(bob.secret)
	early, err := community.Prove(env.srv.CommunityKeys, &info2, s, "poll-2", "roses")
	require.NoError(t, err)
	var none []byte
	require.NoError(t, c.Post(ctx, "/v1/communities/"+id+"/leave", community.LeaveBody{Token: bob.token}, &none))
	require.Equal(t, community.ErrStatement.Type(), problemType(c.Post(ctx, "/v1/communities/"+id+"/statements", early, &out)))
	_, err = say(bob, "poll-2", "roses")
	require.ErrorContains(t, err, "not a member")
	require.Equal(t, community.ErrNotMember.Type(), problemType(c.Post(ctx, "/v1/communities/"+id+"/leave", community.LeaveBody{Token: bob.token}, &out)))
	_, err = say(alice, "poll-2", "tomatoes")
	require.NoError(t, err, "the others still vote")
}
