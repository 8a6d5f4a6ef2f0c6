package server

import (
	"context"
	"net/url"

	"github.com/mustard-id/mustard/internal/tlog"
)

// openLog opens the transparency log; data directories made before it
// existed get its checkpoint key on first start, sealed with the rest. The
// origin (the log's name) is fixed then: auditors pin the key under it.
func (s *Server) openLog(ctx context.Context, opts Options, pass []byte, sec *secrets) error {
	if sec.LogKey == "" {
		origin := "mustard.local/log"
		if u, err := url.Parse(opts.PublicURL); err == nil && u.Host != "" {
			origin = u.Host + "/log"
		}
		opts.Progress("creating the transparency log's checkpoint key for " + origin)
		skey, vkey, err := tlog.NewKey(origin)
		if err != nil {
			return err
		}
		sec.LogKey, sec.LogOrigin, sec.LogVKey = skey, origin, vkey
		if err := s.sealSecrets(ctx, pass, sec); err != nil {
			return err
		}
	}
	l, err := tlog.New(s.Store.DB(), sec.LogOrigin, sec.LogKey)
	if err != nil {
		return err
	}
	s.Log, s.LogKey = l, sec.LogVKey
	return nil
}
