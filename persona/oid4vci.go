package persona

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/mustard-id/mustard/circuits/persona"
	"github.com/mustard-id/mustard/internal/oid4vci"
	"github.com/mustard-id/mustard/issuer"
)

// vci is the OpenID4VCI client of c.
func (c *Client) vci() *oid4vci.Client { return &oid4vci.Client{HTTP: c.HTTP} }

// Offer asks the issuer at c.BaseURL for a credential offer for a persona
// credential of configuration id (issuer.ConfigPersonaSDJWT or
// issuer.ConfigPersonaVC).
func (c *Client) Offer(ctx context.Context, id string) (*oid4vci.Offer, error) {
	var out oid4vci.OfferResult
	if err := c.do(ctx, http.MethodPost, oid4vci.Base+"/offers", oid4vci.OfferRequestJSON{ConfigurationIDs: []string{id}}, &out); err != nil {
		return nil, err
	}
	return &out.Offer, nil
}

// IssueOID4VCI obtains a persona credential over OpenID for Verifiable
// Credential Issuance: it redeems offer (nil: ask the issuer at c.BaseURL
// for one), gets a c_nonce, has prove make the persona proof for it
// (holder binding: personaKey), and sends the proof in the extension
// parameter issuer.PersonaProofParam with a jwt key proof by personaKey.
// The credential is checked by the caller (checkIssued in the CLI).
func (c *Client) IssueOID4VCI(ctx context.Context, offer *oid4vci.Offer, id string, personaKey jwk.Key, prove func(cNonce string) (*persona.ProofJSON, error)) (*issuer.IssuedJSON, error) {
	if id == "" {
		id = issuer.ConfigPersonaSDJWT
	}
	var err error
	if offer == nil {
		if offer, err = c.Offer(ctx, id); err != nil {
			return nil, err
		}
	}
	s, err := c.vci().Redeem(ctx, offer, "")
	if err != nil {
		return nil, err
	}
	var pseudonym string
	cred, err := s.Credential(ctx, id, personaKey, func(nonce string) (map[string]json.RawMessage, error) {
		proof, err := prove(nonce)
		if err != nil {
			return nil, err
		}
		pseudonym = proof.Public.Pseudonym
		b, err := json.Marshal(proof)
		if err != nil {
			return nil, err
		}
		return map[string]json.RawMessage{issuer.PersonaProofParam: b}, nil
	})
	if err != nil {
		return nil, err
	}
	conf := s.Metadata.Configurations[id]
	out, err := describeIssued(cred, conf.Format)
	if err != nil {
		return nil, err
	}
	if out.Pseudonym == "" {
		out.Pseudonym = pseudonym
	}
	return out, nil
}

// describeIssued reads the status entry, expiry and pseudonym of a fresh
// persona credential (unverified: the caller verifies its signature).
func describeIssued(cred, format string) (*issuer.IssuedJSON, error) {
	jwt, _, _ := strings.Cut(cred, "~")
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return nil, errors.New("persona: the issuer's credential is not a JWT")
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, errors.New("persona: the issuer's credential is not a JWT")
	}
	var c struct {
		Exp        int64  `json:"exp"`
		ValidUntil string `json:"validUntil"`
		Pseudonym  string `json:"pseudonym"`
		Status     struct {
			StatusList struct {
				Idx int64  `json:"idx"`
				URI string `json:"uri"`
			} `json:"status_list"`
		} `json:"status"`
		Subject struct {
			Pseudonym string `json:"pseudonym"`
		} `json:"credentialSubject"`
		Entries json.RawMessage `json:"credentialStatus"` // one entry or several
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("persona: the issuer's credential: %w", err)
	}
	out := &issuer.IssuedJSON{Credential: cred, Format: format, Expiry: c.Exp, Pseudonym: c.Pseudonym, StatusList: c.Status.StatusList.URI}
	if out.Pseudonym == "" {
		out.Pseudonym = c.Subject.Pseudonym
	}
	if t, err := time.Parse(time.RFC3339, c.ValidUntil); out.Expiry == 0 && err == nil {
		out.Expiry = t.Unix()
	}
	idx := c.Status.StatusList.Idx
	if out.StatusList == "" && len(c.Entries) > 0 {
		type entry struct {
			Purpose string `json:"statusPurpose"`
			Index   string `json:"statusListIndex"`
			URI     string `json:"statusListCredential"`
		}
		var list []entry
		if json.Unmarshal(c.Entries, &list) != nil {
			var one entry
			if err := json.Unmarshal(c.Entries, &one); err != nil {
				return nil, fmt.Errorf("persona: the issuer's credential: credentialStatus: %w", err)
			}
			list = []entry{one}
		}
		for _, e := range list {
			if e.Purpose == "revocation" || out.StatusList == "" {
				out.StatusList = e.URI
				idx, _ = strconv.ParseInt(e.Index, 10, 64)
			}
		}
	}
	// The admin API's index is list number * ListSize + index in the list.
	if i := strings.Index(out.StatusList, issuer.StatusListPath); i >= 0 {
		num, _, _ := strings.Cut(out.StatusList[i+len(issuer.StatusListPath):], "/")
		if n, err := strconv.ParseInt(num, 10, 64); err == nil {
			idx += n * issuer.ListSize
		}
	}
	out.StatusIndex = idx
	return out, nil
}
