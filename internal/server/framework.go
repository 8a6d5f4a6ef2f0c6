package server

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"time"

	"github.com/mustard-id/mustard/internal/tlog"
	"github.com/mustard-id/mustard/internal/trust"
)

// InstallFramework puts a new trust framework document in service in the
// data directory: it must verify under the pinned governance (m-of-n) and,
// when a framework is installed already, succeed it (a higher version,
// chained by digest, signed by the current document's governance). The
// change is appended to the transparency log before the file is replaced
// (atomically); servers pick it up when they (re)start.
func InstallFramework(ctx context.Context, opts Options, signed []byte) (*trust.Document, error) {
	if opts.Governance == nil {
		return nil, errors.New("installing a framework needs the pinned governance keys and threshold")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	path := filepath.Join(opts.DataDir, "trust-framework.jws")
	var d *trust.Document
	current, err := os.ReadFile(path)
	switch {
	case err == nil:
		if cur, perr := trust.ParseGoverned(current, *opts.Governance); perr == nil {
			if d, err = trust.Succeed(cur, current, signed, *opts.Governance); err != nil {
				return nil, err
			}
			break
		}
		// The installed document is not governed by these keys (a
		// development framework): the new one is the first governed one.
		if d, err = trust.ParseGoverned(signed, *opts.Governance); err != nil {
			return nil, err
		}
	case errors.Is(err, os.ErrNotExist):
		if d, err = trust.ParseGoverned(signed, *opts.Governance); err != nil {
			return nil, err
		}
	default:
		return nil, err
	}
	st, err := openStore(ctx, opts)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	if err := st.AppendLog(ctx, tlog.NewEntry(tlog.KindFramework, opts.Now(), map[string]string{"document": trust.Digest(signed)})); err != nil {
		return nil, err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, signed, 0o644); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, err
	}
	return d, nil
}
