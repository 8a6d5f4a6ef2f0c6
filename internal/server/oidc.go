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
	tok, err := registrationToken(opts, sec.OIDCSecret)
	if err != nil {
		return err
	}
	s.RegistrationToken = tok
	s.OIDC, err = oidc.New(oidc.Config{
		Issuer:             opts.PublicURL,
		Keys:               []jwk.Key{key},
		Secret:             sec.OIDCSecret,
		Verifier:           s.Verifier,
		Backend:            s.Store,
		RegistrationTokens: map[string]oidc.RegistrationPolicy{oidc.TokenHash(tok): {}},
		Framework:          s.Framework.ID,
		Now:                opts.Now,
	})
	return err
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
