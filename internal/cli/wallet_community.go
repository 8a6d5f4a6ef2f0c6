package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/spf13/cobra"

	circuit "github.com/mustard-id/mustard/circuits/community"
	"github.com/mustard-id/mustard/internal/community"
	"github.com/mustard-id/mustard/internal/sdjwt"
	"github.com/mustard-id/mustard/persona"
	"github.com/mustard-id/mustard/verifier"
	"github.com/mustard-id/mustard/zk"
)

func newWalletCommunityCmd(e *walletEnv) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "community",
		Short: "Join communities, speak in them anonymously, leave them",
	}
	cmd.AddCommand(newCommunityJoinCmd(e), newCommunitySayCmd(e), newCommunityLeaveCmd(e), newCommunityListCmd(e))
	return cmd
}

func (e *walletEnv) communityInfo(ctx context.Context, c *persona.Client, id string) (*community.Info, error) {
	var info community.Info
	if err := c.Get(ctx, "/v1/communities/"+id, &info); err != nil {
		return nil, fmt.Errorf("cannot read community %s at %s: %w", id, c.BaseURL, err)
	}
	return &info, nil
}

func newCommunityJoinCmd(e *walletEnv) *cobra.Command {
	var yes bool
	var keysDir string
	cmd := &cobra.Command{
		Use:   "join ID",
		Short: "Join a community with a persona for it, after reading and accepting its manifest",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, id := cmd.Context(), args[0]
			u, pin, done, err := e.unlock()
			if err != nil {
				return err
			}
			defer done()
			if !u.Enrolled() {
				return persona.ErrNotEnrolled
			}
			if m, err := u.Membership(id); err == nil && m.Left.IsZero() {
				return fmt.Errorf("you are already a member of %s", id)
			}
			c := &persona.Client{BaseURL: u.Meta.Server, HTTP: httpClient()}
			info, err := e.communityInfo(ctx, c, id)
			if err != nil {
				return err
			}
			m := info.Manifest
			fmt.Fprintf(e.errw(), "%s\n  purpose: %s\n  joining: %s\n  members share: %s\n  leaving: %s\n", m.Name, m.Purpose, m.Joining, m.Shares, m.Leaving)
			if !yes {
				return &usageError{"read the manifest above; pass --yes to accept it and join"}
			}
			var req verifier.PresentationRequest
			if err := c.Post(ctx, "/v1/communities/"+id+"/join-requests", struct{}{}, &req); err != nil {
				return err
			}
			rec, err := u.Persona(req.Scope)
			if err != nil && !errors.Is(err, persona.ErrUnknownPerson) {
				return err
			}
			if rec == nil || !covers(rec, &req) {
				if rec, _, err = e.derivePersona(ctx, u, pin, deriveSpec{scope: req.Scope, preds: req.Predicates, disclose: req.Disclose, keysDir: keysDir}); err != nil {
					return err
				}
			}
			key, err := jwk.ParseKey(rec.Key)
			if err != nil {
				return err
			}
			tok, err := sdjwt.Parse(rec.Credential)
			if err != nil {
				return err
			}
			vp, err := tok.Present(sdjwt.PresentRequest{Disclose: req.RequiredClaims, Audience: req.Audience, Nonce: req.Nonce}, key)
			if err != nil {
				return err
			}
			secret, err := u.Wallet.MemberSecret(pin, id)
			if err != nil {
				return keystoreHelp(err)
			}
			var joined community.Joined
			err = c.Post(ctx, "/v1/communities/"+id+"/members", community.Join{Presentation: vp, Nonce: req.Nonce, Leaf: zk.Hex(zk.MemberLeaf(secret)), Consent: info.ManifestHash}, &joined)
			outcome := "joined"
			if err != nil {
				outcome = "refused"
			}
			_ = u.Audit(persona.AuditEntry{Event: "community-join", Persona: rec.ID, Scope: req.Scope, Audience: req.Audience, Disclosed: req.RequiredClaims, Outcome: outcome})
			if err != nil {
				return fmt.Errorf("%s refused the join: %w", id, err)
			}
			if err := u.SaveMembership(&persona.Membership{Community: id, Server: u.Meta.Server, Index: joined.Index, Token: joined.Token, Persona: rec.ID, Joined: time.Now().UTC().Truncate(time.Second)}); err != nil {
				return err
			}
			return e.emit(map[string]any{"community": id, "joined": true, "persona": rec.ID}, func(w io.Writer) {
				fmt.Fprintf(w, "You joined %s with your %s persona. Your statements there are anonymous: `mustard wallet community say %s --topic T MESSAGE`.\n", m.Name, req.Scope, id)
			})
		},
	}
	cmd.Flags().BoolVar(&yes, "yes", false, "accept the community's manifest")
	cmd.Flags().StringVar(&keysDir, "keys", "", "proving key directory, for deriving a persona")
	return cmd
}

