package server

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/mustard-id/mustard/internal/store"
	"github.com/mustard-id/mustard/internal/store/sqlite"
)

// openStore opens the backend Options.Database names: "" or "sqlite" is
// the data directory's mustard.db (SQLite, the default).
func openStore(ctx context.Context, opts Options) (store.Store, error) {
	switch db := opts.Database; {
	case db == "" || db == "sqlite":
		return sqlite.Open(filepath.Join(opts.DataDir, "mustard.db"))
	default:
		return nil, fmt.Errorf("server: database %q: want \"sqlite\" or a postgres:// URL", redactDSN(db))
	}
}

// redactDSN keeps a DSN's scheme only: it may hold a password.
func redactDSN(dsn string) string {
	if i := strings.Index(dsn, "://"); i >= 0 {
		return dsn[:i+3] + "…"
	}
	if len(dsn) > 12 {
		return dsn[:12] + "…"
	}
	return dsn
}
