package persona

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/mustard-id/mustard/coreid"
	"github.com/mustard-id/mustard/zk"
)

// ErrPending is PollEnrollment's answer while the person is still logging
// in at the identity provider.
var ErrPending = errors.New("the login at the identity provider has not finished yet")

// EnrollFederation starts an enrollment through a login at a federation's
// identity provider: the wallet sends only its commitment and device key
// hash, opens AuthorizationURL in a browser, and polls PollURL.
func (c *Client) EnrollFederation(ctx context.Context, issuer string, commitment, deviceKeyHash fr.Element, attestation string) (*coreid.FederationJSON, error) {
	var out coreid.FederationJSON
	err := c.do(ctx, http.MethodPost, "/v1/enroll/federation", coreid.FederationBody{Issuer: issuer, Commitment: zk.Hex(commitment), DeviceKeyHash: zk.Hex(deviceKeyHash), Attestation: attestation}, &out)
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(out.PollURL, strings.TrimRight(c.BaseURL, "/")+"/") {
		return nil, fmt.Errorf("the provider's poll URL %q is not on the provider", out.PollURL)
	}
	return &out, nil
}

// PollEnrollment asks once whether the federation enrollment finished:
// ErrPending while it has not, the enrollment when it has, a
// *ProblemError when it was refused.
func (c *Client) PollEnrollment(ctx context.Context, pollURL string) (*coreid.EnrollmentJSON, error) {
	path, ok := strings.CutPrefix(pollURL, strings.TrimRight(c.BaseURL, "/"))
	if !ok {
		return nil, errors.New("the poll URL is not on this provider")
	}
	var raw []byte
	if err := c.do(ctx, http.MethodGet, path, nil, &raw); err != nil {
		return nil, err
	}
	var out struct {
		Status string `json:"status"`
		coreid.EnrollmentJSON
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("the provider's enrollment is malformed: %w", err)
	}
	if out.Status == "pending" {
		return nil, ErrPending
	}
	return &out.EnrollmentJSON, nil
}
