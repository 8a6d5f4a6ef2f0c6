package sdjwt

import (
	"crypto/sha256"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/stretchr/testify/require"
)

// signJWT signs payload with key under the given header, for tokens no
// honest issuer or holder would make.
func signJWT(tb testing.TB, key any, alg jwa.SignatureAlgorithm, header map[string]any, payload map[string]any) string {
	tb.Helper()
	hdr := jws.NewHeaders()
	for k, v := range header {
		require.NoError(tb, hdr.Set(k, v))
	}
	body, err := json.Marshal(payload)
	require.NoError(tb, err)
	// A raw key, so that jwx does not put the JWK's own kid in the header.
	if k, ok := key.(jwk.Key); ok {
		var raw any
		require.NoError(tb, k.Raw(&raw))
		key = raw
	}
	out, err := jws.Sign(body, jws.WithKey(alg, key, jws.WithProtectedHeaders(hdr)))
	require.NoError(tb, err)
	return string(out)
}

// unsigned builds "<header>.<payload>." by hand.
func unsigned(tb testing.TB, header, payload map[string]any) string {
	tb.Helper()
	h, err := json.Marshal(header)
	require.NoError(tb, err)
	p, err := json.Marshal(payload)
	require.NoError(tb, err)
	return b64.EncodeToString(h) + "." + b64.EncodeToString(p) + "."
}

// kbJWT signs a Key Binding JWT over sdJWT, letting a test override claims.
func kbJWT(tb testing.TB, key jwk.Key, sdJWT string, override map[string]any) string {
	tb.Helper()
	claims := map[string]any{
		"iat":     testNow.Add(-10 * time.Second).Unix(),
		"aud":     testAudience,
		"nonce":   testNonce,
		"sd_hash": digest(sdJWT),
	}
	typ := TypeKeyBinding
	for k, v := range override {
		if k == "typ" {
			typ = v.(string)
			continue
		}
		if v == nil {
			delete(claims, k)
		} else {
			claims[k] = v
		}
	}
	alg, err := signingAlgorithm(key)
	require.NoError(tb, err)
	return signJWT(tb, key, alg, map[string]any{"typ": typ}, claims)
}

// payloadOf decodes the issuer-signed JWT of an issued credential.
func payloadOf(tb testing.TB, cred string) (map[string]any, []Disclosure) {
	tb.Helper()
	tok, err := Parse(cred)
	require.NoError(tb, err)
	jwt, err := parseJWS(tok.JWT)
	require.NoError(tb, err)
	return jwt.payload, tok.Disclosures
}

// reissue signs a modified payload with the real issuer key and attaches
// the given disclosures and a valid Key Binding JWT: the signature is good,
// so only the structural check under test can fail.
func reissue(tb testing.TB, keys testKeys, payload map[string]any, ds []string) string {
	tb.Helper()
	jwt := signJWT(tb, keys.issuerES, jwa.ES256, map[string]any{"typ": TypeSDJWTVC, "kid": "issuer-es256"}, payload)
	sd := jwt + "~"
	for _, d := range ds {
		sd += d + "~"
	}
	return sd + kbJWT(tb, keys.holderES, sd, nil)
}

func encodeDisclosure(tb testing.TB, parts ...any) string {
	tb.Helper()
	b, err := json.Marshal(parts)
	require.NoError(tb, err)
	return b64.EncodeToString(b)
}

