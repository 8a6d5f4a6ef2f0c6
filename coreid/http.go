package coreid

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/mustard-id/mustard/internal/problem"
	"github.com/mustard-id/mustard/zk"
)

// EnrollBody is the JSON body of POST /v1/enroll.
type EnrollBody struct {
	Source        string `json:"source"`          // a JWT-VC
	Commitment    string `json:"commitment"`      // hex field element
	DeviceKeyHash string `json:"device_key_hash"` // hex field element
}

// CredentialJSON is a core credential on the wire.
type CredentialJSON struct {
	Commitment    string   `json:"commitment"`
	Attrs         []string `json:"attrs"`
	Grade         uint64   `json:"grade"`
	Expiry        int64    `json:"expiry"`
	RevNonce      string   `json:"rev_nonce"`
	DeviceKeyHash string   `json:"device_key_hash"`
}

// EnrollmentJSON is the response of POST /v1/enroll.
type EnrollmentJSON struct {
	Credential  CredentialJSON `json:"credential"`
	Signature   string         `json:"signature"` // hex R||S
	ProviderKey string         `json:"provider_key"`
	MaxGrade    uint64         `json:"max_grade"`
	ValidUntil  int64          `json:"valid_until"`
}

// SnapshotJSON is the response of GET /v1/revocations.
type SnapshotJSON struct {
	Root    string   `json:"root"`
	Entries []string `json:"entries"`
}

// ToJSON encodes a core credential.
func ToJSON(c *zk.CoreCredential) CredentialJSON {
	out := CredentialJSON{Commitment: zk.Hex(c.Commitment), Grade: c.Grade, Expiry: c.Expiry, RevNonce: zk.Hex(c.RevNonce), DeviceKeyHash: zk.Hex(c.DeviceKeyHash)}
	for _, a := range c.Attrs {
		out.Attrs = append(out.Attrs, zk.Hex(a))
	}
	return out
}

// FromJSON decodes a core credential.
func FromJSON(j CredentialJSON) (zk.CoreCredential, error) {
	var c zk.CoreCredential
	var err error
	if len(j.Attrs) != zk.NumAttrs {
		return c, fmt.Errorf("coreid: credential has %d attributes, want %d", len(j.Attrs), zk.NumAttrs)
	}
	for i, a := range j.Attrs {
		if c.Attrs[i], err = zk.ParseHex(a); err != nil {
			return c, err
		}
	}
	if c.Commitment, err = zk.ParseHex(j.Commitment); err != nil {
		return c, err
	}
	if c.RevNonce, err = zk.ParseHex(j.RevNonce); err != nil {
		return c, err
	}
	if c.DeviceKeyHash, err = zk.ParseHex(j.DeviceKeyHash); err != nil {
		return c, err
	}
	c.Grade, c.Expiry = j.Grade, j.Expiry
	return c, nil
}

// Handler serves the provider's HTTP API:
//
//	POST /v1/enroll       enroll with a source credential
//	GET  /v1/revocations  the whole revocation snapshot
func (p *Provider) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/enroll", p.serveEnroll)
	mux.HandleFunc("GET /v1/revocations", p.serveRevocations)
	return mux
}

func (p *Provider) serveEnroll(w http.ResponseWriter, r *http.Request) {
	var body EnrollBody
	if err := problem.Decode(w, r, problem.MaxBody, &body); err != nil {
		problem.Write(w, r, err)
		return
	}
	c, err := zk.ParseHex(body.Commitment)
	if err != nil {
		problem.Write(w, r, ErrCommitment)
		return
	}
	d, err := zk.ParseHex(body.DeviceKeyHash)
	if err != nil {
		problem.Write(w, r, ErrCommitment)
		return
	}
	e, err := p.Enroll(r.Context(), EnrollRequest{Source: body.Source, Commitment: c, DeviceKeyHash: d})
	if err != nil {
		problem.Write(w, r, err)
		return
	}
	problem.JSON(w, http.StatusCreated, EnrollmentJSON{
		Credential:  ToJSON(&e.Credential),
		Signature:   fmt.Sprintf("%x", e.Signature),
		ProviderKey: e.ProviderKey,
		MaxGrade:    e.MaxGrade,
		ValidUntil:  e.ValidUntil,
	})
}

func (p *Provider) serveRevocations(w http.ResponseWriter, r *http.Request) {
	s := p.Revocations()
	out := SnapshotJSON{Root: zk.Hex(s.Root), Entries: make([]string, 0, len(s.Entries))}
	for _, e := range s.Entries {
		out.Entries = append(out.Entries, zk.Hex(e))
	}
	// Public data, the same for every wallet: cacheable, unlike the rest.
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=60")
	_ = json.NewEncoder(w).Encode(out)
}
