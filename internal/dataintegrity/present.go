package dataintegrity

import (
	"crypto"
	"time"
)

// Present wraps credentials in a W3C VC 2.0 VerifiablePresentation signed
// by the holder's key (a DataIntegrityProof with purpose authentication
// over the verifier's challenge and domain, vc-data-integrity §2.1), the
// holder's answer to one presentation request. holder is the holder's id
// (its DID), vm the verification method naming key.
func Present(credentials []map[string]any, holder string, key crypto.Signer, vm, challenge, domain string, loader *Loader, now time.Time) (map[string]any, error) {
	vcs := make([]any, len(credentials))
	for n, c := range credentials {
		vcs[n] = c
	}
	vp := map[string]any{
		"@context":             []any{CredentialsV2Context},
		"type":                 []any{"VerifiablePresentation"},
		"holder":               holder,
		"verifiableCredential": vcs,
	}
	return Sign(vp, key, loader, Options{VerificationMethod: vm, Purpose: PurposeAuthentication, Challenge: challenge, Domain: domain, Created: now})
}