func TestVerifyFailures(t *testing.T) {
	t.Parallel()
	keys := loadKeys(t)
	cred := issueT(t, personaRequest(keys.holderES), keys.issuerES)
	tok, err := Parse(cred)
	require.NoError(t, err)
	byName := map[string]Disclosure{}
	for _, d := range tok.Disclosures {
		byName[d.Name] = d
	}
	good := presentT(t, cred, []string{"country", "given_name"}, keys.holderES)
	goodTok, err := Parse(good)
	require.NoError(t, err)
	prefix := good[:len(good)-len(goodTok.KeyBinding)]
	payload, _ := payloadOf(t, cred)
	jwtHeader := func(alg string) map[string]any {
		return map[string]any{"alg": alg, "typ": TypeSDJWTVC, "kid": "issuer-es256"}
	}
	withPayload := func(mut func(map[string]any)) map[string]any {
		var m map[string]any
		b, _ := json.Marshal(payload)
		require.NoError(t, json.Unmarshal(b, &m))
		mut(m)
		return m
	}
	issuerPub, err := jwk.PublicKeyOf(keys.issuerES)
	require.NoError(t, err)
	issuerPubJSON, err := json.Marshal(issuerPub)
	require.NoError(t, err)
	var issuerRaw any
	require.NoError(t, issuerPub.Raw(&issuerRaw))

	type tc struct {
		name string
		pres func() string
		opts func(*VerifyOptions)
		want error
	}
	cases := []tc{
		{"control: the good presentation verifies", func() string { return good }, nil, nil},

		// The issuer-signed JWT.
		{"tampered JWT payload", func() string {
			segs := strings.Split(goodTok.JWT, ".")
			p := withPayload(func(m map[string]any) { m["grade"] = 4 })
			b, _ := json.Marshal(p)
			segs[1] = b64.EncodeToString(b)
			sd := strings.Join(segs, ".") + "~" + byName["country"].Encoded + "~"
			return sd + kbJWT(t, keys.holderES, sd, nil)
		}, nil, ErrSignature},
		{"tampered signature", func() string {
			segs := strings.Split(goodTok.JWT, ".")
			sig, _ := b64.DecodeString(segs[2])
			sig[5] ^= 1
			segs[2] = b64.EncodeToString(sig)
			sd := strings.Join(segs, ".") + "~"
			return sd + kbJWT(t, keys.holderES, sd, nil)
		}, nil, ErrSignature},
		{"signed by another key under the issuer's kid", func() string {
			jwt := signJWT(t, keys.otherES, jwa.ES256, jwtHeader("ES256"), payload)
			return jwt + "~" + kbJWT(t, keys.holderES, jwt+"~", nil)
		}, nil, ErrSignature},
		{"alg none", func() string {
			jwt := unsigned(t, jwtHeader("none"), payload)
			return jwt + "~" + kbJWT(t, keys.holderES, jwt+"~", nil)
		}, nil, ErrAlgorithm},
		{"alg none, even when listed as allowed", func() string {
			jwt := unsigned(t, jwtHeader("none"), payload)
			return jwt + "~" + kbJWT(t, keys.holderES, jwt+"~", nil)
		}, func(o *VerifyOptions) { o.AllowedAlgs = []jwa.SignatureAlgorithm{jwa.NoSignature, jwa.ES256} }, ErrAlgorithm},
		{"alg None with a signature", func() string {
			jwt := unsigned(t, jwtHeader("None"), payload) + "AAAA"
			return jwt + "~" + kbJWT(t, keys.holderES, jwt+"~", nil)
		}, nil, ErrAlgorithm},
		{"HS256 keyed with the issuer's public JWK bytes", func() string {
			jwt := signJWT(t, issuerPubJSON, jwa.HS256, jwtHeader("HS256"), payload)
			return jwt + "~" + kbJWT(t, keys.holderES, jwt+"~", nil)
		}, nil, ErrAlgorithm},
		{"HS256 keyed with the issuer's public key bytes, even when listed as allowed", func() string {
			jwt := signJWT(t, issuerPubJSON, jwa.HS256, jwtHeader("HS256"), payload)
			return jwt + "~" + kbJWT(t, keys.holderES, jwt+"~", nil)
		}, func(o *VerifyOptions) { o.AllowedAlgs = []jwa.SignatureAlgorithm{jwa.HS256, jwa.ES256} }, ErrAlgorithm},
		{"EdDSA header on the issuer's P-256 kid", func() string {
			jwt := signJWT(t, keys.issuerEd, jwa.EdDSA, jwtHeader("EdDSA"), payload)
			return jwt + "~" + kbJWT(t, keys.holderES, jwt+"~", nil)
		}, func(o *VerifyOptions) {
			o.IssuerKeys = StaticKeys(testIssuer, publicSet(t, keys.issuerES, keys.issuerEd))
		}, ErrAlgorithm},
		{"ES384 not allowed by default", func() string {
			jwt := unsigned(t, jwtHeader("ES384"), payload) + "AAAA"
			return jwt + "~"
		}, nil, ErrAlgorithm},
		{"unknown kid", func() string {
			h := jwtHeader("ES256")
			h["kid"] = "rotated-away"
			jwt := signJWT(t, keys.issuerES, jwa.ES256, h, payload)
			return jwt + "~" + kbJWT(t, keys.holderES, jwt+"~", nil)
		}, nil, ErrUnknownKey},
		{"unknown issuer", func() string {
			return reissue(t, keys, withPayload(func(m map[string]any) { m["iss"] = "https://evil.example" }), nil)
		}, nil, ErrUnknownKey},
		{"missing iss", func() string {
			return reissue(t, keys, withPayload(func(m map[string]any) { delete(m, "iss") }), nil)
		}, nil, ErrMalformed},
		{"wrong typ", func() string {
			h := jwtHeader("ES256")
			h["typ"] = "JWT"
			jwt := signJWT(t, keys.issuerES, jwa.ES256, h, payload)
			return jwt + "~" + kbJWT(t, keys.holderES, jwt+"~", nil)
		}, nil, ErrType},
		{"crit header", func() string {
			h := jwtHeader("ES256")
			h["crit"] = []string{"exp"}
			jwt := signJWT(t, keys.issuerES, jwa.ES256, h, payload)
			return jwt + "~" + kbJWT(t, keys.holderES, jwt+"~", nil)
		}, nil, ErrMalformed},
		{"wrong vct", func() string { return good }, func(o *VerifyOptions) { o.VCT = "https://mustard.example/vct/other" }, ErrType},
		{"missing vct", func() string {
			return reissue(t, keys, withPayload(func(m map[string]any) { delete(m, "vct") }), nil)
		}, nil, ErrMalformed},
		{"expired credential", func() string { return good }, func(o *VerifyOptions) {
			o.Now = testNow.Add(31 * 24 * time.Hour)
		}, ErrExpired},
		{"not yet valid (nbf)", func() string {
			return reissue(t, keys, withPayload(func(m map[string]any) { m["nbf"] = testNow.Add(time.Hour).Unix() }), nil)
		}, nil, ErrNotYetValid},
		{"issued in the future", func() string {
			return reissue(t, keys, withPayload(func(m map[string]any) { m["iat"] = testNow.Add(time.Hour).Unix() }), nil)
		}, nil, ErrNotYetValid},
		{"exp not a number", func() string {
			return reissue(t, keys, withPayload(func(m map[string]any) { m["exp"] = "tomorrow" }), nil)
		}, nil, ErrMalformed},
		{"_sd_alg sha-512", func() string {
			return reissue(t, keys, withPayload(func(m map[string]any) { m["_sd_alg"] = "sha-512" }), nil)
		}, nil, ErrAlgorithm},

		// Disclosures.
		{"tampered disclosure", func() string {
			d := byName["country"]
			forged := encodeDisclosure(t, d.Salt, "country", "FR")
			sd := goodTok.JWT + "~" + forged + "~"
			return sd + kbJWT(t, keys.holderES, sd, nil)
		}, nil, ErrDisclosure},
		{"disclosure not in _sd", func() string {
			extra, err := newDisclosure("nationality", "DE")
			require.NoError(t, err)
			sd := prefix + extra.Encoded + "~"
			return sd + kbJWT(t, keys.holderES, sd, nil)
		}, nil, ErrDisclosure},
		{"duplicated disclosure", func() string {
			sd := goodTok.JWT + "~" + byName["country"].Encoded + "~" + byName["country"].Encoded + "~"
			return sd + kbJWT(t, keys.holderES, sd, nil)
		}, nil, ErrDisclosure},
		{"digest twice in _sd", func() string {
			d := byName["country"]
			return reissue(t, keys, withPayload(func(m map[string]any) {
				m["_sd"] = append(m["_sd"].([]any), d.Digest)
			}), []string{d.Encoded})
		}, nil, ErrDisclosure},
		{"digest in _sd and in a nested _sd", func() string {
			d := byName["country"]
			return reissue(t, keys, withPayload(func(m map[string]any) {
				m["address"] = map[string]any{"_sd": []any{d.Digest}}
			}), nil)
		}, nil, ErrDisclosure},
		{"disclosed name collides with a visible claim", func() string {
			d := encodeDisclosure(t, "c2FsdHNhbHRzYWx0c2FsdA", "scope", "other.example")
			return reissue(t, keys, withPayload(func(m map[string]any) {
				m["_sd"] = append(m["_sd"].([]any), digest(d))
			}), []string{d})
		}, nil, ErrDisclosure},
		{"two disclosures with the same name", func() string {
			d1 := encodeDisclosure(t, "c2FsdDE", "nick", "a")
			d2 := encodeDisclosure(t, "c2FsdDI", "nick", "b")
			return reissue(t, keys, withPayload(func(m map[string]any) {
				m["_sd"] = append(m["_sd"].([]any), digest(d1), digest(d2))
			}), []string{d1, d2})
		}, nil, ErrDisclosure},
		{"always-visible claim disclosed (exp)", func() string {
			d := encodeDisclosure(t, "c2FsdDE", "exp", testNow.Add(time.Hour).Unix())
			return reissue(t, keys, withPayload(func(m map[string]any) {
				delete(m, "exp")
				m["_sd"] = append(m["_sd"].([]any), digest(d))
			}), []string{d})
		}, nil, ErrDisclosure},
		{"array-element disclosure referenced from _sd", func() string {
			d := encodeDisclosure(t, "c2FsdDE", "DE")
			return reissue(t, keys, withPayload(func(m map[string]any) {
				m["_sd"] = append(m["_sd"].([]any), digest(d))
			}), []string{d})
		}, nil, ErrDisclosure},
		{"object disclosure referenced from an array", func() string {
			d := encodeDisclosure(t, "c2FsdDE", "x", "DE")
			return reissue(t, keys, withPayload(func(m map[string]any) {
				m["nationalities"] = []any{map[string]any{"...": digest(d)}}
			}), []string{d})
		}, nil, ErrDisclosure},
		{"_sd not an array of strings", func() string {
			return reissue(t, keys, withPayload(func(m map[string]any) { m["_sd"] = []any{1} }), nil)
		}, nil, ErrMalformed},
		{"... key outside an array", func() string {
			return reissue(t, keys, withPayload(func(m map[string]any) { m["..."] = "x" }), nil)
		}, nil, ErrMalformed},

		// Key Binding.
		{"missing KB when required", func() string { return prefix }, nil, ErrKeyBinding},
		{"wrong audience", func() string {
			return prefix + kbJWT(t, keys.holderES, prefix, map[string]any{"aud": "https://other-rp.example"})
		}, nil, ErrAudience},
		{"aud as an array", func() string {
			return prefix + kbJWT(t, keys.holderES, prefix, map[string]any{"aud": []string{testAudience}})
		}, nil, ErrKeyBinding},
		{"wrong nonce", func() string {
			return prefix + kbJWT(t, keys.holderES, prefix, map[string]any{"nonce": "replayed"})
		}, nil, ErrNonce},
		{"missing nonce", func() string {
			return prefix + kbJWT(t, keys.holderES, prefix, map[string]any{"nonce": nil})
		}, nil, ErrKeyBinding},
		{"stale KB iat", func() string {
			return prefix + kbJWT(t, keys.holderES, prefix, map[string]any{"iat": testNow.Add(-10 * time.Minute).Unix()})
		}, nil, ErrStale},
		{"KB iat in the future", func() string {
			return prefix + kbJWT(t, keys.holderES, prefix, map[string]any{"iat": testNow.Add(10 * time.Minute).Unix()})
		}, nil, ErrStale},
		{"KB signed by another key", func() string {
			return prefix + kbJWT(t, keys.otherES, prefix, nil)
		}, nil, ErrKeyBinding},
		{"KB signed by the issuer", func() string {
			return prefix + kbJWT(t, keys.issuerES, prefix, nil)
		}, nil, ErrKeyBinding},
		{"KB with the wrong typ", func() string {
			return prefix + kbJWT(t, keys.holderES, prefix, map[string]any{"typ": "JWT"})
		}, nil, ErrKeyBinding},
		{"KB alg none", func() string {
			return prefix + unsigned(t, map[string]any{"alg": "none", "typ": TypeKeyBinding}, map[string]any{
				"iat": testNow.Unix(), "aud": testAudience, "nonce": testNonce, "sd_hash": digest(prefix),
			})
		}, nil, ErrAlgorithm},
		{"sd_hash mismatch: a disclosure added after binding", func() string {
			return prefix + byName["age_over_18"].Encoded + "~" + goodTok.KeyBinding
		}, nil, ErrKeyBinding},
		{"sd_hash mismatch: a disclosure removed after binding", func() string {
			return goodTok.JWT + "~" + byName["country"].Encoded + "~" + goodTok.KeyBinding
		}, nil, ErrKeyBinding},
		{"sd_hash over the wrong hash", func() string {
			sum := sha256.Sum256([]byte(prefix + "x"))
			return prefix + kbJWT(t, keys.holderES, prefix, map[string]any{"sd_hash": b64.EncodeToString(sum[:])})
		}, nil, ErrKeyBinding},
		{"KB present but the credential has no cnf", func() string {
			return reissue(t, keys, withPayload(func(m map[string]any) { delete(m, "cnf") }), nil)
		}, nil, ErrKeyBinding},

		// Options.
		{"no resolver", func() string { return good }, func(o *VerifyOptions) { o.IssuerKeys = nil }, ErrInvalidRequest},
		{"key binding required without nonce", func() string { return good }, func(o *VerifyOptions) { o.Nonce = "" }, ErrInvalidRequest},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			o := verifyOpts(t, keys.issuerES)
			if c.opts != nil {
				c.opts(&o)
			}
			v, err := Verify(bg, c.pres(), o)
			if c.want == nil {
				require.NoError(t, err)
				require.NotNil(t, v)
				return
			}
			require.ErrorIs(t, err, c.want)
			require.Nil(t, v)
			require.True(t, strings.HasPrefix(err.Error(), "sdjwt: verify: "), err.Error())
			require.NotContains(t, err.Error(), "Möbius", "errors never carry claim values")
		})
	}
}

