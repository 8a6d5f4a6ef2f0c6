package oidc

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"
)

// FuzzRequestedClaims: the claims parameter and scopes from any
// authorization request never yield a claim Mustard cannot release, and
// never panic.
func FuzzRequestedClaims(f *testing.F) {
	f.Add("openid age_over_18", `{"id_token":{"age_over_18":{"essential":true}}}`)
	f.Add("openid", `{"userinfo":{"nationality":null,"email":{"essential":false}}}`)
	f.Add("", `{"id_token":{"sub":{"essential":true,"value":"x"}}}`)
	f.Add("openid", `{"id_token":`)
	f.Add("openid", `[]`)
	f.Fuzz(func(t *testing.T, scope, claims string) {
		out, err := requestedClaims(splitScope(scope), claims)
		if err != nil {
			return
		}
		for _, c := range out {
			if _, ok := claimDefs[c]; !ok {
				t.Fatalf("released unknown claim %q", c)
			}
		}
		if len(out) > len(claimDefs) {
			t.Fatal("duplicates")
		}
	})
}

func splitScope(s string) []string {
	var out []string
	start := -1
	for i, r := range s + " " {
		if r == ' ' {
			if start >= 0 {
				out = append(out, s[start:i])
			}
			start = -1
		} else if start < 0 {
			start = i
		}
	}
	return out
}

// FuzzRegistration: any registration body either is refused or yields a
// client whose redirect URIs are absolute https/loopback URLs, whose
// manifest claims are releasable, and whose subject type is pairwise.
func FuzzRegistration(f *testing.F) {
	good, _ := json.Marshal(Registration{RedirectURIs: []string{"https://rp.example/cb"}, Manifest: &Manifest{Purpose: "p", Claims: []string{"age_over_18"}, Retention: "r", Framework: "f"}})
	f.Add(good)
	f.Add([]byte(`{"redirect_uris":["http://127.0.0.1:9/cb"],"token_endpoint_auth_method":"none","trust_manifest":{"purpose":"p","claims":[],"retention":"r","framework":"f"}}`))
	f.Add([]byte(`{"redirect_uris":["javascript:x"]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var reg Registration
		if json.Unmarshal(b, &reg) != nil {
			return
		}
		c, out, err := newClient(context.Background(), &reg, RegistrationPolicy{}, time.Unix(0, 0))
		if err != nil {
			return
		}
		for _, u := range c.RedirectURIs {
			if _, err := checkRedirect(u); err != nil {
				t.Fatalf("accepted redirect %q", u)
			}
		}
		for _, cl := range c.Manifest.Claims {
			if _, ok := claimDefs[cl]; !ok {
				t.Fatalf("accepted claim %q", cl)
			}
		}
		if out.SubjectType != "pairwise" || !slices.Contains(c.Scopes, "openid") {
			t.Fatal("client is not pairwise openid")
		}
	})
}
