package verifier

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func sampleRequest() PresentationRequest {
	return PresentationRequest{
		Type: RequestType, Audience: "https://op.example", Scope: "https://rp.example",
		Nonce: "n1", RequiredClaims: []string{"age_over_18"}, Predicates: []string{"age>=18"},
		ResponseURI: "https://op.example/oauth2/login/x/presentation", ExpiresAt: time.Unix(1e9, 0).UTC(),
	}
}

func TestParseRequest(t *testing.T) {
	r := sampleRequest()
	b, _ := json.Marshal(r)
	got, err := ParseRequest(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.Scope != r.Scope || got.Nonce != r.Nonce || got.RequiredClaims[0] != "age_over_18" {
		t.Fatalf("round trip: %+v", got)
	}
	for name, mut := range map[string]func(*PresentationRequest){
		"type":     func(r *PresentationRequest) { r.Type = "x" },
		"nonce":    func(r *PresentationRequest) { r.Nonce = "" },
		"response": func(r *PresentationRequest) { r.ResponseURI = "javascript:alert(1)" },
		"claims":   func(r *PresentationRequest) { r.RequiredClaims = make([]string, 17) },
		"scope":    func(r *PresentationRequest) { r.Scope = strings.Repeat("s", 256) },
	} {
		bad := sampleRequest()
		mut(&bad)
		b, _ := json.Marshal(bad)
		if _, err := ParseRequest(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestDeepLink(t *testing.T) {
	uri := "https://op.example/oauth2/login/abc/request?x=1"
	link := DeepLink(uri)
	if !strings.HasPrefix(link, "mustard://present?request_uri=") {
		t.Fatal(link)
	}
	for _, in := range []string{link, uri, " " + link + "\n"} {
		got, err := RequestURIOf(in)
		if err != nil || got != uri {
			t.Fatalf("%q -> %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{"mustard://present?request_uri=file:///etc/passwd", "ftp://x/y", "mustard://present", ""} {
		if _, err := RequestURIOf(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func FuzzParseRequest(f *testing.F) {
	b, _ := json.Marshal(sampleRequest())
	f.Add(b)
	f.Add([]byte(`{"type":"mustard-presentation-request"}`))
	f.Add([]byte(`[]`))
	db := sampleRequest()
	db.DeviceBound = true
	b, _ = json.Marshal(db)
	f.Add(b)
	f.Add([]byte(`{"type":"mustard-presentation-request","audience":"a","scope":"s","nonce":"n","response_uri":"https://x","device_bound":"yes"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseRequest(b)
		if err != nil {
			return
		}
		if r.Check() != nil || r.Nonce == "" {
			t.Fatal("accepted an invalid request")
		}
	})
}
