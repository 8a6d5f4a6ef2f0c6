package coreid

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/internal/trust"
	"github.com/mustard-id/mustard/zk"
)

// TestRebind binds a credential to a new device with the old device
// key's authorization: the new credential keeps the commitment and
// attributes, the old one is revoked, and the authorization works once.
// Every other authorization is refused.
func TestRebind(t *testing.T) {
	e := newEnv(t, func(_ *trust.Document, cfg *Config) { cfg.UnattestedMaxGrade = zk.GradeSubstantial })
	ctx := context.Background()
	devKey := func() (*ecdsa.PrivateKey, fr.Element) {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(t, err)
		x, y := make([]byte, 32), make([]byte, 32)
		k.X.FillBytes(x)
		k.Y.FillBytes(y)
		return k, zk.KeyHash(zk.TagDevice, x, y)
	}
	oldKey, oldHash := devKey()
	_, newHash := devKey()
	r := e.commitment(t)
	r.DeviceKeyHash = oldHash
	r.Source = e.jwtVC(t, govID, person, e.now)
	enr, err := e.p.Enroll(ctx, r)
	require.NoError(t, err)

	authorize := func(k *ecdsa.PrivateKey, h fr.Element, expires int64) Rebinding {
		proof, err := ecdsa.SignASN1(rand.Reader, k, RebindDigest(enr.ProviderKey, enr.Credential.RevNonce, h, expires))
		require.NoError(t, err)
		return Rebinding{Credential: enr.Credential, Signature: enr.Signature, DeviceKey: &oldKey.PublicKey, NewDeviceKeyHash: h, Expires: expires, Proof: proof}
	}
	exp := e.now.Add(time.Hour).Unix()
	otherKey, _ := devKey()
	for name, tc := range map[string]struct {
		rb   Rebinding
		want error
	}{
		"signed by another key": {authorize(otherKey, newHash, exp), ErrUnauthorized},
		"another device key": {func() Rebinding {
			rb := authorize(otherKey, newHash, exp)
			rb.DeviceKey = &otherKey.PublicKey
			return rb
		}(), ErrUnauthorized},
		"for another new device": {func() Rebinding {
			rb := authorize(oldKey, newHash, exp)
			rb.NewDeviceKeyHash = zk.Int64(5)
			return rb
		}(), ErrUnauthorized},
		"expired":           {authorize(oldKey, newHash, e.now.Add(-time.Second).Unix()), ErrRebind},
		"too far ahead":     {authorize(oldKey, newHash, e.now.Add(MaxRebindWindow+time.Hour).Unix()), ErrRebind},
		"an unknown ticket": {func() Rebinding { rb := authorize(oldKey, newHash, exp); rb.Attestation = "nope"; return rb }(), ErrAttestation},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := e.p.Rebind(ctx, tc.rb)
			require.ErrorIs(t, err, tc.want)
		})
	}
	require.Empty(t, e.p.Revocations().Entries, "a refusal changes nothing")

	rb := authorize(oldKey, newHash, exp)
	got, err := e.p.Rebind(ctx, rb)
	require.NoError(t, err)
	require.Equal(t, newHash, got.Credential.DeviceKeyHash)
	require.Equal(t, enr.Credential.Commitment, got.Credential.Commitment)
	require.Equal(t, enr.Credential.Attrs, got.Credential.Attrs)
	require.Equal(t, enr.Credential.Expiry, got.Credential.Expiry)
	require.NotEqual(t, enr.Credential.RevNonce, got.Credential.RevNonce)
	require.NoError(t, e.p.cfg.Key.Public().Verify(got.Credential.Message(), got.Signature))
	require.Equal(t, []fr.Element{zk.RevocationEntry(e.p.cfg.Key.Public(), enr.Credential.RevNonce)}, e.p.Revocations().Entries)

	// Once is all.
	_, err = e.p.Rebind(ctx, rb)
	require.ErrorIs(t, err, ErrRebind)

	// Over HTTP, the rebound credential's own device key would be needed
	// to move it again; the old authorization is a problem+json refusal.
	srv := httptest.NewServer(e.p.Handler())
	defer srv.Close()
	ek, err := oldKey.PublicKey.ECDH()
	require.NoError(t, err)
	body, _ := json.Marshal(RebindBody{Credential: ToJSON(&rb.Credential), Signature: hex.EncodeToString(rb.Signature), DeviceKey: hex.EncodeToString(ek.Bytes()),
		NewDeviceKeyHash: zk.Hex(newHash), Expires: exp, Proof: hex.EncodeToString(rb.Proof)})
	resp, err := http.Post(srv.URL+"/v1/enroll/rebind", "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	require.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
	var pb struct{ Type string }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&pb))
	require.Equal(t, "urn:mustard:problem:invalid-rebinding", pb.Type)
}

