package verifier

import (
	"encoding/json"
	"testing"
)

// FuzzParseDIDDocument: arbitrary documents yield keys only for the DID
// asked, never a panic.
func FuzzParseDIDDocument(f *testing.F) {
	const did = "did:web:issuer.example"
	f.Add([]byte(`{"id":"did:web:issuer.example","verificationMethod":[{"id":"did:web:issuer.example#k1","type":"JsonWebKey2020","controller":"did:web:issuer.example","publicKeyJwk":{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0","kid":"k1"}}],"assertionMethod":["did:web:issuer.example#k1"]}`))
	f.Add([]byte(`{"id":"did:web:issuer.example","verificationMethod":[],"assertionMethod":[{"id":"x"}]}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		keys, err := ParseDIDDocument(did, b)
		if err != nil {
			return
		}
		for kid, k := range keys {
			if kid == "" || k == nil {
				t.Fatal("empty kid or key")
			}
			if _, private := k.(interface{ D() []byte }); private {
				t.Fatal("accepted a private key")
			}
		}
	})
}

// FuzzDIDWebURL: a did:web maps to an http(s) URL on the DID's host, or
// an error.
func FuzzDIDWebURL(f *testing.F) {
	for _, s := range []string{"did:web:w3c-ccg.github.io", "did:web:example.com%3A3000:user:alice", "did:web:a%2F..", "did:web:127.0.0.1%3A1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, did string) {
		u, err := DIDWebURL(did)
		if err != nil {
			return
		}
		if len(u) < 8 || (u[:8] != "https://" && u[:7] != "http://") {
			t.Fatalf("%q -> %q", did, u)
		}
	})
}

// FuzzStatusClaim: a credential's status claim is read or refused.
func FuzzStatusClaim(f *testing.F) {
	f.Add(`{"status_list":{"idx":3,"uri":"https://issuer.example/v1/status-lists/0"}}`)
	f.Add(`{"status_list":{"idx":-1,"uri":"http://example.com"}}`)
	f.Fuzz(func(t *testing.T, s string) {
		var v any
		if err := jsonUnmarshal([]byte(s), &v); err != nil {
			return
		}
		ref, err := parseStatusClaim(v)
		if err == nil && (ref.idx < 0 || ref.uri == "") {
			t.Fatal("accepted a bad reference")
		}
	})
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// FuzzCheckHolder: a self-issued proof's proof of possession, arbitrary
// bytes, is refused unless signed by the key for the audience and nonce.
func FuzzCheckHolder(f *testing.F) {
	k := key(f)
	pub, _ := k.PublicKey()
	hb, err := holderBinding(pub)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(`eyJhbGciOiJub25lIiwidHlwIjoibXVzdGFyZC1wb3Arand0In0.eyJub25jZSI6Im4iLCJhdWQiOiJhIn0.`)
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, pop string) {
		if checkHolder(pub, pop, hb, "https://rp.example", "n") == nil {
			t.Fatal("accepted a proof of possession nobody signed")
		}
	})
}
