package devicebound

import (
	"encoding/base64"
	"encoding/json"
	"testing"
)

// FuzzDecode: any wire form decodes or fails cleanly; what decodes has an
// R on the curve whose encoding round-trips.
func FuzzDecode(f *testing.F) {
	fx := newFixture(f)
	b, err := fx.sig.Binding(fx.pub.Nonce)
	if err != nil {
		f.Fatal(err)
	}
	good, err := json.Marshal(Encode("sha256:00", "shop.example", "n-0S6_WzA2Mj", &fx.pub, b, []byte{1, 2, 3}))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"vk":"x","public":{"scope":"a"},"proof":"","device_r":""}`))
	f.Add([]byte(`{"device_r":"` + base64.RawURLEncoding.EncodeToString(make([]byte, 64)) + `"}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		var j ProofJSON
		if json.Unmarshal(raw, &j) != nil {
			return
		}
		_, gotB, err := Decode(&j)
		if err != nil {
			return
		}
		if !gotB.R.IsOnCurve() || gotB.R.IsInfinity() {
			t.Fatal("decoded R off the curve")
		}
		if base64.RawURLEncoding.EncodeToString(gotB.Bytes()) != j.DeviceR {
			t.Fatal("R does not round-trip")
		}
	})
}

// FuzzParseBinding: 64 arbitrary bytes are a point or a clean error.
func FuzzParseBinding(f *testing.F) {
	fx := newFixture(f)
	b, err := fx.sig.Binding(fx.pub.Nonce)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b.Bytes())
	f.Add(make([]byte, 64))
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, raw []byte) {
		p, err := ParseBinding(raw)
		if err != nil {
			return
		}
		if _, _, err := p.TU(fx.pub.Nonce); err != nil && p.r().Sign() != 0 {
			t.Fatal(err)
		}
	})
}
