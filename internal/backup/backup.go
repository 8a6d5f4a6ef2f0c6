// Package backup writes and restores a server's data directory as one
// file while the server keeps serving: the SQLite database is copied with
// VACUUM INTO (a consistent snapshot taken inside one read transaction,
// which in WAL mode blocks no writer), every other file (the sealed key
// bundle lives in the database; the trust framework, the circuit keys,
// the development registration token are files) is copied as it is.
// Nothing is decrypted: the keys in a backup stay sealed under the
// server's passphrase (or its TPM), exactly as on disk.
//
// The file is a gzip-compressed tar archive.
package backup

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	_ "modernc.org/sqlite" // the database driver the store uses
)

// Database is the SQLite database's file name in a data directory.
const Database = "mustard.db"

// Bounds on what Restore accepts.
const (
	MaxFiles    = 10000
	MaxFileSize = 64 << 30
)

// ErrArchive is a backup file Restore refuses.
var ErrArchive = errors.New("backup: not a valid Mustard backup")

// skip are the files a backup leaves out: the database's write-ahead log
// and shared memory (the snapshot already holds their committed content).
func skip(name string) bool {
	return name == Database+"-wal" || name == Database+"-shm" || name == Database+"-journal" || name == Database
}

// Summary says what a backup or restore copied.
type Summary struct {
	Files    int   // files, the database included
	Database bool  // whether the directory had a SQLite database
	Bytes    int64 // uncompressed bytes
}

// Create writes a backup of dataDir to w. The server may be running: the
// database snapshot is one read transaction, and the other files are
// written once when the server first starts (keys, framework) or replaced
// atomically.
func Create(ctx context.Context, dataDir string, w io.Writer) (*Summary, error) {
	sum := &Summary{}
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	dbPath := filepath.Join(dataDir, Database)
	if _, err := os.Stat(dbPath); err == nil {
		snap, err := snapshot(ctx, dbPath)
		if err != nil {
			return nil, err
		}
		defer os.Remove(snap)
		n, err := addFile(tw, snap, Database)
		if err != nil {
			return nil, err
		}
		sum.Files++
		sum.Bytes += n
		sum.Database = true
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	err := filepath.WalkDir(dataDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dataDir, p)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		switch {
		case d.IsDir():
			return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: rel + "/", Mode: 0o700})
		case !d.Type().IsRegular() || skip(rel) || strings.HasPrefix(path.Base(rel), ".mustard-backup-"):
			return nil
		}
		n, err := addFile(tw, p, rel)
		sum.Files++
		sum.Bytes += n
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := gz.Close(); err != nil {
		return nil, err
	}
	return sum, nil
}

// snapshot copies the database with VACUUM INTO into a temporary file
// beside it (same file system, same permissions as the data directory).
func snapshot(ctx context.Context, dbPath string) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(dbPath), ".mustard-backup-*.db")
	if err != nil {
		return "", fmt.Errorf("backup: %w", err)
	}
	tmp := f.Name()
	f.Close()
	os.Remove(tmp) // VACUUM INTO wants to create the file itself
	db, err := sql.Open("sqlite", "file:"+dbPath+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return "", fmt.Errorf("backup: open database: %w", err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, tmp); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("backup: snapshot the database: %w", err)
	}
	return tmp, nil
}

func addFile(tw *tar.Writer, src, name string) (int64, error) {
	f, err := os.Open(src)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: int64(st.Mode().Perm()), Size: st.Size(), ModTime: st.ModTime()}); err != nil {
		return 0, err
	}
	return io.Copy(tw, io.LimitReader(f, st.Size()))
}

// Restore unpacks a backup into dataDir, which must not exist or be
// empty. Only plain files and directories under dataDir are accepted;
// anything else (absolute or climbing paths, links, devices) refuses the
// whole archive, and a refused restore removes what it wrote.
func Restore(r io.Reader, dataDir string) (sum *Summary, err error) {
	if entries, err := os.ReadDir(dataDir); err == nil && len(entries) > 0 {
		return nil, fmt.Errorf("backup: %s is not empty: restore into a new data directory", dataDir)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			entries, _ := os.ReadDir(dataDir)
			for _, e := range entries {
				os.RemoveAll(filepath.Join(dataDir, e.Name()))
			}
		}
	}()
	gz, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrArchive, err)
	}
	tr := tar.NewReader(gz)
	sum = &Summary{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrArchive, err)
		}
		if sum.Files++; sum.Files > MaxFiles {
			return nil, fmt.Errorf("%w: more than %d files", ErrArchive, MaxFiles)
		}
		name := strings.TrimSuffix(h.Name, "/")
		if name == "" || !fs.ValidPath(name) || strings.Contains(name, `\`) {
			return nil, fmt.Errorf("%w: path %q", ErrArchive, h.Name)
		}
		dst := filepath.Join(dataDir, filepath.FromSlash(name))
		switch h.Typeflag {
		case tar.TypeDir:
			sum.Files--
			if err := os.MkdirAll(dst, 0o700); err != nil {
				return nil, err
			}
		case tar.TypeReg:
			if h.Size < 0 || h.Size > MaxFileSize {
				return nil, fmt.Errorf("%w: %s: size %d", ErrArchive, name, h.Size)
			}
			if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
				return nil, err
			}
			f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fs.FileMode(h.Mode).Perm()|0o600)
			if err != nil {
				return nil, fmt.Errorf("%w: %s: %v", ErrArchive, name, err)
			}
			n, err := io.Copy(f, io.LimitReader(tr, h.Size))
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return nil, err
			}
			if n != h.Size {
				return nil, fmt.Errorf("%w: %s is truncated", ErrArchive, name)
			}
			sum.Bytes += n
			if name == Database {
				sum.Database = true
			}
		default:
			return nil, fmt.Errorf("%w: %s is not a plain file", ErrArchive, name)
		}
	}
	if sum.Files == 0 {
		return nil, fmt.Errorf("%w: empty", ErrArchive)
	}
	if sum.Database {
		if err := checkDatabase(filepath.Join(dataDir, Database)); err != nil {
			return nil, err
		}
	}
	return sum, nil
}

// checkDatabase runs SQLite's quick check (the structure, without
// cross-checking indexes: seconds for a million identities) on a restored
// database.
func checkDatabase(p string) error {
	db, err := sql.Open("sqlite", "file:"+p)
	if err != nil {
		return err
	}
	defer db.Close()
	var res string
	if err := db.QueryRow(`PRAGMA quick_check`).Scan(&res); err != nil || res != "ok" {
		return fmt.Errorf("%w: the database fails its check (%v %s)", ErrArchive, err, res)
	}
	return nil
}
