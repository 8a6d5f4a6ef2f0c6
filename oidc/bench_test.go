package oidc_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkTokenExchange measures the token endpoint over loopback HTTP:
// authorization code + PKCE verifier + client_secret_basic in, access,
// refresh and ID token (ES256) out. The codes are made beforehand through
// the whole sign-in (pages, presentation, consent), outside the timer.
func BenchmarkTokenExchange(b *testing.B) {
	o := startOP(b, nil)
	shop := newRP(b, o, "shop.example", []string{"openid", "offline_access"}, nil)
	alice := newPerson(b, 30)
	type grant struct{ code, verifier string }
	grants := make([]grant, b.N)
	for i := range grants {
		u, v, _ := authorize(b, o, shop, alice, nil)
		grants[i] = grant{u.Query().Get("code"), v}
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	hc := &http.Client{Transport: tr}
	var next, failed atomic.Int64
	b.SetParallelism(4)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			g := grants[next.Add(1)-1]
			form := url.Values{"grant_type": {"authorization_code"}, "code": {g.code}, "redirect_uri": {shop.conf.RedirectURL}, "code_verifier": {g.verifier}}
			req, _ := http.NewRequest("POST", o.srv.URL+"/oauth2/token", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(url.QueryEscape(shop.conf.ClientID), url.QueryEscape(shop.conf.ClientSecret))
			resp, err := hc.Do(req)
			if err != nil || resp.StatusCode != 200 {
				failed.Add(1)
			}
			if resp != nil {
				resp.Body.Close()
			}
		}
	})
	b.StopTimer()
	if failed.Load() > 0 {
		b.Fatalf("%d of %d exchanges failed", failed.Load(), b.N)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "exchanges/s")
}

// BenchmarkLogin measures a whole sign-in as a person lives it, with a
// persona credential already in the wallet: the RP redirects, the OP's
// page offers the request, the wallet presents (SD-JWT VC + key binding),
// the page moves on, the person consents, the RP exchanges the code and
// go-oidc verifies the ID token. p50 and p95 are reported.
func BenchmarkLogin(b *testing.B) {
	o := startOP(b, nil)
	shop := newRP(b, o, "shop.example", []string{"openid", "age_over_18"}, []string{"age_over_18"})
	alice := newPerson(b, 30)
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		if res := login(b, o, shop, alice, "allow"); res.Error != "" || res.Claims["age_over_18"] != true {
			b.Fatalf("login: %+v", res)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*95/100].Microseconds())/1000, "p95-ms")
}
