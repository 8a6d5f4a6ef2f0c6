package devicebound

import (
	"encoding/base64"
	"fmt"

	"github.com/mustard-id/mustard/circuits/persona"
	"github.com/mustard-id/mustard/zk"
)

// ProofJSON is a device-bound persona proof: a persona proof (its
// statement, proof and verifying key) and the device signature's point R,
// from which the verifier computes the circuit's remaining public inputs.
type ProofJSON struct {
	persona.ProofJSON
	DeviceR string `json:"device_r"` // base64url of R's x ‖ y, 64 bytes
}

// Encode builds the wire form.
func Encode(vk, scope, nonce string, pub *persona.Public, b *Binding, proof []byte) ProofJSON {
	return ProofJSON{ProofJSON: persona.Encode(vk, scope, nonce, pub, proof), DeviceR: base64.RawURLEncoding.EncodeToString(b.Bytes())}
}

// Decode reads the wire form, refusing what persona.Decode refuses and an
// R that is not a point of P-256 (ParseBinding).
func Decode(j *ProofJSON) (*persona.Statement, *Binding, error) {
	st, err := persona.Decode(&j.ProofJSON)
	if err != nil {
		return nil, nil, err
	}
	if len(j.DeviceR) != 86 { // 64 bytes in unpadded base64url
		return nil, nil, fmt.Errorf("%w: device_r length", ErrPoint)
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(j.DeviceR)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: device_r", ErrPoint)
	}
	b, err := ParseBinding(raw)
	if err != nil {
		return nil, nil, err
	}
	return st, b, nil
}

// Verify checks a decoded proof under keys (the device-bound circuit's):
// it computes the public inputs from the statement and R itself.
func Verify(keys *zk.Keys, st *persona.Statement, b *Binding) error {
	w, err := PublicAssignment(&st.Public, b)
	if err != nil {
		return err
	}
	return keys.Verify(st.Proof, w)
}
