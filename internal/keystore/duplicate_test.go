package keystore

import (
	"bytes"
	"testing"

	"github.com/google/go-tpm/tpm2"
	"github.com/stretchr/testify/require"
)

// TestSimulatorDuplicate duplicates a duplicable sealed secret to the
// same simulator's storage root key (the only TPM a process can hold;
// internal/cli's TestWalletTransferTPMToTPM moves one between two) and
// imports it back under a new PIN.
func TestSimulatorDuplicate(t *testing.T) {
	k := openSim(t, testSeed)
	// Room for the wrong PINs this test tries on purpose.
	require.NoError(t, setDAParameters(k, 32, 3600, 3600))
	secret := bytes.Repeat([]byte{0x3c}, 32)
	pin, newPin := []byte("old pin"), []byte("new pin")
	blob, err := k.SealDuplicable(secret, pin)
	require.NoError(t, err)
	require.True(t, Duplicable(blob))
	got, err := k.Unseal(blob, pin)
	require.NoError(t, err)
	require.Equal(t, secret, got, "a duplicable blob unseals as any other")

	sk, err := k.StorageKey()
	require.NoError(t, err)
	auth := bytes.Repeat([]byte{7}, 32)
	_, err = k.Duplicate(blob, []byte("wrong"), sk, auth)
	require.ErrorIs(t, err, ErrWrongPIN)

	d, err := k.Duplicate(blob, pin, sk, auth)
	require.NoError(t, err)
	require.Len(t, d.InnerKey, 16)
	for _, f := range [][]byte{d.Duplicate, d.Seed, d.Public} {
		require.False(t, bytes.Contains(f, secret), "nothing leaves the TPM in clear")
	}

	// The wrong transfer authorization, or an altered duplicate, inner
	// key or seed, imports nothing usable.
	_, err = k.ImportDuplicate(d, bytes.Repeat([]byte{8}, 32), newPin)
	require.ErrorIs(t, err, ErrWrongPIN)
	for name, mod := range map[string]func(*Duplicated){
		"duplicate": func(d *Duplicated) { d.Duplicate[len(d.Duplicate)-1] ^= 1 },
		"inner key": func(d *Duplicated) { d.InnerKey[0] ^= 1 },
		"seed":      func(d *Duplicated) { d.Seed[5] ^= 1 },
	} {
		bad := &Duplicated{Public: d.Public, Duplicate: bytes.Clone(d.Duplicate), Seed: bytes.Clone(d.Seed), InnerKey: bytes.Clone(d.InnerKey)}
		mod(bad)
		_, err := k.ImportDuplicate(bad, auth, newPin)
		require.Error(t, err, name)
	}

	moved, err := k.ImportDuplicate(d, auth, newPin)
	require.NoError(t, err)
	require.True(t, Duplicable(moved), "it can move on again")
	_, err = k.Unseal(moved, pin)
	require.ErrorIs(t, err, ErrWrongPIN, "the old PIN does not open the new copy")
	got, err = k.Unseal(moved, newPin)
	require.NoError(t, err)
	require.Equal(t, secret, got)

	// A blob sealed the old way is not duplicable.
	fixed, err := k.Seal(secret, pin)
	require.NoError(t, err)
	require.False(t, Duplicable(fixed))
	_, err = k.Duplicate(fixed, pin, sk, auth)
	require.ErrorIs(t, err, ErrNotDuplicable)

	// Not a storage key: the device key, a signing key.
	dev := tpm2.Marshal(deviceKeyTemplate)
	_, err = k.Duplicate(blob, pin, dev, auth)
	require.ErrorIs(t, err, ErrNotStorageKey)
}

// FuzzCheckStorageKey: a new parent from another device never panics
// the sender, and what passes is a storage key.
func FuzzCheckStorageKey(f *testing.F) {
	f.Add(tpm2.Marshal(tpm2.ECCSRKTemplate))
	f.Add(tpm2.Marshal(tpm2.RSASRKTemplate))
	f.Add(tpm2.Marshal(deviceKeyTemplate))
	f.Add([]byte{0, 0x23, 0, 0x0b})
	f.Fuzz(func(t *testing.T, b []byte) {
		pub, err := CheckStorageKey(b)
		if err == nil && (!pub.ObjectAttributes.Restricted || !pub.ObjectAttributes.Decrypt) {
			t.Fatal("accepted a key that is not a storage key")
		}
	})
}

// TestSimulatorDuplicateAcrossTPMs duplicates a secret for another
// simulated TPM's storage key (simulators one after the other: their
// seeds fix their keys): that TPM imports it, a third cannot.
func TestSimulatorDuplicateAcrossTPMs(t *testing.T) {
	secret := bytes.Repeat([]byte{0x6b}, 32)
	pin, auth := []byte("pin"), bytes.Repeat([]byte{9}, 32)
	storageKey := func(seed int64) []byte {
		k := openSim(t, seed)
		defer k.Close()
		sk, err := k.StorageKey()
		require.NoError(t, err)
		return sk
	}
	skB := storageKey(testSeed + 2)

	a := openSim(t, testSeed+1)
	blob, err := a.SealDuplicable(secret, pin)
	require.NoError(t, err)
	d, err := a.Duplicate(blob, pin, skB, auth)
	require.NoError(t, err)
	require.NoError(t, a.Close())

	c := openSim(t, testSeed+3)
	_, err = c.ImportDuplicate(d, auth, pin)
	require.Error(t, err, "a duplicate for another TPM does not import")
	require.NoError(t, c.Close())

	b := openSim(t, testSeed+2)
	moved, err := b.ImportDuplicate(d, auth, []byte("new pin"))
	require.NoError(t, err)
	got, err := b.Unseal(moved, []byte("new pin"))
	require.NoError(t, err)
	require.Equal(t, secret, got)
}

// BenchmarkSimulatorDuplicate measures the sender's TPM2_ObjectChangeAuth
// and TPM2_Duplicate, and the receiver's TPM2_Import and
// TPM2_ObjectChangeAuth, on the simulator.
func BenchmarkSimulatorDuplicate(b *testing.B) {
	k, err := OpenSimulator(testSeed)
	if err != nil {
		b.Fatal(err)
	}
	defer k.Close()
	pin, auth := []byte("pin"), bytes.Repeat([]byte{9}, 32)
	blob, err := k.SealDuplicable(bytes.Repeat([]byte{1}, 32), pin)
	if err != nil {
		b.Fatal(err)
	}
	sk, _ := k.StorageKey()
	b.Run("duplicate", func(b *testing.B) {
		for b.Loop() {
			if _, err := k.Duplicate(blob, pin, sk, auth); err != nil {
				b.Fatal(err)
			}
		}
	})
	d, err := k.Duplicate(blob, pin, sk, auth)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("import", func(b *testing.B) {
		for b.Loop() {
			if _, err := k.ImportDuplicate(d, auth, pin); err != nil {
				b.Fatal(err)
			}
		}
	})
}
