package oid4vci

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
)

// Bounds on outside input.
const (
	MaxOffer             = 16 << 10 // an offer, its URL or its file
	MaxCredentialRequest = 64 << 10 // a credential request body
	MaxKeyProof          = 8 << 10  // one jwt key proof
	maxConfigurations    = 16
	maxID                = 256
	maxCode              = 512
	maxExtensions        = 8
)

// ErrOffer is returned for a malformed credential offer.
var ErrOffer = errors.New("oid4vci: malformed credential offer")

// OfferRef is a parsed credential offer: the offer itself (by value), or
// the URI to fetch it from (by reference).
type OfferRef struct {
	Offer *Offer
	URI   string
}

// ParseOffer reads a credential offer in any form a wallet meets it: an
// openid-credential-offer:// URL (or an https URL with the same query)
// carrying credential_offer or credential_offer_uri (§4.1), the offer
// JSON itself, or the name of a file holding either.
func ParseOffer(s string) (*OfferRef, error) {
	s = strings.TrimSpace(s)
	if len(s) > MaxOffer {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrOffer, MaxOffer)
	}
	if s == "" {
		return nil, fmt.Errorf("%w: empty", ErrOffer)
	}
	if s[0] == '{' {
		o, err := ParseOfferJSON([]byte(s))
		if err != nil {
			return nil, err
		}
		return &OfferRef{Offer: o}, nil
	}
	if !strings.Contains(s, "?") && !strings.Contains(s, "://") {
		if fi, err := os.Stat(s); err == nil && fi.Mode().IsRegular() {
			if fi.Size() > MaxOffer {
				return nil, fmt.Errorf("%w: the file is longer than %d bytes", ErrOffer, MaxOffer)
			}
			b, err := os.ReadFile(s)
			if err != nil {
				return nil, err
			}
			if t := strings.TrimSpace(string(b)); t != "" && !strings.HasPrefix(t, "{") && !strings.Contains(t, "?") {
				return nil, fmt.Errorf("%w: the file holds neither an offer nor an offer URL", ErrOffer)
			}
			return ParseOffer(string(b))
		}
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrOffer, err)
	}
	if u.Scheme != OfferScheme && u.Scheme != "https" && !(u.Scheme == "http" && Loopback(u.Host)) {
		return nil, fmt.Errorf("%w: the scheme must be %s:// or https://", ErrOffer, OfferScheme)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("%w: bad query", ErrOffer)
	}
	byValue, byRef := q["credential_offer"], q["credential_offer_uri"]
	switch {
	case len(byValue) == 1 && len(byRef) == 0:
		o, err := ParseOfferJSON([]byte(byValue[0]))
		if err != nil {
			return nil, err
		}
		return &OfferRef{Offer: o}, nil
	case len(byRef) == 1 && len(byValue) == 0:
		if err := checkURL(byRef[0]); err != nil {
			return nil, fmt.Errorf("%w: credential_offer_uri: %v", ErrOffer, err)
		}
		return &OfferRef{URI: byRef[0]}, nil
	}
	return nil, fmt.Errorf("%w: send exactly one credential_offer or credential_offer_uri", ErrOffer)
}

// ParseOfferJSON decodes and checks a credential offer object (§4.1.1).
func ParseOfferJSON(b []byte) (*Offer, error) {
	if len(b) > MaxOffer {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrOffer, MaxOffer)
	}
	var o Offer
	if err := decodeOne(b, &o); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrOffer, err)
	}
	if err := checkIssuerID(o.CredentialIssuer); err != nil {
		return nil, fmt.Errorf("%w: credential_issuer: %v", ErrOffer, err)
	}
	if n := len(o.CredentialConfigurationIDs); n == 0 || n > maxConfigurations {
		return nil, fmt.Errorf("%w: credential_configuration_ids must list 1 to %d ids", ErrOffer, maxConfigurations)
	}
	seen := map[string]bool{}
	for _, id := range o.CredentialConfigurationIDs {
		if id == "" || len(id) > maxID || seen[id] {
			return nil, fmt.Errorf("%w: credential_configuration_ids must be distinct non-empty ids", ErrOffer)
		}
		seen[id] = true
	}
	if o.Grants != nil && o.Grants.PreAuthorized != nil {
		g := o.Grants.PreAuthorized
		if g.Code == "" || len(g.Code) > maxCode {
			return nil, fmt.Errorf("%w: pre-authorized_code must be 1 to %d characters", ErrOffer, maxCode)
		}
		if t := g.TxCode; t != nil && (t.Length < 0 || t.Length > 64 || len(t.Description) > 300 || (t.InputMode != "" && t.InputMode != "numeric" && t.InputMode != "text")) {
			return nil, fmt.Errorf("%w: tx_code", ErrOffer)
		}
		if g.AuthorizationServer != "" {
			if err := checkIssuerID(g.AuthorizationServer); err != nil {
				return nil, fmt.Errorf("%w: authorization_server: %v", ErrOffer, err)
			}
		}
	}
	return &o, nil
}

