package server

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/mustard-id/mustard/internal/store"
	"github.com/mustard-id/mustard/internal/store/postgres"
	"github.com/mustard-id/mustard/internal/store/sqlite"
)

// openStore opens the backend Options.Database names: "" or "sqlite" is
// the data directory's mustard.db (SQLite, the default); a postgres:// or
// postgresql:// URL is a PostgreSQL database that several servers may
// share (see docs/operations.md, "Scaling out").
func openStore(ctx context.Context, opts Options) (store.Store, error) {
	switch db := opts.Database; {
	case db == "" || db == "sqlite":
		return sqlite.Open(filepath.Join(opts.DataDir, "mustard.db"))
	case strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://"):
		return postgres.Open(ctx, db)
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
