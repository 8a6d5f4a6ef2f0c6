package community

import (
	"encoding/json"
	"testing"
)

// FuzzStatement: any statement body either is refused before the proof
// is checked or yields bounded public inputs; nothing panics.
func FuzzStatement(f *testing.F) {
	good, _ := json.Marshal(Statement{Topic: "poll-1", Message: "yes", Root: "0a", Nullifier: "0b", Proof: "AAAA"})
	f.Add(good)
	f.Add([]byte(`{"topic":"","proof":"!"}`))
	f.Add([]byte(`{"topic":"t","root":"zz","nullifier":"00","proof":""}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var st Statement
		if json.Unmarshal(b, &st) != nil {
			return
		}
		pub, proof, err := st.public()
		if err != nil {
			return
		}
		if pub == nil || len(proof) > 1024 || st.Topic == "" || len(st.Message) > 4<<10 {
			t.Fatal("accepted an unbounded statement")
		}
	})
}

// FuzzManifest: a manifest that passes its check states every term.
func FuzzManifest(f *testing.F) {
	good, _ := json.Marshal(Manifest{Name: "n", Purpose: "p", Joining: "j", Shares: "s", Leaving: "l", MinGrade: "high"})
	f.Add(good)
	f.Add([]byte(`{"name":"x","min_grade":"ultra"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var m Manifest
		if json.Unmarshal(b, &m) != nil || m.check() != nil {
			return
		}
		if m.Name == "" || m.Purpose == "" || m.Joining == "" || m.Shares == "" || m.Leaving == "" {
			t.Fatal("accepted a manifest missing a term")
		}
	})
}
