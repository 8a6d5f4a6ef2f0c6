package backup

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// archive builds a gzip'd tar from headers and bodies.
func archive(t testing.TB, files ...struct {
	h    tar.Header
	body string
}) []byte {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, f := range files {
		h := f.h
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(f.body))
		}
		require.NoError(t, tw.WriteHeader(&h))
		_, _ = tw.Write([]byte(f.body))
	}
	require.NoError(t, tw.Close())
	require.NoError(t, gz.Close())
	return buf.Bytes()
}

type file = struct {
	h    tar.Header
	body string
}

// A backup of a directory with a live database restores to the same
// rows and files; WAL files are not copied.
func TestCreateRestore(t *testing.T) {
	src := t.TempDir()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(src, Database)+"?_pragma=journal_mode(WAL)")
	require.NoError(t, err)
	defer db.Close()
	_, err = db.Exec(`CREATE TABLE t(x); INSERT INTO t VALUES (1), (2), (3)`)
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Join(src, "zk"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(src, "zk", "k"), []byte("key"), 0o600))
	var buf bytes.Buffer
	sum, err := Create(context.Background(), src, &buf)
	require.NoError(t, err)
	require.True(t, sum.Database)
	require.Equal(t, 2, sum.Files)

	dst := filepath.Join(t.TempDir(), "r")
	_, err = Restore(bytes.NewReader(buf.Bytes()), dst)
	require.NoError(t, err)
	b, err := os.ReadFile(filepath.Join(dst, "zk", "k"))
	require.NoError(t, err)
	require.Equal(t, "key", string(b))
	_, err = os.Stat(filepath.Join(dst, Database+"-wal"))
	require.ErrorIs(t, err, os.ErrNotExist)
	rdb, err := sql.Open("sqlite", "file:"+filepath.Join(dst, Database))
	require.NoError(t, err)
	defer rdb.Close()
	var n int
	require.NoError(t, rdb.QueryRow(`SELECT COUNT(*) FROM t`).Scan(&n))
	require.Equal(t, 3, n)

	_, err = Restore(bytes.NewReader(buf.Bytes()), dst)
	require.Error(t, err, "not into a non-empty directory")
}

// Archives that climb out, link or are not archives are refused whole,
// and leave nothing behind.
func TestRestoreRefuses(t *testing.T) {
	for name, b := range map[string][]byte{
		"climbing":  archive(t, file{tar.Header{Typeflag: tar.TypeReg, Name: "../evil", Mode: 0o600}, "x"}),
		"absolute":  archive(t, file{tar.Header{Typeflag: tar.TypeReg, Name: "/etc/evil", Mode: 0o600}, "x"}),
		"symlink":   archive(t, file{tar.Header{Typeflag: tar.TypeReg, Name: "ok", Mode: 0o600}, "x"}, file{tar.Header{Typeflag: tar.TypeSymlink, Name: "l", Linkname: "/etc/passwd"}, ""}),
		"empty":     archive(t),
		"not gzip":  []byte("hello"),
		"bad db":    archive(t, file{tar.Header{Typeflag: tar.TypeReg, Name: Database, Mode: 0o600}, "not a database, but long enough to be read as a header of one........................................................................................"}),
		"truncated": archive(t, file{tar.Header{Typeflag: tar.TypeReg, Name: "ok", Mode: 0o600}, "x"})[:20],
	} {
		t.Run(name, func(t *testing.T) {
			dst := filepath.Join(t.TempDir(), "r")
			_, err := Restore(bytes.NewReader(b), dst)
			require.Error(t, err)
			entries, _ := os.ReadDir(dst)
			require.Empty(t, entries)
			if name != "bad db" {
				require.True(t, errors.Is(err, ErrArchive), "%v", err)
			}
		})
	}
}

// FuzzRestore: any bytes restore cleanly or are refused, never writing
// outside the target directory.
func FuzzRestore(f *testing.F) {
	f.Add(archive(f, file{tar.Header{Typeflag: tar.TypeReg, Name: "a/b", Mode: 0o600}, "x"}))
	f.Add(archive(f, file{tar.Header{Typeflag: tar.TypeDir, Name: "d/", Mode: 0o700}, ""}))
	f.Add(archive(f, file{tar.Header{Typeflag: tar.TypeReg, Name: "../x", Mode: 0o600}, "x"}))
	f.Add([]byte{0x1f, 0x8b})
	f.Fuzz(func(t *testing.T, b []byte) {
		root := t.TempDir()
		dst := filepath.Join(root, "r")
		_, _ = Restore(bytes.NewReader(b), dst)
		entries, err := os.ReadDir(root)
		require.NoError(t, err)
		for _, e := range entries {
			require.Equal(t, "r", e.Name(), "nothing outside the target")
		}
	})
}
