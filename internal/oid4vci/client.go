package oid4vci

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
)

// maxResponse bounds what the client reads from an issuer.
const maxResponse = 1 << 20

// Client is the wallet side: it resolves an offer, reads the issuer's
// metadata, redeems the pre-authorized code and asks for credentials.
type Client struct {
	HTTP *http.Client
	Now  func() time.Time
}

func (c *Client) hc() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// do sends req and decodes a 2xx JSON answer into out; an OAuth error
// object becomes an *Error.
func (c *Client) do(req *http.Request, out any) error {
	req.Header.Set("Accept", "application/json")
	resp, err := c.hc().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		var e Error
		if json.Unmarshal(b, &e) == nil && e.Code != "" {
			e.status = resp.StatusCode
			return &e
		}
		var p struct{ Type, Title string }
		if json.Unmarshal(b, &p) == nil && p.Type != "" {
			return fmt.Errorf("oid4vci: %s: %s (%s)", req.URL.Path, p.Title, p.Type)
		}
		return fmt.Errorf("oid4vci: %s: HTTP %d", req.URL.Path, resp.StatusCode)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("oid4vci: %s: %w", req.URL.Path, err)
	}
	return nil
}

func (c *Client) get(ctx context.Context, u string, out any) error {
	if err := checkURL(u); err != nil {
		return fmt.Errorf("oid4vci: %s: %v", u, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	return c.do(req, out)
}

// Resolve returns the offer of ref, fetching it when it is by reference.
func (c *Client) Resolve(ctx context.Context, ref *OfferRef) (*Offer, error) {
	if ref.Offer != nil {
		return ref.Offer, nil
	}
	var raw json.RawMessage
	if err := c.get(ctx, ref.URI, &raw); err != nil {
		return nil, err
	}
	return ParseOfferJSON(raw)
}

// wellKnown inserts suffix between the host and the path of id (§12.2.2,
// RFC 8414 §3.1).
func wellKnown(id, suffix string) (string, error) {
	u, err := url.Parse(id)
	if err != nil {
		return "", err
	}
	u.Path = suffix + strings.TrimSuffix(u.Path, "/")
	u.RawPath = ""
	return u.String(), nil
}

// Metadata fetches the Credential Issuer Metadata of issuer and checks it
// names the same issuer (§12.2.3).
func (c *Client) Metadata(ctx context.Context, issuer string) (*IssuerMetadata, error) {
	u, err := wellKnown(issuer, WellKnownIssuer)
	if err != nil {
		return nil, err
	}
	var m IssuerMetadata
	if err := c.get(ctx, u, &m); err != nil {
		return nil, err
	}
	if m.CredentialIssuer != issuer {
		return nil, errors.New("oid4vci: the metadata names another credential issuer than the offer")
	}
	return &m, nil
}

// ASMetadata fetches the metadata of authorization server as and checks
// its issuer.
func (c *Client) ASMetadata(ctx context.Context, as string) (*ASMetadata, error) {
	u, err := wellKnown(as, WellKnownAS)
	if err != nil {
		return nil, err
	}
	var m ASMetadata
	if err := c.get(ctx, u, &m); err != nil {
		return nil, err
	}
	if m.Issuer != as || m.TokenEndpoint == "" {
		return nil, errors.New("oid4vci: the authorization server metadata names another issuer or no token endpoint")
	}
	return &m, nil
}

// Session is a redeemed offer: the issuer's metadata and an access token.
type Session struct {
	c        *Client
	Offer    *Offer
	Metadata *IssuerMetadata
	Token    *TokenResponse
}

// Redeem reads the metadata of the offer's issuer and of its
// authorization server, and exchanges the pre-authorized code (with
// txCode when the offer asks for one) for an access token.
func (c *Client) Redeem(ctx context.Context, offer *Offer, txCode string) (*Session, error) {
	if offer.Grants == nil || offer.Grants.PreAuthorized == nil {
		return nil, errors.New("oid4vci: the offer has no pre-authorized code (the authorization code flow is not supported)")
	}
	g := offer.Grants.PreAuthorized
	if g.TxCode != nil && txCode == "" {
		return nil, errors.New("oid4vci: this offer needs the transaction code you were given with it")
	}
	meta, err := c.Metadata(ctx, offer.CredentialIssuer)
	if err != nil {
		return nil, err
	}
	as := offer.CredentialIssuer
	switch {
	case g.AuthorizationServer != "":
		// §4.1.1: it MUST be one the issuer names (or the issuer itself
		// when it names none); else an offer could send the code, and
		// the tx_code the person types, to any server.
		if !slices.Contains(meta.AuthorizationServers, g.AuthorizationServer) &&
			!(len(meta.AuthorizationServers) == 0 && g.AuthorizationServer == offer.CredentialIssuer) {
			return nil, errors.New("oid4vci: the offer's authorization_server is not one the issuer's metadata lists")
		}
		as = g.AuthorizationServer
	case len(meta.AuthorizationServers) > 0:
		as = meta.AuthorizationServers[0]
	}
	asm, err := c.ASMetadata(ctx, as)
	if err != nil {
		return nil, err
	}
	form := url.Values{"grant_type": {GrantPreAuthorized}, "pre-authorized_code": {g.Code}}
	if g.TxCode != nil {
		form.Set("tx_code", txCode)
	}
	if err := checkURL(asm.TokenEndpoint); err != nil {
		return nil, fmt.Errorf("oid4vci: token endpoint: %v", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, asm.TokenEndpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	var tok TokenResponse
	if err := c.do(req, &tok); err != nil {
		return nil, err
	}
	if tok.AccessToken == "" || !strings.EqualFold(tok.TokenType, "Bearer") {
		return nil, errors.New("oid4vci: the token response has no bearer access token")
	}
	return &Session{c: c, Offer: offer, Metadata: meta, Token: &tok}, nil
}

// Nonce fetches a fresh c_nonce from the issuer's nonce endpoint.
func (s *Session) Nonce(ctx context.Context) (string, error) {
	if s.Metadata.NonceEndpoint == "" {
		return "", errors.New("oid4vci: the issuer has no nonce endpoint")
	}
	if err := checkURL(s.Metadata.NonceEndpoint); err != nil {
		return "", fmt.Errorf("oid4vci: nonce endpoint: %v", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.Metadata.NonceEndpoint, nil)
	if err != nil {
		return "", err
	}
	var n NonceResponse
	if err := s.c.do(req, &n); err != nil {
		return "", err
	}
	if n.CNonce == "" {
		return "", errors.New("oid4vci: the nonce response has no c_nonce")
	}
	return n.CNonce, nil
}

// Credential asks for one credential of configuration id bound to key (a
// P-256 private key): it gets a c_nonce, calls extensions with it for any
// extension parameters (nil for none), signs the key proof and sends the
// request.
func (s *Session) Credential(ctx context.Context, id string, key jwk.Key, extensions func(cNonce string) (map[string]json.RawMessage, error)) (string, error) {
	if _, ok := s.Metadata.Configurations[id]; !ok {
		return "", fmt.Errorf("oid4vci: the issuer does not offer %q", id)
	}
	nonce, err := s.Nonce(ctx)
	if err != nil {
		return "", err
	}
	kp, err := SignKeyProof(key, s.Metadata.CredentialIssuer, nonce, s.c.now())
	if err != nil {
		return "", err
	}
	cr := CredentialRequest{ConfigurationID: id, Proofs: &Proofs{JWT: []string{kp}}}
	if extensions != nil {
		if cr.Extensions, err = extensions(nonce); err != nil {
			return "", err
		}
	}
	body, err := json.Marshal(cr)
	if err != nil {
		return "", err
	}
	if err := checkURL(s.Metadata.CredentialEndpoint); err != nil {
		return "", fmt.Errorf("oid4vci: credential endpoint: %v", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.Metadata.CredentialEndpoint, bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+s.Token.AccessToken)
	var out CredentialResponse
	if err := s.c.do(req, &out); err != nil {
		return "", err
	}
	if len(out.Credentials) != 1 || out.Credentials[0].Credential == "" {
		return "", errors.New("oid4vci: the credential response holds no credential (deferred issuance is not supported)")
	}
	return out.Credentials[0].Credential, nil
}
