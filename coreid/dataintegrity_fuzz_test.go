package coreid

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/internal/trust"
)

// FuzzVerifyVC2 feeds arbitrary VC 2.0 JSON-LD to the provider's ldp-vc
// path (the dispatch by context, then verifyDIVC): no panic, never a
// source without an error, and nothing accepted that was not signed.
func FuzzVerifyVC2(f *testing.F) {
	e := newEnv(f)
	good := diVC(f, e.diDoc(person), e.keys[ldpID], ldpID+"#key-1", e.now)
	good256 := diVC(f, e.diDoc(person), e.keys[ldpID+"#p256"], ldpID+"#p256", e.now)
	f.Add(good)
	f.Add(good256)
	f.Add(edit(f, good, func(d, _ map[string]any) { d["credentialSubject"].(map[string]any)["@context"] = "https://x.example/c" }))
	f.Add(edit(f, good, func(d, p map[string]any) { d["proof"] = []any{p} }))
	f.Add(edit(f, good, func(_, p map[string]any) { p["@context"] = 1 }))
	f.Add(`{"@context":["https://www.w3.org/ns/credentials/v2"],"proof":{}}`)
	f.Add(`{"@context":["https://www.w3.org/ns/credentials/v2"],"@id":{"@list":[[]]},"proof":{"type":"DataIntegrityProof"}}`)
	f.Fuzz(func(t *testing.T, raw string) {
		src, err := e.p.VerifySource(context.Background(), SourceCredential{Format: trust.FormatLDPVC, Credential: raw}, "")
		if err == nil && src == nil {
			t.Fatal("nil source without error")
		}
		if err == nil && canonicalJSON(t, raw) != canonicalJSON(t, good) && canonicalJSON(t, raw) != canonicalJSON(t, good256) {
			// Accepted: must be one of the signed credentials, re-encoded
			// (JSON whitespace, key order, escapes) at most.
			t.Fatalf("accepted a credential that was not signed: %s", raw)
		}
	})
}

func canonicalJSON(t *testing.T, raw string) string {
	var v any
	require.NoError(t, json.Unmarshal([]byte(raw), &v))
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}
