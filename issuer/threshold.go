package issuer

import (
	"net/http"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/mustard-id/mustard/circuits/persona"
	"github.com/mustard-id/mustard/circuits/threshold"
	"github.com/mustard-id/mustard/internal/problem"
	"github.com/mustard-id/mustard/zk"
)

// ErrProviders refuses a proof whose core credential fewer distinct
// accredited organisations signed than the issuer requires.
var ErrProviders = problem.New("too-few-providers", http.StatusBadRequest, "The proof's core credential is signed by fewer distinct accredited providers than this issuer requires")

// Threshold configures the k-of-n profile (circuits/threshold) at an
// issuer: the circuits' keys by threshold K, the roots their proofs are
// checked against, and the policy.
type Threshold struct {
	Keys map[int]*zk.Keys
	// RegistryRoot is the framework's organisation registry root
	// (trust.Document.OrgRegistry); RevocationRoot the framework-wide
	// revocation root (the union of the providers' trees).
	RegistryRoot, RevocationRoot func() fr.Element
	// MinProviders is the least K the issuer accepts; above 1 it refuses
	// persona-circuit (single-provider) proofs too.
	MinProviders int
}

// profile is the circuit a proof names, with the roots it is checked
// against.
type profile struct {
	keys                         *zk.Keys
	k                            int
	deviceBound                  bool // circuits/devicebound: verified with the request's device_r
	registryRoot, revocationRoot func() fr.Element
}

func (p *profile) verify(proof []byte, pub *persona.Public) error {
	if p.k > 1 {
		return p.keys.Verify(proof, threshold.PublicAssignment(p.k, pub))
	}
	return p.keys.Verify(proof, persona.PublicAssignment(pub))
}

// profile finds the keys of vkID: the persona circuit's, with
// Config.DeviceBoundKeys the device-bound circuit's, or with
// Config.Threshold a k-of-n circuit's, and applies MinProviders.
func (i *Issuer) profile(vkID string) (*profile, error) {
	t := i.cfg.Threshold
	minK := 1
	if t != nil {
		minK = t.MinProviders
	}
	var p *profile
	if i.cfg.Keys != nil && vkID == i.cfg.Keys.VKID {
		p = &profile{keys: i.cfg.Keys, k: 1, registryRoot: i.cfg.RegistryRoot, revocationRoot: i.cfg.RevocationRoot}
	} else if d := i.cfg.DeviceBoundKeys; d != nil && vkID == d.VKID {
		p = &profile{keys: d, k: 1, deviceBound: true, registryRoot: i.cfg.RegistryRoot, revocationRoot: i.cfg.RevocationRoot}
	} else if t != nil && t.RegistryRoot != nil && t.RevocationRoot != nil {
		for k, keys := range t.Keys {
			if keys != nil && k > 1 && vkID == keys.VKID {
				p = &profile{keys: keys, k: k, registryRoot: t.RegistryRoot, revocationRoot: t.RevocationRoot}
			}
		}
	}
	if p == nil {
		return nil, ErrVerifyingKey
	}
	if p.k < minK {
		return nil, ErrProviders
	}
	return p, nil
}
