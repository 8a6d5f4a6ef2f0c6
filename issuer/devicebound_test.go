package issuer_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/backend/groth16"
	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/circuits/devicebound"
	"github.com/mustard-id/mustard/circuits/persona"
	"github.com/mustard-id/mustard/issuer"
	"github.com/mustard-id/mustard/zk"
)

// deviceBoundKeys runs one development setup of the device-bound circuit
// per test binary (about a minute on a loaded 2-core machine).
var deviceBoundKeys = sync.OnceValues(func() (*zk.Keys, error) {
	ccs, err := zk.Compile(&devicebound.Circuit{})
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

// TestIssueDeviceBound: an issuer configured with the device-bound keys
// issues for a device-bound proof over HTTP, and refuses it without its
// device_r or with another R.
func TestIssueDeviceBound(t *testing.T) {
	if testing.Short() {
		t.Skip("a Groth16 setup of the device-bound circuit")
	}
	keys, err := deviceBoundKeys()
	require.NoError(t, err)

	// A provider in a registry, an empty revocation tree, and a core
	// credential committing a device key.
	prov, err := zk.GenerateKey(nil)
	require.NoError(t, err)
	dev, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	now := time.Now().Unix()
	reg := zk.NewTree(persona.RegistryDepth)
	leaf, err := reg.Append(zk.ProviderLeaf(prov.Public(), zk.GradeHigh, now+86400))
	require.NoError(t, err)
	rev := zk.NewIndexedTree(persona.RevocationDepth)
	secret, err := zk.RandomElement()
	require.NoError(t, err)
	revNonce, err := zk.RandomElement()
	require.NoError(t, err)
	x, y := make([]byte, 32), make([]byte, 32)
	dev.X.FillBytes(x)
	dev.Y.FillBytes(y)
	cred := zk.CoreCredential{Commitment: zk.Commit(secret), Grade: zk.GradeHigh, Expiry: now + 86400, RevNonce: revNonce, DeviceKeyHash: zk.KeyHash(zk.TagDevice, x, y)}
	csig, err := prov.Sign(cred.Message())
	require.NoError(t, err)
	nm, err := rev.ProveAbsent(zk.RevocationEntry(prov.Public(), revNonce))
	require.NoError(t, err)

	w := newWorld(t, func(c *issuer.Config) {
		c.RegistryRoot = func() fr.Element { return reg.Root() }
		c.RevocationRoot = func() fr.Element { return rev.Root() }
		c.DeviceBoundKeys = keys
	})
	ctx := context.Background()
	nonce, _, err := w.iss.Nonce(ctx, testScope)
	require.NoError(t, err)
	holder := newKey(t)
	holderPub, err := holder.PublicKey()
	require.NoError(t, err)
	hb, err := issuer.HolderBinding(holderPub)
	require.NoError(t, err)
	pub := persona.Public{
		RegistryRoot: reg.Root(), RevocationRoot: rev.Root(),
		Scope: zk.Scope(testScope), Pseudonym: zk.Pseudonym(secret, zk.Scope(testScope)),
		Now: w.clock.Now().Unix(), MinGrade: zk.GradeSubstantial, HolderBinding: hb, Nonce: zk.Nonce(nonce),
	}
	priv := persona.Private{Secret: secret, Credential: cred, Signature: csig, ProviderKey: prov.Public(), MaxGrade: zk.GradeHigh, ValidUntil: now + 86400, Registry: reg.Path(leaf), Revocation: nm}

	sign := func() *devicebound.Signed {
		d := devicebound.Digest(pub.Nonce)
		der, err := ecdsa.SignASN1(rand.Reader, dev, d[:])
		require.NoError(t, err)
		s, err := devicebound.ParseSignature(&dev.PublicKey, der)
		require.NoError(t, err)
		return s
	}
	a, b, err := devicebound.Assign(&pub, &priv, sign())
	require.NoError(t, err)
	proof, err := keys.Prove(a)
	require.NoError(t, err)
	j := devicebound.Encode(keys.VKID, testScope, nonce, &pub, b, proof)
	pop, err := issuer.SignPossession(holder, w.iss.ID(), nonce)
	require.NoError(t, err)
	hj, err := json.Marshal(holderPub)
	require.NoError(t, err)
	body := func(deviceR string) issuer.RequestJSON {
		return issuer.RequestJSON{Proof: j.ProofJSON, HolderJWK: hj, PoP: pop, DeviceR: deviceR}
	}

	code, _, out := w.call(t, http.MethodPost, "/v1/persona", "", body(""))
	require.Equal(t, http.StatusBadRequest, code, string(out))
	require.True(t, strings.HasSuffix(problemType(t, out), "invalid-statement"), string(out))

	_, other, err := devicebound.Assign(&pub, &priv, sign()) // a fresh R
	require.NoError(t, err)
	otherJ := devicebound.Encode(keys.VKID, testScope, nonce, &pub, other, proof)
	code, _, out = w.call(t, http.MethodPost, "/v1/persona", "", body(otherJ.DeviceR))
	require.Equal(t, http.StatusBadRequest, code, string(out))
	require.True(t, strings.HasSuffix(problemType(t, out), "invalid-proof"), string(out))

	code, _, out = w.call(t, http.MethodPost, "/v1/persona", "", body(j.DeviceR))
	require.Equal(t, http.StatusCreated, code, string(out))
	var issued issuer.IssuedJSON
	require.NoError(t, json.Unmarshal(out, &issued))
	require.Equal(t, zk.Hex(pub.Pseudonym), issued.Pseudonym)
}
