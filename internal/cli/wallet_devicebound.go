package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/mustard-id/mustard/circuits/devicebound"
	"github.com/mustard-id/mustard/internal/trust"
	"github.com/mustard-id/mustard/persona"
	"github.com/mustard-id/mustard/zk"
)

// deviceBoundKeys loads the device-bound circuit's keys, downloading them
// into the wallet once per verifying key.
func (e *walletEnv) deviceBoundKeys(ctx context.Context, c *persona.Client) (*zk.Keys, error) {
	vk, err := c.DeviceBoundVK(ctx)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(e.dir, "zk-devicebound")
	var meta struct {
		VKID string `json:"vk_id"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "devicebound.json"))
	if err == nil {
		err = json.Unmarshal(b, &meta)
	}
	if err != nil || meta.VKID != vk {
		if err := e.withProgress("downloading the device-bound circuit's key", func() error {
			return c.DownloadKeys(ctx, "devicebound", dir, vk)
		}); err != nil {
			return nil, fmt.Errorf("cannot download the device-bound circuit's key: %w", err)
		}
	}
	var k *zk.Keys
	err = e.withProgress("loading the device-bound proving key", func() error {
		k, err = zk.LoadOrSetup(dir, "devicebound", &devicebound.Circuit{}, nil)
		return err
	})
	if err != nil {
		return nil, err
	}
	if k.VKID != vk {
		return nil, errors.New("the device-bound circuit's key does not match the server's")
	}
	return k, nil
}

// proveDeviceBound derives a device-bound persona proof, printing each
// step and, while proving, the elapsed time each second.
func (e *walletEnv) proveDeviceBound(ctx context.Context, u *persona.Unlocked, pin []byte, keys *zk.Keys, fw *trust.Document, rc *persona.RevocationCache, key jwk.Key, q persona.Query) (*devicebound.ProofJSON, error) {
	return u.Wallet.DeriveDeviceBoundCached(ctx, keys, pin, fw, rc, key, q, func(msg string) {
		fmt.Fprintf(e.errw(), "  %s\n", msg)
	})
}
