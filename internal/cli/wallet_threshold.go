package cli

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/mustard-id/mustard/coreid"
	"github.com/mustard-id/mustard/internal/trust"
	"github.com/mustard-id/mustard/persona"
	"github.com/mustard-id/mustard/zk"
)

type thresholdEnrollJSON struct {
	Providers []string `json:"providers"`
	Threshold int      `json:"threshold"`
	Signed    int      `json:"signed"`
	Issuer    string   `json:"issuer"`
	Grade     string   `json:"grade"`
	Expires   string   `json:"expires"`
}

// enrollThreshold runs a k-of-n enrollment (`wallet enroll --providers`):
// the first provider leads, each further one verifies the source itself
// and co-signs the same core credential, after its own TPM attestation.
func (e *walletEnv) enrollThreshold(ctx context.Context, u *persona.Unlocked, pin []byte, fw *trust.Document, urls []string, k int, source, iss string, govRaw []byte, govThreshold int) error {
	var clients []*persona.Client
	for _, raw := range urls {
		url := strings.TrimRight(strings.TrimSpace(raw), "/")
		if url == "" {
			return &usageError{"--providers has an empty entry"}
		}
		clients = append(clients, &persona.Client{BaseURL: url, HTTP: httpClient()})
	}
	if k == 0 {
		k = len(clients)
	}
	comm, err := u.Wallet.Commitment(pin)
	if err != nil {
		return keystoreHelp(err)
	}
	body := func(ctx context.Context, _ int, c *persona.Client) (coreid.EnrollBody, error) {
		ticket, err := u.Wallet.Attest(ctx, c)
		if err != nil {
			return coreid.EnrollBody{}, fmt.Errorf("the TPM attestation at %s failed: %w", c.BaseURL, err)
		}
		return coreid.EnrollBody{Source: source, Commitment: zk.Hex(comm), DeviceKeyHash: zk.Hex(u.Wallet.DeviceKeyHash()), Attestation: ticket}, nil
	}
	if err := u.Wallet.EnrollThreshold(ctx, pin, fw, k, clients, body); err != nil {
		return err
	}
	servers := make([]string, len(clients))
	for i, c := range clients {
		servers[i] = c.BaseURL
	}
	u.Meta.GovernanceThreshold = govThreshold
	if err := u.SaveThreshold(servers, iss, govRaw, fw); err != nil {
		return err
	}
	t := u.Wallet.Threshold
	_ = u.Audit(persona.AuditEntry{Event: "enroll", Audience: strings.Join(servers, ","), Outcome: fmt.Sprintf("enrolled, %d of %d providers", len(t.Endorsements), k)})
	cr := t.Credential
	return e.emit(thresholdEnrollJSON{Providers: servers, Threshold: k, Signed: len(t.Endorsements), Issuer: iss, Grade: zk.GradeName(cr.Grade), Expires: unixTime(cr.Expiry)}, func(w io.Writer) {
		fmt.Fprintf(w, "Enrolled with %d providers (%d needed): one core credential at grade %s, valid until %s, signed by each.\n", len(t.Endorsements), k, zk.GradeName(cr.Grade), day(cr.Expiry))
		fmt.Fprintln(w, "Each provider checked your source credential itself; none saw more than a commitment to your core secret.")
	})
}
