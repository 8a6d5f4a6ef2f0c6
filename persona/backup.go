package persona

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
)

// BackupFormat names the backup file format.
const BackupFormat = "mustard-wallet-backup/v1"

// MaxBackup bounds a backup file.
const MaxBackup = 64 << 20

// maxBackupFiles bounds the files in a backup.
const maxBackupFiles = 100000

// backupJSON is a backup: the wallet's files as they are on disk, sealed
// or encrypted ([]byte encodes as base64).
type backupJSON struct {
	Format string            `json:"format"`
	Files  map[string][]byte `json:"files"`
}

// walletFileName matches the files a wallet directory may hold.
var walletFileName = regexp.MustCompile(`^(wallet\.json|core\.sealed|core\.enc|personas/[0-9a-f]{16}\.enc|audit/[0-9]{20}-[0-9a-f]{8}\.enc)$`)

// Backup packs the wallet's files into one backup and returns it with the
// number of files.
func Backup(st *Store) ([]byte, int, error) {
	b := backupJSON{Format: BackupFormat, Files: map[string][]byte{}}
	add := func(name string) error {
		data, err := readBounded(filepath.Join(st.Dir, filepath.FromSlash(name)))
		if err != nil {
			return err
		}
		b.Files[name] = data
		return nil
	}
	for _, n := range []string{metaFile, sealedFile} {
		if err := add(n); err != nil {
			return nil, 0, err
		}
	}
	if st.Enrolled() {
		if err := add(coreFile); err != nil {
			return nil, 0, err
		}
	}
	for _, d := range []string{personaDir, auditDir} {
		names, err := listEnc(filepath.Join(st.Dir, d))
		if err != nil {
			return nil, 0, err
		}
		for _, n := range names {
			if err := add(d + "/" + n); err != nil {
				return nil, 0, err
			}
		}
	}
	out, err := json.Marshal(b)
	return out, len(b.Files), err
}

// ParseBackup checks a backup's structure: its format, its file names
// (no path leaves the wallet directory) and sizes.
func ParseBackup(data []byte) (map[string][]byte, error) {
	if len(data) > MaxBackup {
		return nil, fmt.Errorf("persona: backup larger than %d bytes", MaxBackup)
	}
	var b backupJSON
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, fmt.Errorf("persona: not a wallet backup: %w", err)
	}
	if b.Format != BackupFormat {
		return nil, fmt.Errorf("persona: not a wallet backup (format %q, want %q)", b.Format, BackupFormat)
	}
	if len(b.Files) > maxBackupFiles {
		return nil, errors.New("persona: backup holds too many files")
	}
	for name, content := range b.Files {
		if !walletFileName.MatchString(name) {
			return nil, fmt.Errorf("persona: backup holds an unexpected file %q", name)
		}
		if len(content) > maxFile {
			return nil, fmt.Errorf("persona: backup file %s is too large", name)
		}
	}
	for _, n := range []string{metaFile, sealedFile} {
		if _, ok := b.Files[n]; !ok {
			return nil, fmt.Errorf("persona: backup lacks %s", n)
		}
	}
	return b.Files, nil
}

// RestoreBackup unpacks a backup into dir, which must not hold a wallet.
// wallet.json is written last, so that an interrupted restore leaves no
// wallet that seems whole.
func RestoreBackup(dir string, data []byte) (int, error) {
	files, err := ParseBackup(data)
	if err != nil {
		return 0, err
	}
	if _, err := os.Stat(filepath.Join(dir, metaFile)); err == nil {
		return 0, ErrWalletExists
	} else if !errors.Is(err, fs.ErrNotExist) {
		return 0, err
	}
	names := make([]string, 0, len(files))
	for n := range files {
		if n != metaFile {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	names = append(names, metaFile)
	for _, n := range names {
		p := filepath.Join(dir, filepath.FromSlash(n))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return 0, err
		}
		if err := writeAtomic(p, files[n]); err != nil {
			return 0, err
		}
	}
	if _, err := OpenStore(dir); err != nil {
		return 0, fmt.Errorf("persona: the restored wallet does not open: %w", err)
	}
	return len(names), nil
}
