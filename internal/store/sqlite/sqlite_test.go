package sqlite

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/internal/store"
	"github.com/mustard-id/mustard/internal/store/storetest"
)

func open(t *testing.T) store.Store {
	s, err := Open(filepath.Join(t.TempDir(), "m.db"))
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

// The store suite every backend passes.
func TestStore(t *testing.T) { storetest.Run(t, open) }