// ParseCredentialRequest decodes and checks a credential request body
// (§8.2). Parameters it does not define are kept in Extensions (at most
// a few), as the specification asks issuers to ignore, not refuse, them.
func ParseCredentialRequest(b []byte) (*CredentialRequest, error) {
	if len(b) > MaxCredentialRequest {
		return nil, ErrCredentialRequest.With("The credential request is too large")
	}
	var m map[string]json.RawMessage
	if err := decodeOne(b, &m); err != nil || m == nil {
		return nil, ErrCredentialRequest.With("The credential request is not a JSON object")
	}
	var r CredentialRequest
	for k, v := range m {
		var err error
		switch k {
		case "credential_configuration_id":
			err = json.Unmarshal(v, &r.ConfigurationID)
		case "credential_identifier":
			err = json.Unmarshal(v, &r.Identifier)
		case "proofs":
			var p map[string]json.RawMessage
			if err = json.Unmarshal(v, &p); err == nil {
				if len(p) != 1 {
					return nil, ErrCredentialRequest.With("proofs must hold exactly one proof type")
				}
				raw, ok := p["jwt"]
				if !ok {
					return nil, ErrInvalidProof.With("Only the jwt proof type is supported")
				}
				r.Proofs = &Proofs{}
				err = json.Unmarshal(raw, &r.Proofs.JWT)
			}
		case "proof":
			return nil, ErrCredentialRequest.With("proof (singular) was replaced by proofs in OpenID4VCI 1.0")
		case "credential_response_encryption":
			return nil, ErrEncryption
		default:
			if r.Extensions == nil {
				r.Extensions = map[string]json.RawMessage{}
			}
			if len(r.Extensions) == maxExtensions {
				return nil, ErrCredentialRequest.With("Too many parameters")
			}
			r.Extensions[k] = v
		}
		if err != nil {
			return nil, ErrCredentialRequest.With("The parameter " + k + " has the wrong type")
		}
	}
	if (r.ConfigurationID == "") == (r.Identifier == "") {
		return nil, ErrCredentialRequest.With("Send exactly one of credential_configuration_id and credential_identifier")
	}
	if len(r.ConfigurationID) > maxID || len(r.Identifier) > maxID {
		return nil, ErrCredentialRequest.With("The credential configuration id is too long")
	}
	if r.Proofs != nil {
		switch n := len(r.Proofs.JWT); {
		case n == 0:
			return nil, ErrInvalidProof.With("proofs.jwt is empty")
		case n > 1:
			return nil, ErrCredentialRequest.With("Batch issuance is not supported: send one key proof")
		case len(r.Proofs.JWT[0]) > MaxKeyProof:
			return nil, ErrInvalidProof.With("The key proof is too large")
		}
	}
	return &r, nil
}

// decodeOne decodes exactly one JSON value.
func decodeOne(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data")
	}
	if _, err := dec.Token(); err == nil {
		return errors.New("trailing data")
	}
	return nil
}

// checkIssuerID checks an issuer identifier: an https URL (http on a
// loopback host, for development) with no query or fragment (§12.2.1).
func checkIssuerID(s string) error {
	if err := checkURL(s); err != nil {
		return err
	}
	u, _ := url.Parse(s)
	if u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(s, "/") {
		return errors.New("must have no query, fragment or trailing slash")
	}
	return nil
}

func checkURL(s string) error {
	if len(s) > 2048 {
		return errors.New("too long")
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.User != nil {
		return errors.New("not an absolute URL")
	}
	if u.Scheme != "https" && !(u.Scheme == "http" && Loopback(u.Host)) {
		return errors.New("must be https (http only on a loopback host)")
	}
	return nil
}

// Loopback reports whether host (with or without a port) is a loopback
// name or address.
func Loopback(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}
