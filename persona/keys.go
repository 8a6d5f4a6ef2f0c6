package persona

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

// maxProvingKey bounds a downloaded key file.
const maxProvingKey = 256 << 20

// DownloadProvingKey fetches the persona circuit's key files into dir,
// atomically (a temporary directory, renamed into place), and checks that
// they are for the verifying key vkID.
func (c *Client) DownloadProvingKey(ctx context.Context, dir, vkID string) error {
	return c.DownloadKeys(ctx, "persona", dir, vkID)
}

// DownloadKeys fetches a circuit's key files (persona, community) into
// dir, as DownloadProvingKey does.
func (c *Client) DownloadKeys(ctx context.Context, circuit, dir, vkID string) error {
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, ".zk-download-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	for _, ext := range []string{".json", ".vk", ".pk"} {
		name := circuit + ext
		if err := download(ctx, hc, strings.TrimRight(c.BaseURL, "/")+"/v1/zk/"+circuit+"/files/"+name, filepath.Join(tmp, name)); err != nil {
			return err
		}
	}
	var meta struct {
		VKID string `json:"vk_id"`
	}
	b, err := os.ReadFile(filepath.Join(tmp, circuit+".json"))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, &meta); err != nil || meta.VKID != vkID {
		return fmt.Errorf("the server's key files are for %q, not the verifying key it announces (%s)", meta.VKID, vkID)
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	return os.Rename(tmp, dir)
}

func download(ctx context.Context, hc *http.Client, url, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	n, err := io.Copy(f, io.LimitReader(resp.Body, maxProvingKey+1))
	if err == nil && n > maxProvingKey {
		err = errors.New("key file too large")
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
