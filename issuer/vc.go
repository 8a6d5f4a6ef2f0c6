package issuer

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/mustard-id/mustard/internal/statuslist"
)

// Credential formats (the names of OpenID for Verifiable Credential
// Issuance where one exists).
const (
	// FormatSDJWT is an SD-JWT VC (draft-ietf-oauth-sd-jwt-vc): the
	// default, with selective disclosure.
	FormatSDJWT = "dc+sd-jwt"
	// FormatVC2 is a W3C VC Data Model 2.0 credential secured as a JWT
	// (VC-JOSE-COSE §3.1.1: the payload is the credential, typ vc+jwt).
	// Every claim is visible: a JWT-secured VC has no selective disclosure.
	FormatVC2 = "jwt_vc_json"
	// FormatVC11 is a W3C VC Data Model 1.1 JWT (VC-DM 1.1 §6.3.1: the
	// credential in the "vc" claim, iss, sub, nbf, exp, jti), for verifiers
	// that know only 1.1, such as aries-framework-go v0.3.2. Its
	// credentialStatus is the revocation entry only: 1.1 has room for one.
	FormatVC11 = "jwt_vc_json_v1"
)

// Contexts and types of the W3C forms.
const (
	contextV2    = "https://www.w3.org/ns/credentials/v2"
	contextV11   = "https://www.w3.org/2018/credentials/v1"
	typePersona  = "MustardPersonaCredential"
	mediaTypeVC2 = "application/vc+jwt"
)

// didJWK is the did:jwk of a public key (the persona's subject id).
func didJWK(key jwk.Key) (string, error) {
	pub, err := jwk.PublicKeyOf(key)
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(pub)
	if err != nil {
		return "", err
	}
	return "did:jwk:" + base64.RawURLEncoding.EncodeToString(b), nil
}

// BitstringURI is where list n's W3C Bitstring Status List for purpose is
// served.
func (i *Issuer) BitstringURI(n int64, purpose string) string {
	return i.cfg.BaseURL + StatusListPath + strconv.FormatInt(n, 10) + "/" + purpose
}

// statusEntry is a BitstringStatusListEntry (Bitstring Status List v1.0
// §2.1): statusListIndex is a string, statusListCredential a URL.
func (i *Issuer) statusEntry(ref StatusRef, purpose string) map[string]any {
	uri := i.BitstringURI(ref.List, purpose)
	return map[string]any{
		"id":                   uri + "#" + strconv.FormatInt(ref.Index, 10),
		"type":                 "BitstringStatusListEntry",
		"statusPurpose":        purpose,
		"statusListIndex":      strconv.FormatInt(ref.Index, 10),
		"statusListCredential": uri,
	}
}

func newURNUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("urn:uuid:%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// signVC builds and signs a persona credential in a W3C form: the same
// claims as the SD-JWT VC (all of them visible), the persona key as the
// subject (did:jwk) and in cnf, the status entries.
func (i *Issuer) signVC(format string, visible, disclosable map[string]any, holder jwk.Key, ref StatusRef, now, exp time.Time) (string, error) {
	subjectID, err := didJWK(holder)
	if err != nil {
		return "", fmt.Errorf("issuer: %w", err)
	}
	holderPub, err := jwk.PublicKeyOf(holder)
	if err != nil {
		return "", fmt.Errorf("issuer: %w", err)
	}
	subject := map[string]any{"id": subjectID}
	for k, v := range visible {
		subject[k] = v
	}
	for k, v := range disclosable {
		subject[k] = v
	}
	if isLDP(format) {
		return i.signLDP(format, subject, ref, now, exp)
	}
	id := newURNUUID()
	types := []string{"VerifiableCredential", typePersona}
	var payload map[string]any
	typ := "JWT"
	switch format {
	case FormatVC2:
		typ = "vc+jwt"
		payload = map[string]any{
			"@context":          []string{contextV2},
			"id":                id,
			"type":              types,
			"issuer":            i.cfg.ID,
			"validFrom":         now.UTC().Format(time.RFC3339),
			"validUntil":        exp.UTC().Format(time.RFC3339),
			"credentialSubject": subject,
			"credentialStatus":  []any{i.statusEntry(ref, PurposeRevocation), i.statusEntry(ref, PurposeSuspension)},
			// JWT claims beside the credential (VC-JOSE-COSE §3.1.1 allows
			// them): lifetimes for JWT libraries, cnf for key binding.
			"iat": now.Unix(),
			"exp": exp.Unix(),
			"cnf": map[string]any{"jwk": holderPub},
		}
	case FormatVC11:
		payload = map[string]any{
			"iss": i.cfg.ID,
			"sub": subjectID,
			"jti": id,
			"nbf": now.Unix(),
			"iat": now.Unix(),
			"exp": exp.Unix(),
			"cnf": map[string]any{"jwk": holderPub},
			"vc": map[string]any{
				"@context":          []string{contextV11},
				"type":              types,
				"credentialSubject": subject,
				"credentialStatus":  i.statusEntry(ref, PurposeRevocation),
			},
		}
	default:
		return "", ErrFormat
	}
	return i.signVCJWT(typ, payload)
}

// signVCJWT signs a W3C credential: its kid is a DID URL.
func (i *Issuer) signVCJWT(typ string, payload any) (string, error) {
	return i.signJWT(typ, payload, true)
}

// signJWT signs a JSON payload with the current key, its kid in the
// header: plain (as in the JWKS), or with didURL a DID URL.
func (i *Issuer) signJWT(typ string, payload any, didURL bool) (string, error) {
	body, err := json.Marshal(payload)
	if err != nil {
		return "", fmt.Errorf("issuer: %w", err)
	}
	key := i.keys.signer()
	alg := jwa.ES256
	if _, ok := key.(jwk.OKPPrivateKey); ok {
		alg = jwa.EdDSA
	}
	// jws.Sign writes a jwk.Key's own kid over the header's: sign with
	// the raw key so that the DID URL stays.
	var raw any
	if err := key.Raw(&raw); err != nil {
		return "", fmt.Errorf("issuer: sign: %w", err)
	}
	hdr := jws.NewHeaders()
	_ = hdr.Set(jws.TypeKey, typ)
	// A W3C credential from a DID names its key by DID URL
	// (VC-JOSE-COSE; aries-framework-go requires it): "<did>#<kid>".
	kid := key.KeyID()
	if didURL && strings.HasPrefix(i.cfg.ID, "did:") {
		kid = i.cfg.ID + "#" + kid
	}
	_ = hdr.Set(jws.KeyIDKey, kid)
	b, err := jws.Sign(body, jws.WithKey(alg, raw, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		return "", fmt.Errorf("issuer: sign: %w", err)
	}
	return string(b), nil
}

// signBitstring signs list n's W3C BitstringStatusListCredential for
// purpose: one bit per credential, set when its status is purpose's
// (revoked for revocation, suspended for suspension).
func (i *Issuer) signBitstring(n int64, purpose string, statuses map[int64]uint8, now time.Time) (string, error) {
	l, err := statuslist.New(1, ListSize, statuslist.MSBFirst)
	if err != nil {
		return "", err
	}
	want := uint8(statuslist.Invalid)
	if purpose == PurposeSuspension {
		want = uint8(statuslist.Suspended)
	}
	from := n * ListSize
	for idx, st := range statuses {
		if st == want {
			if err := l.Set(int(idx-from), 1); err != nil {
				return "", err
			}
		}
	}
	enc, err := l.EncodeBitstring()
	if err != nil {
		return "", err
	}
	uri := i.BitstringURI(n, purpose)
	return i.signVCJWT("vc+jwt", map[string]any{
		"@context":   []string{contextV2},
		"id":         uri,
		"type":       []string{"VerifiableCredential", "BitstringStatusListCredential"},
		"issuer":     i.cfg.ID,
		"validFrom":  now.UTC().Format(time.RFC3339),
		"validUntil": now.Add(i.cfg.StatusValidity).UTC().Format(time.RFC3339),
		"credentialSubject": map[string]any{
			"id":            uri + "#list",
			"type":          "BitstringStatusList",
			"statusPurpose": purpose,
			"encodedList":   enc,
			// Bitstring Status List v1.0 §2.2: ttl, in milliseconds.
			"ttl": i.cfg.StatusTTL.Milliseconds(),
		},
		"iat": now.Unix(),
		"exp": now.Add(i.cfg.StatusValidity).Unix(),
	})
}
