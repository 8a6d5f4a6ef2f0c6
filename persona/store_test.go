package persona

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/internal/keystore"
	"github.com/mustard-id/mustard/zk"
)

// testCore signs a core credential over the wallet's commitment with a
// fresh provider key, as a provider would.
func testCore(t *testing.T, u *Unlocked, pin []byte) *Core {
	t.Helper()
	c, err := u.Wallet.Commitment(pin)
	require.NoError(t, err)
	k, err := zk.GenerateKey(nil)
	require.NoError(t, err)
	cred := zk.CoreCredential{Commitment: c, Grade: zk.GradeHigh, Expiry: time.Now().Add(time.Hour).Unix()}
	for i := range cred.Attrs {
		cred.Attrs[i] = zk.Absent
	}
	sig, err := k.Sign(cred.Message())
	require.NoError(t, err)
	return &Core{Credential: cred, Signature: sig, ProviderKey: k.Public(), MaxGrade: zk.GradeHigh, ValidUntil: time.Now().Add(24 * time.Hour).Unix()}
}

func newTestStore(t *testing.T) (*Store, *Unlocked, []byte) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "wallet")
	pin := []byte("correct horse")
	sealer := keystore.NewSoftware()
	st, err := InitStore(dir, sealer, pin, Meta{})
	require.NoError(t, err)
	u, err := st.Unlock(sealer, pin)
	require.NoError(t, err)
	u.Wallet.Core = testCore(t, u, pin)
	require.NoError(t, u.SaveCore("http://127.0.0.1:1", "did:jwk:x", []byte(`{"keys":[]}`)))
	return st, u, pin
}

func TestStoreRoundTrip(t *testing.T) {
	st, u, pin := newTestStore(t)
	r := &Record{ID: NewID(), Scope: "shop.example", Pseudonym: "00ab", Key: []byte(`{"kty":"EC"}`), Credential: "eyJ...~", Created: time.Now().UTC()}
	require.NoError(t, u.SavePersona(r))
	require.NoError(t, u.Audit(AuditEntry{Event: "present", Persona: r.ID, Scope: r.Scope, Audience: "https://shop.example", Outcome: "sent"}))

	st2, err := OpenStore(st.Dir)
	require.NoError(t, err)
	require.True(t, st2.Enrolled())
	require.Equal(t, "high", st2.Meta.Grade)
	np, na, err := st2.Counts()
	require.NoError(t, err)
	require.Equal(t, 1, np)
	require.Equal(t, 1, na)
	u2, err := st2.Unlock(keystore.NewSoftware(), pin)
	require.NoError(t, err)
	require.NotNil(t, u2.Wallet.Core)
	require.Equal(t, u.Wallet.Core.Credential, u2.Wallet.Core.Credential)
	got, err := u2.Persona("shop.example")
	require.NoError(t, err)
	require.Equal(t, r.ID, got.ID)
	require.JSONEq(t, string(r.Key), string(got.Key))
	trail, err := u2.AuditTrail()
	require.NoError(t, err)
	require.Len(t, trail, 1)
	require.Equal(t, "https://shop.example", trail[0].Audience)

	// Nothing personal or secret is in clear at rest.
	filepath.WalkDir(st.Dir, func(p string, d os.DirEntry, err error) error {
		require.NoError(t, err)
		if d.IsDir() {
			return nil
		}
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		require.NotContains(t, string(b), "shop.example", p)
		require.NotContains(t, string(b), "EC", p)
		return nil
	})
}

func TestStoreWrongPIN(t *testing.T) {
	st, _, _ := newTestStore(t)
	_, err := st.Unlock(keystore.NewSoftware(), []byte("wrong"))
	require.ErrorIs(t, err, keystore.ErrWrongPIN)
}

func TestStoreInitTwice(t *testing.T) {
	st, _, _ := newTestStore(t)
	_, err := InitStore(st.Dir, keystore.NewSoftware(), []byte("x"), Meta{})
	require.ErrorIs(t, err, ErrWalletExists)
}

func TestStoreNoWallet(t *testing.T) {
	_, err := OpenStore(t.TempDir())
	require.ErrorIs(t, err, ErrNoWallet)
}

