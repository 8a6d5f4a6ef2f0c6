package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"

	"github.com/lestrrat-go/jwx/v2/jwk"

	circuit "github.com/mustard-id/mustard/circuits/persona"
	"github.com/mustard-id/mustard/circuits/threshold"
	"github.com/mustard-id/mustard/internal/trust"
	"github.com/mustard-id/mustard/persona"
	"github.com/mustard-id/mustard/zk"
)

// thresholdProfile is the k-of-n profile (circuits/threshold) a persona is
// derived with: K and the K-of-n circuit's keys.
type thresholdProfile struct {
	k    int
	keys *zk.Keys
}

// thresholdFor decides the profile of a new persona. With --threshold K
// the wallet must hold a k-of-n core credential (threshold.enc) of at
// least K signatures and the issuer must serve the K-of-n keys. Without
// (k 0), a wallet that holds a k-of-n credential uses the largest K, up to
// its signature count, whose keys the issuer serves; nil means the
// single-provider persona circuit.
func (e *walletEnv) thresholdFor(ctx context.Context, c *persona.Client, u *persona.Unlocked, k int) (*thresholdProfile, error) {
	if k < 0 || k == 1 || k > threshold.MaxK {
		return nil, &usageError{fmt.Sprintf("--threshold is a number of providers from 2 to %d", threshold.MaxK)}
	}
	_, ok, err := u.LoadThreshold()
	if err != nil {
		return nil, err
	}
	if !ok {
		if k != 0 {
			return nil, &usageError{"--threshold needs a k-of-n core credential: enroll with several providers first (wallet enroll --providers)"}
		}
		return nil, nil
	}
	n := len(u.Wallet.Threshold.Endorsements)
	if k > n {
		return nil, fmt.Errorf("your core credential carries %d providers' signatures, fewer than the %d you asked to prove", n, k)
	}
	ks := []int{k}
	if k == 0 {
		ks = nil
		for i := min(n, threshold.MaxK); i >= 2; i-- {
			ks = append(ks, i)
		}
	}
	for _, k := range ks {
		vk, err := thresholdVK(ctx, c, k)
		var pe *persona.ProblemError
		if errors.As(err, &pe) && pe.Status == http.StatusNotFound && len(ks) > 1 {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s does not offer %d-of-n personas (it needs `mustard serve --threshold %d`): %w", c.BaseURL, k, k, err)
		}
		keys, err := e.thresholdKeys(ctx, c, k, vk)
		if err != nil {
			return nil, err
		}
		return &thresholdProfile{k: k, keys: keys}, nil
	}
	return nil, nil
}

// thresholdVK is the verifying key id of a server's K-of-n circuit, from
// its key files' metadata.
func thresholdVK(ctx context.Context, c *persona.Client, k int) (string, error) {
	var meta struct {
		VKID string `json:"vk_id"`
	}
	name := "threshold-" + strconv.Itoa(k)
	if err := c.Get(ctx, "/v1/zk/"+name+"/files/"+name+".json", &meta); err != nil {
		return "", err
	}
	return meta.VKID, nil
}

// thresholdKeys loads the K-of-n circuit's keys, downloading them into the
// wallet once per verifying key.
func (e *walletEnv) thresholdKeys(ctx context.Context, c *persona.Client, k int, vk string) (*zk.Keys, error) {
	name := "threshold-" + strconv.Itoa(k)
	dir := filepath.Join(e.dir, "zk-"+name)
	var meta struct {
		VKID string `json:"vk_id"`
	}
	b, err := os.ReadFile(filepath.Join(dir, name+".json"))
	if err == nil {
		err = json.Unmarshal(b, &meta)
	}
	if err != nil || meta.VKID != vk {
		if err := e.withProgress(fmt.Sprintf("downloading the %d-of-n circuit's key", k), func() error {
			return c.DownloadKeys(ctx, name, dir, vk)
		}); err != nil {
			return nil, fmt.Errorf("cannot download the %d-of-n circuit's key: %w", k, err)
		}
	}
	var keys *zk.Keys
	err = e.withProgress(fmt.Sprintf("loading the %d-of-n proving key", k), func() error {
		keys, err = zk.LoadOrSetup(dir, name, threshold.New(k), nil)
		return err
	})
	if err != nil {
		return nil, err
	}
	if keys.VKID != vk {
		return nil, fmt.Errorf("the %d-of-n circuit's key does not match the server's", k)
	}
	return keys, nil
}

// proveThreshold derives a K-of-n persona proof against the framework-wide
// revocation root: the union of every accredited provider's signed
// revocation tree, fetched now.
func (e *walletEnv) proveThreshold(ctx context.Context, u *persona.Unlocked, pin []byte, t *thresholdProfile, fw *trust.Document, key jwk.Key, q persona.Query) (*circuit.ProofJSON, error) {
	snap, err := persona.FrameworkRevocations(ctx, fw, httpClient())
	if err != nil {
		return nil, fmt.Errorf("cannot assemble the framework's revocations: %w", err)
	}
	var proof *circuit.ProofJSON
	err = e.withProgress(fmt.Sprintf("proving (%d of %d providers)", t.k, len(u.Wallet.Threshold.Endorsements)), func() error {
		proof, err = u.Wallet.DeriveThreshold(ctx, t.keys, t.k, pin, fw, snap, key, q)
		return err
	})
	if err != nil {
		return nil, keystoreHelp(err)
	}
	return proof, nil
}
