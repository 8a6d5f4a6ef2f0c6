package devicebound

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"sync"
	"testing"

	"github.com/consensys/gnark/backend/groth16"
	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/circuits/persona"
	"github.com/mustard-id/mustard/internal/keystore"
	"github.com/mustard-id/mustard/zk"
)

// testKeys runs one development setup per test binary (about a minute on
// a loaded 2-core machine).
var testKeys = sync.OnceValues(func() (*zk.Keys, error) {
	ccs, err := zk.Compile(&Circuit{})
	if err != nil {
		return nil, err
	}
	pk, vk, err := groth16.Setup(ccs)
	if err != nil {
		return nil, err
	}
	id, err := zk.VerifyingKeyID(vk)
	if err != nil {
		return nil, err
	}
	return &zk.Keys{Name: "devicebound", CCS: ccs, PK: pk, VK: vk, VKID: id}, nil
})

// TestTPMEndToEnd: the TPM simulator's device key signs the nonce's
// digest (TPM2_Sign), the wallet proves, the proof travels as JSON, and
// the verifier, computing the public inputs from R itself, accepts it;
// the same core secret with another device key proves nothing.
func TestTPMEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("a Groth16 setup of the device-bound circuit")
	}
	tpm, err := keystore.OpenSimulator(61)
	require.NoError(t, err)
	defer tpm.Close()
	devKey, err := tpm.DevicePublicKey()
	require.NoError(t, err)

	f := newFixtureFor(t, devKey)
	d := Digest(f.pub.Nonce)
	der, err := tpm.SignDevice(d[:])
	require.NoError(t, err)
	sig, err := ParseSignature(devKey, der)
	require.NoError(t, err)
	require.True(t, ecdsa.VerifyASN1(devKey, d[:], der), "the TPM signs the digest as crypto/ecdsa checks it")
	require.NoError(t, Check(&f.pub, &f.priv, sig))

	keys, err := testKeys()
	require.NoError(t, err)
	w, b, err := Assign(&f.pub, &f.priv, sig)
	require.NoError(t, err)
	proof, err := keys.Prove(w)
	require.NoError(t, err)

	raw, err := json.Marshal(Encode(keys.VKID, "shop.example", "n-0S6_WzA2Mj", &f.pub, b, proof))
	require.NoError(t, err)
	var j ProofJSON
	require.NoError(t, json.Unmarshal(raw, &j))
	st, gotB, err := Decode(&j)
	require.NoError(t, err)
	require.NoError(t, Verify(keys, st, gotB), "the verifier accepts the proof")

	t.Run("another nonce", func(t *testing.T) {
		st2 := *st
		st2.Public.Nonce = zk.Nonce("replayed-elsewhere")
		require.ErrorIs(t, Verify(keys, &st2, gotB), zk.ErrProof)
	})
	t.Run("another R", func(t *testing.T) {
		der2, err := tpm.SignDevice(d[:])
		require.NoError(t, err)
		sig2, err := ParseSignature(devKey, der2)
		require.NoError(t, err)
		b2, err := sig2.Binding(f.pub.Nonce)
		require.NoError(t, err)
		require.ErrorIs(t, Verify(keys, st, b2), zk.ErrProof)
	})
	t.Run("core secret without the TPM", func(t *testing.T) {
		// The thief has the core secret and credential, and signs with a
		// software key of its own.
		soft, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(t, err)
		s := signNonce(t, soft, f.pub.Nonce)
		require.ErrorIs(t, Check(&f.pub, &f.priv, s), ErrKey)
		w, _, err := Assign(&f.pub, &f.priv, s)
		require.NoError(t, err)
		_, err = keys.Prove(w)
		require.Error(t, err, "an unsatisfied witness yields no proof")
	})
}

// BenchmarkVerify: a verifier's work per device-bound proof, the table
// computation from R included (816 public inputs).
//
//	go test -run '^$' -bench Verify ./circuits/devicebound
func BenchmarkVerify(b *testing.B) {
	keys, err := testKeys()
	require.NoError(b, err)
	f := newFixture(b)
	w, bind, err := Assign(&f.pub, &f.priv, f.sig)
	require.NoError(b, err)
	proof, err := keys.Prove(w)
	require.NoError(b, err)
	st := &persona.Statement{Public: f.pub, Proof: proof}
	b.Run("public inputs", func(b *testing.B) {
		for b.Loop() {
			if _, err := PublicAssignment(&f.pub, bind); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("verify", func(b *testing.B) {
		for b.Loop() {
			if err := Verify(keys, st, bind); err != nil {
				b.Fatal(err)
			}
		}
	})
}