// FuzzRebindBody: a rebinding body from the network never panics the
// provider's decoder, and what it accepts has a P-256 device key.
func FuzzRebindBody(f *testing.F) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ek, _ := k.PublicKey.ECDH()
	f.Add([]byte(`{"credential":{"commitment":"01","attrs":[]},"signature":"00","device_key":"` + hex.EncodeToString(ek.Bytes()) + `","new_device_key_hash":"02","expires":1,"proof":"3000"}`))
	f.Add([]byte(`{"device_key":"04"}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var body RebindBody
		if json.Unmarshal(b, &body) != nil {
			return
		}
		rb, err := body.parse()
		if err != nil {
			return
		}
		if _, err := ecdh.P256().NewPublicKey(append([]byte{4}, append(rb.DeviceKey.X.FillBytes(make([]byte, 32)), rb.DeviceKey.Y.FillBytes(make([]byte, 32))...)...)); err != nil {
			t.Fatalf("accepted a device key off P-256: %v", err)
		}
	})
}

// TestRebindRefusesThreshold: a k-of-n credential is not rebound. Rebind
// would revoke only this provider's single-provider entry for it, while
// the credential's other signatures (and the k-of-n circuit, which checks
// CredentialRevocationEntry) kept the old device's copy valid, and the
// new credential would carry one signature instead of K.
func TestRebindRefusesThreshold(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	oldKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	x, y := make([]byte, 32), make([]byte, 32)
	oldKey.X.FillBytes(x)
	oldKey.Y.FillBytes(y)
	r := e.commitment(t)
	r.DeviceKeyHash = zk.KeyHash(zk.TagDevice, x, y)
	r.Source = e.jwtVC(t, govID, person, e.now)
	salt, err := zk.RandomElement()
	require.NoError(t, err)
	enr, err := e.p.Cosign(ctx, CosignRequest{EnrollRequest: r, Salt: salt})
	require.NoError(t, err)
	require.True(t, zk.IsThresholdNonce(enr.Credential.RevNonce))

	exp := e.now.Add(time.Hour).Unix()
	newHash := zk.Int64(7)
	proof, err := ecdsa.SignASN1(rand.Reader, oldKey, RebindDigest(enr.ProviderKey, enr.Credential.RevNonce, newHash, exp))
	require.NoError(t, err)
	_, err = e.p.Rebind(ctx, Rebinding{Credential: enr.Credential, Signature: enr.Signature, DeviceKey: &oldKey.PublicKey, NewDeviceKeyHash: newHash, Expires: exp, Proof: proof})
	require.ErrorIs(t, err, ErrRebind)
	require.Empty(t, e.p.Revocations().Entries, "a refusal changes nothing")
}

// TestRebindRevokedOnAnotherServer: a credential revoked through another
// server sharing the store is not rebound by this one before its tree has
// caught up; rebinding it would have issued a fresh, unrevoked credential
// for a revoked one.
func TestRebindRevokedOnAnotherServer(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	require.NoError(t, e.p.Ready())
	other, err := New(ctx, e.p.cfg, e.store)
	require.NoError(t, err)
	require.NoError(t, other.Ready())
	oldKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	x, y := make([]byte, 32), make([]byte, 32)
	oldKey.X.FillBytes(x)
	oldKey.Y.FillBytes(y)
	r := e.commitment(t)
	r.DeviceKeyHash = zk.KeyHash(zk.TagDevice, x, y)
	r.Source = e.jwtVC(t, govID, person, e.now)
	enr, err := e.p.Enroll(ctx, r)
	require.NoError(t, err)
	require.NoError(t, other.Revoke(ctx, enr.Credential.RevNonce, ReasonHolder))

	exp := e.now.Add(time.Hour).Unix()
	newHash := zk.Int64(7)
	proof, err := ecdsa.SignASN1(rand.Reader, oldKey, RebindDigest(enr.ProviderKey, enr.Credential.RevNonce, newHash, exp))
	require.NoError(t, err)
	_, err = e.p.Rebind(ctx, Rebinding{Credential: enr.Credential, Signature: enr.Signature, DeviceKey: &oldKey.PublicKey, NewDeviceKeyHash: newHash, Expires: exp, Proof: proof})
	require.ErrorIs(t, err, ErrRebind)
	require.Equal(t, other.RevocationRoot(), e.p.RevocationRoot(), "both servers hold the same tree")
}

// TestRebindConcurrent: of concurrent rebindings of one credential (to
// different devices), exactly one succeeds, through two servers sharing
// the store.
func TestRebindConcurrent(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	other, err := New(ctx, e.p.cfg, e.store)
	require.NoError(t, err)
	require.NoError(t, other.Ready())
	oldKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	x, y := make([]byte, 32), make([]byte, 32)
	oldKey.X.FillBytes(x)
	oldKey.Y.FillBytes(y)
	r := e.commitment(t)
	r.DeviceKeyHash = zk.KeyHash(zk.TagDevice, x, y)
	r.Source = e.jwtVC(t, govID, person, e.now)
	enr, err := e.p.Enroll(ctx, r)
	require.NoError(t, err)
	exp := e.now.Add(time.Hour).Unix()
	const n = 8
	errs := make(chan error, n)
	for i := range n {
		h := zk.Int64(int64(100 + i))
		proof, err := ecdsa.SignASN1(rand.Reader, oldKey, RebindDigest(enr.ProviderKey, enr.Credential.RevNonce, h, exp))
		require.NoError(t, err)
		p := e.p
		if i%2 == 1 {
			p = other
		}
		go func() {
			_, err := p.Rebind(ctx, Rebinding{Credential: enr.Credential, Signature: enr.Signature, DeviceKey: &oldKey.PublicKey, NewDeviceKeyHash: h, Expires: exp, Proof: proof})
			errs <- err
		}()
	}
	ok := 0
	for range n {
		if err := <-errs; err == nil {
			ok++
		} else {
			require.ErrorIs(t, err, ErrRebind)
		}
	}
	require.Equal(t, 1, ok)
}
