package verifier

import (
	"encoding/json"
	"testing"
)

// FuzzParseLDP: arbitrary JSON-LD presentations get a shape or an error,
// never a panic; an accepted one has one persona credential whose
// subject is a did:jwk.
func FuzzParseLDP(f *testing.F) {
	f.Add(`{"@context":["https://www.w3.org/ns/credentials/v2"],"type":["VerifiablePresentation"],"holder":"did:jwk:e30","verifiableCredential":[{"@context":["https://www.w3.org/ns/credentials/v2","https://w3id.org/mustard/persona/v1"],"type":["VerifiableCredential","MustardPersonaCredential"],"issuer":"did:web:i.example","credentialSubject":{"id":"did:jwk:e30","scope":"s"},"proof":{}}],"proof":{}}`)
	f.Add(`{"@context":["https://www.w3.org/ns/credentials/v2"],"type":"VerifiablePresentation","verifiableCredential":[{"@context":["https://www.w3.org/ns/credentials/v2","https://w3id.org/mustard/persona/v1"],"type":["VerifiableCredential","MustardPersonaCredential"],"issuer":"did:web:i.example","credentialSubject":{"id":"did:jwk:e30","x":{"@context":"https://evil.example"}}}]}`)
	f.Add(`{"verifiableCredential":[1]}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, raw string) {
		p, err := parseLDP(raw)
		if err != nil {
			return
		}
		if p.credential == nil || p.subject == nil || len(p.subjectID) < len("did:jwk:") {
			t.Fatalf("accepted without a credential and subject: %s", raw)
		}
		if _, err := json.Marshal(p.doc); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzBitstringEntries: arbitrary credentialStatus values give bounded
// references or an error.
func FuzzBitstringEntries(f *testing.F) {
	f.Add(`{"type":"BitstringStatusListEntry","statusPurpose":"revocation","statusListIndex":"7","statusListCredential":"https://i.example/v1/status-lists/0/revocation"}`)
	f.Add(`[{"type":"BitstringStatusListEntry","statusPurpose":"suspension","statusListIndex":"007","statusListCredential":"http://127.0.0.1/x"}]`)
	f.Add(`"x"`)
	f.Fuzz(func(t *testing.T, raw string) {
		var v any
		if json.Unmarshal([]byte(raw), &v) != nil {
			return
		}
		refs, err := parseBitstringEntries(v)
		if err != nil {
			return
		}
		if len(refs) > maxStatusEntriesPerVC {
			t.Fatal("too many entries accepted")
		}
		for _, r := range refs {
			if r.idx < 0 || r.uri == "" || (r.purpose != "revocation" && r.purpose != "suspension") {
				t.Fatalf("bad reference accepted: %+v", r)
			}
		}
	})
}
