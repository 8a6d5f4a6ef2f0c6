package verifier

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwe"
	"github.com/lestrrat-go/jwx/v2/jwk"
)

// ResponseModeDirectPostJWT: the wallet encrypts the response to a key of
// the verifier's client_metadata.jwks and POSTs it as response=<JWE>
// (§8.3): the vp_token is then readable by the verifier only, not by
// anything that terminates TLS in between.
const ResponseModeDirectPostJWT = "direct_post.jwt"

// responseEncValues are the content encryptions Mustard offers and
// accepts (§8.3: A128GCM is the default).
var responseEncValues = []string{"A128GCM", "A256GCM"}

// NewResponseKey makes a transaction's response encryption key: an
// ephemeral P-256 key for ECDH-ES, kid set. The private key stays with the
// verifier; its public half goes in client_metadata.jwks.
func NewResponseKey() (jwk.Key, error) {
	raw, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	k, err := jwk.FromRaw(raw)
	if err != nil {
		return nil, err
	}
	kid, err := newNonce()
	if err != nil {
		return nil, err
	}
	for name, v := range map[string]any{jwk.KeyIDKey: kid, jwk.AlgorithmKey: jwa.ECDH_ES, jwk.KeyUsageKey: "enc"} {
		if err := k.Set(name, v); err != nil {
			return nil, err
		}
	}
	return k, nil
}

// responseKey is the key of client_metadata.jwks a wallet encrypts to:
// the first public EC P-256 key for ECDH-ES (or no alg) meant for
// encryption (or no use).
func (m *ClientMetadata) responseKey() (jwk.Key, error) {
	if m == nil || len(m.JWKS) == 0 || len(m.JWKS) > 8<<10 {
		return nil, errors.New("verifier: direct_post.jwt without client_metadata.jwks")
	}
	set, err := jwk.Parse(m.JWKS)
	if err != nil {
		return nil, fmt.Errorf("verifier: client_metadata.jwks: %v", err)
	}
	for i := range min(set.Len(), 8) {
		k, _ := set.Key(i)
		ec, ok := k.(jwk.ECDSAPublicKey)
		if !ok || ec.Crv() != jwa.P256 || (k.Algorithm().String() != "" && k.Algorithm() != jwa.ECDH_ES) || (k.KeyUsage() != "" && k.KeyUsage() != "enc") {
			continue
		}
		return k, nil
	}
	return nil, errors.New("verifier: client_metadata.jwks has no P-256 ECDH-ES key")
}

// responseEnc is the content encryption to use: the first of the
// verifier's encrypted_response_enc_values_supported Mustard supports.
func (m *ClientMetadata) responseEnc() (jwa.ContentEncryptionAlgorithm, error) {
	if len(m.EncryptedResponseEncValuesSupported) == 0 {
		return jwa.A128GCM, nil
	}
	for _, e := range m.EncryptedResponseEncValuesSupported {
		if slices.Contains(responseEncValues, e) {
			return jwa.ContentEncryptionAlgorithm(e), nil
		}
	}
	return "", errors.New("verifier: no supported encrypted_response_enc_values_supported")
}

// responsePayload is a response's JSON form, inside the JWE.
type responsePayload struct {
	VPToken          json.RawMessage `json:"vp_token,omitempty"`
	State            string          `json:"state,omitempty"`
	Error            string          `json:"error,omitempty"`
	ErrorDescription string          `json:"error_description,omitempty"`
}

// EncryptResponse encrypts a response for a direct_post.jwt request
// (§8.3): ECDH-ES to the verifier's key, kid in the header, the
// parameters as a JSON object.
func EncryptResponse(a *AuthorizationRequest, r *AuthorizationResponse) (string, error) {
	key, err := a.ClientMetadata.responseKey()
	if err != nil {
		return "", err
	}
	enc, err := a.ClientMetadata.responseEnc()
	if err != nil {
		return "", err
	}
	p := responsePayload{State: r.State, Error: r.Error, ErrorDescription: r.ErrorDescription}
	if r.Error == "" {
		if p.VPToken, err = json.Marshal(r.VPToken); err != nil {
			return "", err
		}
	}
	body, err := json.Marshal(p)
	if err != nil {
		return "", err
	}
	hdr := jwe.NewHeaders()
	_ = hdr.Set(jwe.KeyIDKey, key.KeyID())
	out, err := jwe.Encrypt(body, jwe.WithKey(jwa.ECDH_ES, key), jwe.WithContentEncryption(enc), jwe.WithProtectedHeaders(hdr))
	if err != nil {
		return "", fmt.Errorf("verifier: encrypt the response: %w", err)
	}
	return string(out), nil
}

// DecryptResponse decrypts a direct_post.jwt body's response with the
// transaction's key and parses it like a plain response.
func DecryptResponse(response string, key jwk.Key) (*AuthorizationResponse, error) {
	if response == "" || len(response) > MaxAuthorizationResponse {
		return nil, errors.New("verifier: no or oversized response")
	}
	msg, err := jwe.Parse([]byte(response))
	if err != nil {
		return nil, errors.New("verifier: response is not a JWE")
	}
	h := msg.ProtectedHeaders()
	if h.Algorithm() != jwa.ECDH_ES || !slices.Contains(responseEncValues, h.ContentEncryption().String()) || h.KeyID() != key.KeyID() {
		return nil, errors.New("verifier: response JWE alg, enc or kid not the request's")
	}
	body, err := jwe.Decrypt([]byte(response), jwe.WithKey(jwa.ECDH_ES, key))
	if err != nil {
		return nil, errors.New("verifier: response does not decrypt")
	}
	var p responsePayload
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, errors.New("verifier: response payload is not a JSON object")
	}
	form := url.Values{"state": {p.State}}
	if p.Error != "" {
		form.Set("error", p.Error)
		form.Set("error_description", p.ErrorDescription)
	}
	if len(p.VPToken) > 0 {
		form.Set("vp_token", string(p.VPToken))
	}
	return ParseAuthorizationResponse(form)
}
