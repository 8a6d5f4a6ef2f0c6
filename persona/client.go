package persona

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unicode"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/mustard-id/mustard/circuits/persona"
	"github.com/mustard-id/mustard/coreid"
	"github.com/mustard-id/mustard/internal/problem"
	"github.com/mustard-id/mustard/internal/trust"
	"github.com/mustard-id/mustard/issuer"
)

// Client speaks to a Mustard server's provider and issuer APIs.
type Client struct {
	BaseURL string
	HTTP    *http.Client
	// GovernanceThreshold is how many distinct pinned governance keys
	// must have signed the framework; 0 means 1 (a single governance key,
	// the development model).
	GovernanceThreshold int
	// RevocationPage is how many revocation entries to ask for at a time;
	// 0 means RevocationPage.
	RevocationPage int
}

// ProblemError is a problem+json answer from a server.
type ProblemError struct {
	Status int
	problem.Body
}

// Error is printed to a terminal: a server's title and type lose their
// control and format characters (escape sequences, direction overrides).
func (e *ProblemError) Error() string {
	return fmt.Sprintf("%s (%s, HTTP %d)", printable(e.Title), printable(e.Type), e.Status)
}

func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return -1
		}
		return r
	}, s)
}

const maxResponse = 8 << 20

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		pe := &ProblemError{Status: resp.StatusCode}
		if json.Unmarshal(data, &pe.Body) != nil || pe.Type == "" {
			pe.Title = http.StatusText(resp.StatusCode)
		}
		return pe
	}
	if raw, ok := out.(*[]byte); ok {
		*raw = data
		return nil
	}
	return json.Unmarshal(data, out)
}

// Framework fetches the signed trust framework and verifies it under the
// pinned governance keys.
func (c *Client) Framework(ctx context.Context, governance jwk.Set) (*trust.Document, error) {
	var raw []byte
	if err := c.do(ctx, http.MethodGet, "/v1/trust-framework", nil, &raw); err != nil {
		return nil, err
	}
	raw = bytes.TrimSpace(raw)
	if c.GovernanceThreshold <= 1 && len(raw) > 0 && raw[0] != '{' {
		return trust.Parse(raw, governance)
	}
	keys, err := json.Marshal(governance)
	if err != nil {
		return nil, err
	}
	return trust.ParseGoverned(raw, trust.Governance{Threshold: max(1, c.GovernanceThreshold), Keys: keys})
}

// GovernancePolicy fetches the threshold and keys a server publishes
// (GET /v1/trust-framework/governance). Pinning them on first use is for
// development; deployments give them to the wallet.
func (c *Client) GovernancePolicy(ctx context.Context) (*trust.Governance, error) {
	var g trust.Governance
	if err := c.do(ctx, http.MethodGet, "/v1/trust-framework/governance", nil, &g); err != nil {
		return nil, err
	}
	return &g, nil
}

// Governance fetches the governance keys a server publishes. Pinning them
// on first use is for development; deployments configure them.
func (c *Client) Governance(ctx context.Context) (jwk.Set, error) {
	var raw []byte
	if err := c.do(ctx, http.MethodGet, "/v1/trust-framework/governance-keys", nil, &raw); err != nil {
		return nil, err
	}
	return jwk.Parse(raw)
}

// Enroll sends a source credential and the wallet's commitment.
func (c *Client) Enroll(ctx context.Context, body coreid.EnrollBody) (*coreid.EnrollmentJSON, error) {
	var out coreid.EnrollmentJSON
	if err := c.do(ctx, http.MethodPost, "/v1/enroll", body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Revocations downloads the whole revocation snapshot, a page at a time
// (a million entries are about 68 MB of JSON).
func (c *Client) Revocations(ctx context.Context) (coreid.Snapshot, error) {
	entries, root, err := c.fetchFrom(ctx, 0)
	if err != nil {
		return coreid.Snapshot{}, err
	}
	return coreid.Snapshot{Root: root, Entries: entries}, nil
}

// Nonce asks the issuer for a single-use nonce for a persona in scope.
func (c *Client) Nonce(ctx context.Context, scope string) (string, error) {
	var out issuer.NonceJSON
	if err := c.do(ctx, http.MethodPost, "/v1/persona/nonce", issuer.NonceRequestJSON{Scope: scope}, &out); err != nil {
		return "", err
	}
	return out.Nonce, nil
}

// Issue sends a persona proof with the persona key's proof of possession.
func (c *Client) Issue(ctx context.Context, issuerID string, proof *persona.ProofJSON, personaKey jwk.Key) (*issuer.IssuedJSON, error) {
	return c.issue(ctx, issuerID, proof, "", personaKey)
}

// issue posts a persona proof (with deviceR for a device-bound one) and
// the persona key's proof of possession to POST /v1/persona.
func (c *Client) issue(ctx context.Context, issuerID string, proof *persona.ProofJSON, deviceR string, personaKey jwk.Key) (*issuer.IssuedJSON, error) {
	pub, err := personaKey.PublicKey()
	if err != nil {
		return nil, err
	}
	pj, err := json.Marshal(pub)
	if err != nil {
		return nil, err
	}
	pop, err := issuer.SignPossession(personaKey, issuerID, proof.Public.Nonce)
	if err != nil {
		return nil, err
	}
	var out issuer.IssuedJSON
	body := issuer.RequestJSON{Proof: *proof, HolderJWK: pj, PoP: pop, DeviceR: deviceR}
	if err := c.do(ctx, http.MethodPost, "/v1/persona", body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Post sends any JSON body to path and decodes the answer (for relying
// parties' calls to the verification API).
func (c *Client) Post(ctx context.Context, path string, in, out any) error {
	return c.do(ctx, http.MethodPost, path, in, out)
}

// Get fetches path and decodes the JSON answer.
func (c *Client) Get(ctx context.Context, path string, out any) error {
	return c.do(ctx, http.MethodGet, path, nil, out)
}
