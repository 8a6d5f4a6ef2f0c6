package issuer

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/mustard-id/mustard/circuits/persona"
	"github.com/mustard-id/mustard/internal/oid4vci"
	"github.com/mustard-id/mustard/internal/problem"
)

// OpenID4VCI credential configurations of persona credentials.
const (
	// ConfigPersonaSDJWT is the persona credential as an SD-JWT VC.
	ConfigPersonaSDJWT = "mustard_persona_sd_jwt"
	// ConfigPersonaVC is the persona credential as a W3C VC 2.0 JWT.
	ConfigPersonaVC = "mustard_persona_jwt_vc_json"
)

// PersonaProofParam is the credential request parameter (an OpenID4VCI
// §8.2 extension parameter) that carries the persona proof, the same
// persona.ProofJSON as POST /v1/persona's "proof". Its statement's nonce
// is the c_nonce of the key proof, and its holder binding commits to the
// key proof's jwk: the key proof proves possession of the persona key, the
// persona proof proves who may hold a credential for it.
const PersonaProofParam = "mustard_persona_proof"

// VCINoncePurpose namespaces the OpenID4VCI c_nonces in the store.
const VCINoncePurpose = "issuer-oid4vci"

// errKeyProofNonce: the persona proof was made for another nonce than the
// key proof.
var errKeyProofNonce = errors.New("issuer: the persona proof's nonce is not the key proof's c_nonce")

// OID4VCI is the issuer's OpenID for Verifiable Credential Issuance
// service: the credential issuer identifier is the base URL, persona
// credentials are offered to anyone who asks (the persona proof is the
// authorization), and every credential request goes through the same
// checks as Issue.
func (i *Issuer) OID4VCI(store oid4vci.Storage) (*oid4vci.Service, error) {
	alg := "ES256"
	if _, ok := i.cfg.Key.(jwk.OKPPrivateKey); ok {
		alg = "EdDSA"
	}
	proofTypes := map[string]oid4vci.ProofType{"jwt": {SigningAlgs: []string{"ES256"}}}
	claims := []oid4vci.ClaimDescription{
		{Path: []any{"scope"}, Display: []oid4vci.Display{{Name: "Scope", Locale: "en"}}},
		{Path: []any{"pseudonym"}, Display: []oid4vci.Display{{Name: "Pseudonym", Locale: "en"}}},
		{Path: []any{"grade"}, Display: []oid4vci.Display{{Name: "Assurance grade", Locale: "en"}}},
		{Path: []any{"predicates"}, Display: []oid4vci.Display{{Name: "Proven predicates", Locale: "en"}}},
	}
	display := []oid4vci.Display{{Name: "Mustard persona", Locale: "en", Description: "An unlinkable persona derived from a core identity, with only the predicates its context needs"}}
	conf := func(format string) oid4vci.CredentialConfiguration {
		c := oid4vci.CredentialConfiguration{
			Format: format, BindingMethods: []string{"jwk"}, SigningAlgs: []string{alg}, ProofTypes: proofTypes,
			CredentialMetadata: &oid4vci.CredentialMetadata{Display: display, Claims: claims}, MustardPersonaProof: true,
		}
		if format == FormatSDJWT {
			c.VCT = VCT
		} else {
			c.CredentialDefinition = &oid4vci.CredentialDefinition{Type: []string{"VerifiableCredential", typePersona}}
		}
		return c
	}
	return oid4vci.New(oid4vci.Config{
		Issuer: i.cfg.BaseURL,
		Name:   "Mustard transaction-identity provider",
		Configurations: map[string]oid4vci.Configuration{
			ConfigPersonaSDJWT: {Metadata: conf(FormatSDJWT), Minter: i.mintPersona(FormatSDJWT)},
			ConfigPersonaVC:    {Metadata: conf(FormatVC2), Minter: i.mintPersona(FormatVC2)},
		},
		PublicOffers: []string{ConfigPersonaSDJWT, ConfigPersonaVC},
		NoncePurpose: VCINoncePurpose,
		NonceTTL:     i.cfg.NonceTTL,
		ClockSkew:    i.cfg.ClockSkew,
		Now:          i.cfg.Now,
	}, store)
}

// mintPersona issues a persona credential in format for an OpenID4VCI
// credential request: the persona proof from PersonaProofParam, the
// persona key and its nonce from the key proof, then admit, as Issue.
func (i *Issuer) mintPersona(format string) oid4vci.MinterFunc {
	return func(ctx context.Context, m *oid4vci.Mint) (string, error) {
		raw, ok := m.Request.Extensions[PersonaProofParam]
		if !ok {
			return "", oid4vci.ErrCredentialRequest.With("A persona credential request carries the persona proof in " + PersonaProofParam)
		}
		var proof persona.ProofJSON
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&proof); err != nil {
			return "", oid4vci.ErrCredentialRequest.With(PersonaProofParam + " is not a persona proof")
		}
		now := i.cfg.Now()
		st, f, err := i.admit(ctx, admission{
			proof: &proof, format: format, holder: m.KeyProof.Key, purpose: VCINoncePurpose, live: true,
			possession: func(st *persona.Statement) error {
				if subtle.ConstantTimeCompare([]byte(st.Nonce), []byte(m.KeyProof.Nonce)) != 1 {
					return errKeyProofNonce
				}
				return nil
			},
			commit: func(ctx context.Context, _ string) error { return m.Commit(ctx) },
		}, now)
		if err != nil {
			return "", vciError(err)
		}
		out, err := i.issue(ctx, st, m.KeyProof.Key, f, now)
		if err != nil {
			return "", err
		}
		return out.Credential, nil
	}
}

// vciError turns an issuance refusal into the credential endpoint's
// error: a nonce refusal is invalid_nonce, a key that does not match the
// persona proof is invalid_proof, any other refusal of the persona proof
// is invalid_credential_request with its problem type. Other errors stay
// internal.
func vciError(err error) error {
	var e *oid4vci.Error
	if errors.As(err, &e) {
		return e
	}
	if errors.Is(err, errKeyProofNonce) {
		return oid4vci.ErrInvalidProof.With("The persona proof must be made for the key proof's c_nonce")
	}
	var p *problem.Error
	if !errors.As(err, &p) {
		return err
	}
	var out *oid4vci.Error
	switch p {
	case ErrNonce:
		out = oid4vci.ErrInvalidNonce.With(p.Title)
	case ErrHolderBinding:
		out = oid4vci.ErrInvalidProof.With("The key proof's jwk is not the persona key the persona proof commits to")
	default:
		out = oid4vci.ErrCredentialRequest.With(p.Title)
	}
	out.Problem = p.Type()
	return out
}
