// Package devsource is the development framework's sample government
// issuer as an OpenID for Verifiable Credential Issuance credential issuer
// (issue #7): it issues the PersonIdentificationData JWT-VC that
// `mustard dev credential` writes to a file, to a wallet that redeems a
// credential offer (`mustard wallet enroll --offer`). Development only:
// the person's claims are whatever the offer's creator typed.
package devsource

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/mustard-id/mustard/coreid"
	"github.com/mustard-id/mustard/internal/oid4vci"
)

// ConfigID is the credential configuration of the sample credential.
const ConfigID = "PersonIdentificationData_jwt_vc_json"

// Type is the credential's W3C VC type.
const Type = "PersonIdentificationData"

// NoncePurpose namespaces its c_nonces in a shared store.
const NoncePurpose = "devsource-oid4vci"

// Person is what a sample credential says (the claims of the offer).
type Person struct {
	PersonalNumber  string `json:"personal_number"`
	BirthDate       string `json:"birthdate"`
	Nationality     string `json:"nationality"`
	GivenName       string `json:"given_name,omitempty"`
	FamilyName      string `json:"family_name,omitempty"`
	ResidentCountry string `json:"resident_country,omitempty"`
}

// New is the sample issuer at base (its credential issuer identifier, a
// loopback URL for development), signing as issuerID with key. The
// credentials' subject is the did:jwk of the wallet's key proof key; they
// are valid for a year.
func New(base, issuerID string, key jwk.Key, store oid4vci.Storage) (*oid4vci.Service, error) {
	if key == nil || issuerID == "" {
		return nil, errors.New("devsource: the sample issuer's key and id are required")
	}
	mint := oid4vci.MinterFunc(func(ctx context.Context, m *oid4vci.Mint) (string, error) {
		var p Person
		if err := json.Unmarshal(m.Data, &p); err != nil || p.PersonalNumber == "" {
			return "", oid4vci.ErrDenied.With("This offer names no person")
		}
		claims := map[string]any{"personal_number": p.PersonalNumber, "birthdate": p.BirthDate, "nationality": p.Nationality}
		for k, v := range map[string]string{"given_name": p.GivenName, "family_name": p.FamilyName, "resident_country": p.ResidentCountry} {
			if v != "" {
				claims[k] = v
			}
		}
		sub, err := didJWK(m.KeyProof.Key)
		if err != nil {
			return "", err
		}
		if err := m.Commit(ctx); err != nil {
			return "", err
		}
		now := time.Now()
		return coreid.SignJWTVC(key, issuerID, sub, []string{Type}, claims, now, now.AddDate(1, 0, 0))
	})
	return oid4vci.New(oid4vci.Config{
		Issuer: base,
		Name:   "Sample Government (development only)",
		Configurations: map[string]oid4vci.Configuration{ConfigID: {
			Metadata: oid4vci.CredentialConfiguration{
				Format:               "jwt_vc_json",
				CredentialDefinition: &oid4vci.CredentialDefinition{Type: []string{"VerifiableCredential", Type}},
				BindingMethods:       []string{"did:jwk", "jwk"},
				SigningAlgs:          []string{"ES256"},
				ProofTypes:           map[string]oid4vci.ProofType{"jwt": {SigningAlgs: []string{"ES256"}}},
				CredentialMetadata:   &oid4vci.CredentialMetadata{Display: []oid4vci.Display{{Name: "Person identification (sample)", Locale: "en"}}},
			},
			Minter: mint,
		}},
		NoncePurpose: NoncePurpose,
	}, store)
}

// Offer makes a credential offer for person.
func Offer(ctx context.Context, svc *oid4vci.Service, p Person, txCode bool) (*oid4vci.OfferResult, error) {
	data, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	return svc.CreateOffer(ctx, oid4vci.OfferRequest{ConfigurationIDs: []string{ConfigID}, TxCode: txCode, Data: data})
}

func didJWK(k jwk.Key) (string, error) {
	pub, err := k.PublicKey()
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(pub)
	if err != nil {
		return "", err
	}
	return "did:jwk:" + base64URL(b), nil
}

func base64URL(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