func TestKeyBindingNotRequired(t *testing.T) {
	t.Parallel()
	keys := loadKeys(t)
	cred := issueT(t, personaRequest(keys.holderES), keys.issuerES)
	o := verifyOpts(t, keys.issuerES)
	o.RequireKeyBinding = false
	o.Audience, o.Nonce = "", ""

	tok, err := Parse(cred)
	require.NoError(t, err)
	plain, err := tok.Present(PresentRequest{Disclose: []string{"country"}}, nil)
	require.NoError(t, err)
	v, err := Verify(bg, plain, o)
	require.NoError(t, err)
	require.False(t, v.KeyBound)

	// A Key Binding JWT that is present is checked even when not required.
	pres := presentT(t, cred, []string{"country"}, keys.holderES)
	v, err = Verify(bg, pres, o)
	require.NoError(t, err)
	require.True(t, v.KeyBound)
	ptok, err := Parse(pres)
	require.NoError(t, err)
	_, err = Verify(bg, pres[:len(pres)-len(ptok.KeyBinding)]+kbJWT(t, keys.otherES, pres[:len(pres)-len(ptok.KeyBinding)], nil), o)
	require.ErrorIs(t, err, ErrKeyBinding)
}

func TestIsKeyBindingError(t *testing.T) {
	t.Parallel()
	for _, err := range []error{ErrKeyBinding, ErrAudience, ErrNonce, ErrStale} {
		require.True(t, IsKeyBindingError(err))
	}
	require.False(t, IsKeyBindingError(ErrSignature))
}

func TestStaticKeys(t *testing.T) {
	t.Parallel()
	keys := loadKeys(t)
	one := StaticKeys(testIssuer, publicSet(t, keys.issuerES))
	two := StaticKeys(testIssuer, publicSet(t, keys.issuerES, keys.issuerEd))

	k, err := one(bg, KeyQuery{Issuer: testIssuer})
	require.NoError(t, err, "a lone key serves a token without kid")
	require.True(t, sameKey(k, keys.issuerES))
	_, err = two(bg, KeyQuery{Issuer: testIssuer})
	require.Error(t, err, "no kid, several keys")
	k, err = two(bg, KeyQuery{Issuer: testIssuer, KeyID: "issuer-eddsa"})
	require.NoError(t, err)
	require.True(t, sameKey(k, keys.issuerEd))
	_, err = two(bg, KeyQuery{Issuer: "https://other.example", KeyID: "issuer-eddsa"})
	require.Error(t, err, "keys are bound to their issuer")
}
