package oid4vci

import "encoding/json"

// GrantPreAuthorized is the pre-authorized code grant type (§3.5).
const GrantPreAuthorized = "urn:ietf:params:oauth:grant-type:pre-authorized_code"

// ProofTypeJWT is the typ of a jwt key proof (Appendix F.1).
const ProofTypeJWT = "openid4vci-proof+jwt"

// OfferScheme is the custom URL scheme of credential offers (§4.1).
const OfferScheme = "openid-credential-offer"

// Well-known paths (§12.2.2 and RFC 8414 §3).
const (
	WellKnownIssuer = "/.well-known/openid-credential-issuer"
	WellKnownAS     = "/.well-known/oauth-authorization-server"
)

// Offer is a Credential Offer (§4.1.1).
type Offer struct {
	CredentialIssuer           string   `json:"credential_issuer"`
	CredentialConfigurationIDs []string `json:"credential_configuration_ids"`
	Grants                     *Grants  `json:"grants,omitempty"`
}

// Grants are the grants an offer carries; only the pre-authorized code
// grant is understood, others are ignored.
type Grants struct {
	PreAuthorized *PreAuthorizedGrant `json:"urn:ietf:params:oauth:grant-type:pre-authorized_code,omitempty"`
}

// PreAuthorizedGrant is the pre-authorized code grant of an offer.
type PreAuthorizedGrant struct {
	Code                string  `json:"pre-authorized_code"`
	TxCode              *TxCode `json:"tx_code,omitempty"`
	AuthorizationServer string  `json:"authorization_server,omitempty"`
}

// TxCode describes the transaction code the user must enter (§4.1.1).
type TxCode struct {
	InputMode   string `json:"input_mode,omitempty"`
	Length      int    `json:"length,omitempty"`
	Description string `json:"description,omitempty"`
}

// IssuerMetadata is the Credential Issuer Metadata (§12.2.4).
type IssuerMetadata struct {
	CredentialIssuer     string                             `json:"credential_issuer"`
	AuthorizationServers []string                           `json:"authorization_servers,omitempty"`
	CredentialEndpoint   string                             `json:"credential_endpoint"`
	NonceEndpoint        string                             `json:"nonce_endpoint,omitempty"`
	Display              []Display                          `json:"display,omitempty"`
	Configurations       map[string]CredentialConfiguration `json:"credential_configurations_supported"`
}

// CredentialConfiguration describes one credential the issuer issues
// (§12.2.4 and Appendix A).
type CredentialConfiguration struct {
	Format               string                `json:"format"`
	Scope                string                `json:"scope,omitempty"`
	VCT                  string                `json:"vct,omitempty"`
	CredentialDefinition *CredentialDefinition `json:"credential_definition,omitempty"`
	BindingMethods       []string              `json:"cryptographic_binding_methods_supported,omitempty"`
	SigningAlgs          []string              `json:"credential_signing_alg_values_supported,omitempty"`
	ProofTypes           map[string]ProofType  `json:"proof_types_supported,omitempty"`
	CredentialMetadata   *CredentialMetadata   `json:"credential_metadata,omitempty"`
	// MustardPersonaProof says the credential request must carry the
	// extension parameter mustard_persona_proof (see the package issuer).
	MustardPersonaProof bool `json:"mustard_persona_proof_required,omitempty"`
}

// CredentialDefinition is the W3C VC type of a jwt_vc_json configuration
// (Appendix A.1.1).
type CredentialDefinition struct {
	Type []string `json:"type"`
}

// ProofType lists the signing algorithms of one key proof type.
type ProofType struct {
	SigningAlgs []string `json:"proof_signing_alg_values_supported"`
}

// CredentialMetadata is how a wallet displays a credential and its claims.
type CredentialMetadata struct {
	Display []Display          `json:"display,omitempty"`
	Claims  []ClaimDescription `json:"claims,omitempty"`
}

// Display is a localized name and description.
type Display struct {
	Name        string `json:"name"`
	Locale      string `json:"locale,omitempty"`
	Description string `json:"description,omitempty"`
}

// ClaimDescription describes one claim by its path (Appendix B.2).
type ClaimDescription struct {
	Path    []any     `json:"path"`
	Display []Display `json:"display,omitempty"`
}

// ASMetadata is the OAuth 2.0 Authorization Server Metadata (RFC 8414 §2)
// of the issuer's token endpoint.
type ASMetadata struct {
	Issuer                   string   `json:"issuer"`
	TokenEndpoint            string   `json:"token_endpoint"`
	ResponseTypesSupported   []string `json:"response_types_supported"`
	GrantTypesSupported      []string `json:"grant_types_supported"`
	TokenAuthMethods         []string `json:"token_endpoint_auth_methods_supported,omitempty"`
	PreAuthorizedAnonymousOK bool     `json:"pre-authorized_grant_anonymous_access_supported"`
}

// TokenResponse is the token endpoint's answer (§6.2).
type TokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
}

// NonceResponse is the nonce endpoint's answer (§7.2).
type NonceResponse struct {
	CNonce string `json:"c_nonce"`
}

// Proofs carries the key proofs of a credential request (§8.2): one
// proof type, here jwt.
type Proofs struct {
	JWT []string `json:"jwt,omitempty"`
}

// CredentialRequest is a credential request (§8.2). Extensions holds
// the parameters this package does not define (§8.2: the issuer ignores
// those it does not understand).
type CredentialRequest struct {
	ConfigurationID string                     `json:"credential_configuration_id,omitempty"`
	Identifier      string                     `json:"credential_identifier,omitempty"`
	Proofs          *Proofs                    `json:"proofs,omitempty"`
	Extensions      map[string]json.RawMessage `json:"-"`
}

// MarshalJSON writes the request with its extension parameters.
func (r CredentialRequest) MarshalJSON() ([]byte, error) {
	m := make(map[string]any, len(r.Extensions)+3)
	for k, v := range r.Extensions {
		m[k] = v
	}
	if r.ConfigurationID != "" {
		m["credential_configuration_id"] = r.ConfigurationID
	}
	if r.Identifier != "" {
		m["credential_identifier"] = r.Identifier
	}
	if r.Proofs != nil {
		m["proofs"] = r.Proofs
	}
	return json.Marshal(m)
}

// IssuedCredential is one credential of a credential response.
type IssuedCredential struct {
	Credential string `json:"credential"`
}

// CredentialResponse is the credential endpoint's immediate answer (§8.3).
type CredentialResponse struct {
	Credentials []IssuedCredential `json:"credentials"`
}
