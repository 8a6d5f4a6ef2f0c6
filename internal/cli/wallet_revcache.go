package cli

import (
	"context"
	"fmt"

	"github.com/mustard-id/mustard/persona"
)

// syncRevocations brings the wallet's persisted revocation cache up to
// its provider's tree (only what was revoked since the last derivation)
// and returns it; a cache that cannot be used is rebuilt, saying why.
func (e *walletEnv) syncRevocations(ctx context.Context, u *persona.Unlocked, c *persona.Client) (*persona.RevocationCache, error) {
	f, err := u.RevocationFile()
	if err != nil {
		return nil, err
	}
	var rc *persona.RevocationCache
	var rs persona.RevocationSync
	err = e.withProgress("updating the revocation list", func() error {
		var err error
		rc, rs, err = f.Sync(ctx, c)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("cannot update the revocation list from %s: %w", c.BaseURL, err)
	}
	if rs.Rebuilt != "" {
		e.warn("the revocation cache was rebuilt: %s", rs.Rebuilt)
	}
	return rc, nil
}
