package coreid

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/internal/trust"
)

// FuzzVerifySource feeds arbitrary input to every source format's
// verifier: no panic, and never a source without an error.
func FuzzVerifySource(f *testing.F) {
	e := newEnv(f)
	holder := ecKey(f, "h")
	tok := e.sdJWT(f, e.keys[bankID], person, e.now, holder)
	loader, err := NewDocumentLoader()
	require.NoError(f, err)
	f.Add(uint8(0), e.jwtVC(f, govID, person, e.now))
	f.Add(uint8(1), present(f, tok, holder, provID, "n"))
	f.Add(uint8(2), idToken(f, e.keys[idpID], e.idClaims("n")))
	f.Add(uint8(3), ldVC(f, loader, e.ldDoc("https://w3id.org/security/suites/ed25519-2020/v1", map[string]any{"birthdate": "1990-04-12"}), "Ed25519Signature2020", e.keys[ldpID], ldpID+"#key-1"))
	f.Add(uint8(3), `{"@context":["https://www.w3.org/2018/credentials/v1",{"@vocab":"https://x"}],"issuer":"did:web:registry.example","proof":{}}`)
	f.Add(uint8(1), "~~~~")
	formats := []string{trust.FormatJWTVC, trust.FormatSDJWTVC, trust.FormatOIDC, trust.FormatLDPVC}
	f.Fuzz(func(t *testing.T, kind uint8, raw string) {
		src, err := e.p.VerifySource(context.Background(), SourceCredential{Format: formats[int(kind)%len(formats)], Credential: raw}, "n")
		if err == nil && src == nil {
			t.Fatal("nil source without error")
		}
	})
}

// FuzzRevokeBySource feeds arbitrary notices: no panic, and nothing is
// revoked without a valid signature.
func FuzzRevokeBySource(f *testing.F) {
	e := newEnv(f)
	r := e.commitment(f)
	r.Source = e.jwtVC(f, govID, person, e.now)
	_, err := e.p.Enroll(context.Background(), r)
	require.NoError(f, err)
	good, err := SignNotice(e.keys[govID], govID, "NL-123456789", e.now)
	require.NoError(f, err)
	f.Add(good)
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Fuzz(func(t *testing.T, notice string) {
		before := e.p.RevocationRoot()
		err := e.p.RevokeBySource(context.Background(), notice)
		if err != nil && e.p.RevocationRoot() != before {
			t.Fatal("a refused notice changed the revocation tree")
		}
	})
}

// FuzzVerifyRoot parses arbitrary signed roots.
func FuzzVerifyRoot(f *testing.F) {
	e := newEnv(f)
	good, err := e.p.SignedRoot()
	require.NoError(f, err)
	f.Add(good)
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, s string) {
		st, err := VerifyRoot(s, e.p.RootKeys())
		if err == nil && st == nil {
			t.Fatal("nil statement without error")
		}
	})
}