// TestStoreCorrupt damages each kind of wallet file and checks that the
// error names the file and says what to do.
func TestStoreCorrupt(t *testing.T) {
	cases := []struct {
		name   string
		file   func(st *Store) string
		damage func(b []byte) []byte
		open   bool // fails at OpenStore rather than Unlock / reading
	}{
		{"meta truncated", func(*Store) string { return metaFile }, func(b []byte) []byte { return b[:len(b)/2] }, true},
		{"meta version", func(*Store) string { return metaFile }, func([]byte) []byte { return []byte(`{"version":9,"keystore":"software"}`) }, true},
		{"sealed flipped", func(*Store) string { return sealedFile }, func(b []byte) []byte { b[len(b)/2] ^= 1; return b }, false},
		{"core flipped", func(*Store) string { return coreFile }, func(b []byte) []byte { b[len(b)-1] ^= 1; return b }, false},
		{"core truncated", func(*Store) string { return coreFile }, func(b []byte) []byte { return b[:3] }, false},
		{"persona flipped", func(st *Store) string {
			n, _ := listEnc(filepath.Join(st.Dir, personaDir))
			return filepath.Join(personaDir, n[0])
		}, func(b []byte) []byte { b[10] ^= 0x80; return b }, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, u, pin := newTestStore(t)
			require.NoError(t, u.SavePersona(&Record{ID: NewID(), Scope: "a"}))
			name := tc.file(st)
			path := filepath.Join(st.Dir, name)
			b, err := os.ReadFile(path)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(path, tc.damage(b), 0o600))

			st2, err := OpenStore(st.Dir)
			if err == nil {
				var u2 *Unlocked
				u2, err = st2.Unlock(keystore.NewSoftware(), pin)
				if err == nil {
					_, err = u2.Personas()
				}
			}
			require.Error(t, err)
			var fe *FileError
			require.ErrorAs(t, err, &fe)
			require.Equal(t, path, fe.Path)
			require.Regexp(t, "restore it from a backup|use that version", err.Error())
			if tc.open {
				_, err := OpenStore(st.Dir)
				require.Error(t, err)
			}
		})
	}
}

// TestWriteAtomicLeavesNoTemp checks that a replaced file is whole and
// that no temporary file is left behind.
func TestWriteAtomicLeavesNoTemp(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	require.NoError(t, writeAtomic(p, []byte("one")))
	require.NoError(t, writeAtomic(p, []byte("two")))
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	require.Equal(t, "two", string(b))
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, ents, 1)
	fi, err := os.Stat(p)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	// A directory that cannot be written leaves the old file as it was.
	require.NoError(t, os.Chmod(dir, 0o500))
	t.Cleanup(func() { os.Chmod(dir, 0o700) })
	if os.Geteuid() != 0 { // root writes anywhere
		require.Error(t, writeAtomic(p, []byte("three")))
		b, _ = os.ReadFile(p)
		require.Equal(t, "two", string(b))
	}
}

func TestFileSwapRefused(t *testing.T) {
	_, u, _ := newTestStore(t)
	a, b := &Record{ID: NewID(), Scope: "a"}, &Record{ID: NewID(), Scope: "b"}
	require.NoError(t, u.SavePersona(a))
	require.NoError(t, u.SavePersona(b))
	pa := filepath.Join(u.Dir, personaDir, a.ID+".enc")
	pb := filepath.Join(u.Dir, personaDir, b.ID+".enc")
	bb, err := os.ReadFile(pb)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(pa, bb, 0o600))
	_, err = u.Personas()
	require.ErrorIs(t, err, ErrCorruptFile)
}

// BenchmarkUnlockSoftware is what every wallet command pays to open a
// software-keystore wallet: one Argon2id (t=3, 64 MiB) unseal.
func BenchmarkUnlockSoftware(b *testing.B) {
	dir := filepath.Join(b.TempDir(), "w")
	pin := []byte("pin")
	st, err := InitStore(dir, keystore.NewSoftware(), pin, Meta{})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		u, err := st.Unlock(keystore.NewSoftware(), pin)
		if err != nil {
			b.Fatal(err)
		}
		u.Close()
	}
}

// BenchmarkPersonas reads 100 encrypted persona records.
func BenchmarkPersonas(b *testing.B) {
	dir := filepath.Join(b.TempDir(), "w")
	pin := []byte("pin")
	st, _ := InitStore(dir, keystore.NewSoftware(), pin, Meta{})
	u, _ := st.Unlock(keystore.NewSoftware(), pin)
	for range 100 {
		_ = u.SavePersona(&Record{ID: NewID(), Scope: "s", Credential: string(make([]byte, 2000))})
	}
	for b.Loop() {
		if _, err := u.Personas(); err != nil {
			b.Fatal(err)
		}
	}
}