// communityKeys loads the statement circuit's keys, downloading them into
// the wallet once.
func (e *walletEnv) communityKeys(ctx context.Context, c *persona.Client, vk string) (*zk.Keys, error) {
	dir := filepath.Join(e.dir, "zk-community")
	var meta struct {
		VKID string `json:"vk_id"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "community.json"))
	if err == nil {
		err = json.Unmarshal(b, &meta)
	}
	if err != nil || meta.VKID != vk {
		if err := e.withProgress("downloading the community circuit's key", func() error {
			return c.DownloadKeys(ctx, "community", dir, vk)
		}); err != nil {
			return nil, fmt.Errorf("cannot download the community circuit's key: %w", err)
		}
	}
	k, err := zk.LoadOrSetup(dir, "community", &circuit.Circuit{}, nil)
	if err != nil {
		return nil, err
	}
	if k.VKID != vk {
		return nil, errors.New("the community circuit's key does not match the server's")
	}
	return k, nil
}

func newCommunitySayCmd(e *walletEnv) *cobra.Command {
	var topic string
	cmd := &cobra.Command{
		Use:   "say ID MESSAGE",
		Short: "Make an anonymous statement (a vote, a post) in a community: once per topic",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, id, msg := cmd.Context(), args[0], args[1]
			if topic == "" {
				return &usageError{"name the topic (a poll, a thread) with --topic"}
			}
			u, pin, done, err := e.unlock()
			if err != nil {
				return err
			}
			defer done()
			m, err := u.Membership(id)
			if err != nil {
				return err
			}
			if !m.Left.IsZero() {
				return fmt.Errorf("you left %s", id)
			}
			c := &persona.Client{BaseURL: m.Server, HTTP: httpClient()}
			info, err := e.communityInfo(ctx, c, id)
			if err != nil {
				return err
			}
			keys, err := e.communityKeys(ctx, c, info.CircuitVK)
			if err != nil {
				return err
			}
			secret, err := u.Wallet.MemberSecret(pin, id)
			if err != nil {
				return keystoreHelp(err)
			}
			var st *community.Statement
			if err := e.withProgress("proving membership", func() error {
				st, err = community.Prove(keys, info, secret, topic, msg)
				return err
			}); err != nil {
				return err
			}
			var out map[string]string
			err = c.Post(ctx, "/v1/communities/"+id+"/statements", st, &out)
			outcome := "recorded"
			if err != nil {
				outcome = "refused"
			}
			_ = u.Audit(persona.AuditEntry{Event: "community-say", Scope: community.Scope(id), Audience: topic, Outcome: outcome})
			if err != nil {
				return fmt.Errorf("%s refused the statement: %w", id, err)
			}
			return e.emit(map[string]any{"community": id, "topic": topic, "nullifier": st.Nullifier, "recorded": true}, func(w io.Writer) {
				fmt.Fprintf(w, "Said on %s in %s, anonymously (nullifier %s…).\n", topic, id, st.Nullifier[:16])
			})
		},
	}
	cmd.Flags().StringVar(&topic, "topic", "", "the topic: one statement per member per topic")
	return cmd
}

func newCommunityLeaveCmd(e *walletEnv) *cobra.Command {
	return &cobra.Command{
		Use:   "leave ID",
		Short: "Leave a community: your leaf is removed; your past statements stay, anonymous",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := args[0]
			u, _, done, err := e.unlock()
			if err != nil {
				return err
			}
			defer done()
			m, err := u.Membership(id)
			if err != nil {
				return err
			}
			if !m.Left.IsZero() {
				return fmt.Errorf("you already left %s", id)
			}
			c := &persona.Client{BaseURL: m.Server, HTTP: httpClient()}
			var none []byte
			if err := c.Post(cmd.Context(), "/v1/communities/"+id+"/leave", community.LeaveBody{Token: m.Token}, &none); err != nil {
				return fmt.Errorf("%s refused: %w", id, err)
			}
			m.Left = time.Now().UTC().Truncate(time.Second)
			if err := u.SaveMembership(m); err != nil {
				return err
			}
			_ = u.Audit(persona.AuditEntry{Event: "community-leave", Scope: community.Scope(id), Outcome: "left"})
			return e.emit(map[string]any{"community": id, "left": true}, func(w io.Writer) {
				fmt.Fprintf(w, "You left %s.\n", id)
			})
		},
	}
}

func newCommunityListCmd(e *walletEnv) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the communities you joined",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			u, _, done, err := e.unlock()
			if err != nil {
				return err
			}
			defer done()
			all, err := u.Memberships()
			if err != nil {
				return err
			}
			type row struct {
				Community string `json:"community"`
				Server    string `json:"server"`
				Joined    string `json:"joined"`
				State     string `json:"state"`
			}
			out := struct {
				Communities []row `json:"communities"`
			}{Communities: []row{}}
			for _, m := range all {
				state := "member"
				if !m.Left.IsZero() {
					state = "left"
				}
				out.Communities = append(out.Communities, row{m.Community, m.Server, m.Joined.Format(time.DateOnly), state})
			}
			return e.emit(out, func(w io.Writer) {
				if len(all) == 0 {
					fmt.Fprintln(w, "No communities yet: mustard wallet community join ID")
					return
				}
				var rows [][]string
				for _, r := range out.Communities {
					rows = append(rows, []string{r.Community, r.State, r.Joined, r.Server})
				}
				table(w, []string{"COMMUNITY", "STATE", "JOINED", "SERVER"}, rows)
			})
		},
	}
}
