package server

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/mustard-id/mustard/oidc"
)

// openOIDC builds the OpenID Provider at opts.PublicURL. Data directories
// made before the OP existed get its keys on first start, sealed with the
// rest.
func (s *Server) openOIDC(ctx context.Context, opts Options, pass []byte, sec *secrets) error {
	if sec.OIDC == nil || len(sec.OIDCSecret) < 32 {
		opts.Progress("creating the OpenID Provider's keys")
		var err error
		if sec.OIDC, err = newECKey(); err != nil {
			return err
		}
		sec.OIDCSecret = make([]byte, 32)
		if _, err := rand.Read(sec.OIDCSecret); err != nil {
			return err
		}
		if err := s.sealSecrets(ctx, pass, sec); err != nil {
			return err
		}
	}
	key, err := jwk.ParseKey(sec.OIDC)
	if err != nil {
		return fmt.Errorf("server: oidc key: %w", err)
	}
	keys := []jwk.Key{key}
	for _, r := range sec.OIDCRetired {
		if opts.Now().Sub(time.Unix(r.RetiredAt, 0)) > retiredKeyLife {
			continue
		}
		k, err := jwk.ParseKey(r.Key)
		if err != nil {
			return fmt.Errorf("server: retired oidc key: %w", err)
		}
		keys = append(keys, k)
	}
	tok, err := registrationToken(opts, sec.OIDCSecret)
	if err != nil {
		return err
	}
	s.RegistrationToken = tok
	s.OIDC, err = oidc.New(oidc.Config{
		Issuer:             opts.PublicURL,
		Keys:               keys,
		Secret:             sec.OIDCSecret,
		Verifier:           s.Verifier,
		Backend:            s.Store,
		RegistrationTokens: map[string]oidc.RegistrationPolicy{oidc.TokenHash(tok): {}},
		Framework:          s.Framework.ID,
		Now:                opts.Now,
		OID4VP:             s.oid4vpClient(),
	})
	return err
}

// retiredKeyLife is how long a retired ID token key stays published: the
// ID token lifetime (one hour) and a margin for clocks and caches.
const retiredKeyLife = 2 * time.Hour

// openOffline opens the data directory's store and unseals its key bundle
// for a command that changes keys without serving (rotate-key); the
// caller closes s.Store.
func openOffline(ctx context.Context, opts *Options) (s *Server, sec *secrets, pass []byte, err error) {
	if opts.Progress == nil {
		opts.Progress = func(string) {}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	st, err := openStore(ctx, *opts)
	if err != nil {
		return nil, nil, nil, err
	}
	s = &Server{Store: st}
	if pass, err = passphrase(*opts); err == nil {
		sec, err = s.loadSecrets(ctx, pass, opts.Progress)
	}
	if err != nil {
		st.Close()
		return nil, nil, nil, err
	}
	return s, sec, pass, nil
}

// RotateOIDCKey puts a new ID token signing key in service in the data
// directory; the old one stays published for retiredKeyLife. Servers
// pick the new key up when they (re)start.
func RotateOIDCKey(ctx context.Context, opts Options) (kid string, err error) {
	s, sec, pass, err := openOffline(ctx, &opts)
	if err != nil {
		return "", err
	}
	defer s.Store.Close()
	if sec.OIDC != nil {
		kept := []retiredKey{{Key: sec.OIDC, RetiredAt: opts.Now().Unix()}}
		for _, r := range sec.OIDCRetired {
			if opts.Now().Sub(time.Unix(r.RetiredAt, 0)) <= retiredKeyLife {
				kept = append(kept, r)
			}
		}
		sec.OIDCRetired = kept
	}
	if sec.OIDC, err = newECKey(); err != nil {
		return "", err
	}
	if len(sec.OIDCSecret) < 32 {
		sec.OIDCSecret = make([]byte, 32)
		if _, err := rand.Read(sec.OIDCSecret); err != nil {
			return "", err
		}
	}
	if err := s.sealSecrets(ctx, pass, sec); err != nil {
		return "", err
	}
	k, err := jwk.ParseKey(sec.OIDC)
	if err != nil {
		return "", err
	}
	return k.KeyID(), nil
}

// registrationToken is the OIDC initial access token: the operator's, or
// in development one derived from the OP's secret and written (0600) to
// the data directory so that a newcomer can register a client.
func registrationToken(opts Options, secret []byte) (string, error) {
	if opts.RegistrationToken != "" {
		return opts.RegistrationToken, nil
	}
	if t := os.Getenv("MUSTARD_OIDC_REGISTRATION_TOKEN"); t != "" {
		return t, nil
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("mustard oidc development registration token"))
	tok := "dev-" + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
	path := filepath.Join(opts.DataDir, "oidc-registration-token")
	if b, err := os.ReadFile(path); err == nil && string(b) == tok {
		return tok, nil
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	if err := os.WriteFile(path, []byte(tok), 0o600); err != nil {
		return "", err
	}
	opts.Progress("WARNING: no MUSTARD_OIDC_REGISTRATION_TOKEN: a development token for client registration is in " + path)
	return tok, nil
}
