package persona

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/lestrrat-go/jwx/v2/jwk"

	circuit "github.com/mustard-id/mustard/circuits/persona"
	"github.com/mustard-id/mustard/circuits/threshold"
	"github.com/mustard-id/mustard/coreid"
	"github.com/mustard-id/mustard/internal/trust"
	"github.com/mustard-id/mustard/zk"
)

// ErrThreshold is a k-of-n enrollment that did not gather k signatures
// from distinct accredited providers.
var ErrThreshold = errors.New("persona: k-of-n enrollment")

// Endorsed is one provider's signature on a k-of-n core credential.
type Endorsed struct {
	ProviderKey *zk.PublicKey
	Signature   []byte
}

// ThresholdCore is a core credential signed by several providers (the
// k-of-n profile, circuits/threshold): one credential, one signature per
// provider, in the order they signed.
type ThresholdCore struct {
	Credential   zk.CoreCredential
	Endorsements []Endorsed
}

// Cosign asks the provider at c to lead (body.Proposal nil) or co-sign a
// k-of-n core credential.
func (c *Client) Cosign(ctx context.Context, body coreid.CosignBody) (*coreid.EnrollmentJSON, error) {
	var out coreid.EnrollmentJSON
	if err := c.do(ctx, http.MethodPost, "/v1/enroll/cosign", body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// disagreements are the problem types with which a co-signer refuses the
// lead's credential: a provider that sees the sources otherwise, which
// ends the enrollment rather than being skipped.
var disagreements = map[string]bool{
	coreid.ErrAttributesMismatch.Type(): true, coreid.ErrGradeTooHigh.Type(): true, coreid.ErrExpiryTooLate.Type(): true,
}

// EnrollThreshold enrolls with several providers, the first of which
// leads: it derives the core credential and draws its revocation nonce;
// every further provider verifies the sources itself and co-signs the
// same credential if it agrees. body builds the enrollment body for
// provider i (its own nonce, attestation ticket and holder-bound sources
// where the format binds them to one provider). Each answer is checked
// here: the same credential over this wallet's commitment, a signature
// that verifies under a key the framework accredits, a key and an
// organisation not counted already. A provider that disagrees on the attributes, the grade or the
// expiry fails the enrollment with its reason; one that cannot be reached
// or refuses otherwise is skipped. At least k distinct providers must
// sign, or nothing is kept. The revocation nonce follows from the
// commitment and the wallet's salt (zk.ThresholdNonce), so a failed
// enrollment can be retried, with the providers in another order (the
// strictest first, say): those that signed before answer again.
func (w *Wallet) EnrollThreshold(ctx context.Context, pin []byte, fw *trust.Document, k int, providers []*Client, body func(ctx context.Context, i int, c *Client) (coreid.EnrollBody, error)) error {
	if k < 1 || k > threshold.MaxK {
		return fmt.Errorf("%w: k must lie in [1, %d]", ErrThreshold, threshold.MaxK)
	}
	if len(providers) < k {
		return fmt.Errorf("%w: %d providers for a threshold of %d", ErrThreshold, len(providers), k)
	}
	secret, err := w.secret(pin)
	if err != nil {
		return err
	}
	commitment, salt := zk.Commit(secret), zk.Hex(zk.ThresholdSalt(secret))
	var (
		core    *ThresholdCore
		skipped []error
		seen    = map[string]bool{} // keys and organisations counted
	)
	for i, c := range providers {
		b, err := body(ctx, i, c)
		if err != nil {
			return err
		}
		cb := coreid.CosignBody{EnrollBody: b, Salt: salt}
		if core != nil {
			cb.Proposal = coreid.ProposalOf(&core.Credential)
		}
		e, err := c.Cosign(ctx, cb)
		if err != nil {
			var pe *ProblemError
			if core == nil || (errors.As(err, &pe) && disagreements[pe.Type]) {
				return fmt.Errorf("%w: provider %s refused: %w", ErrThreshold, c.BaseURL, err)
			}
			skipped = append(skipped, fmt.Errorf("provider %s: %w", c.BaseURL, err))
			continue
		}
		cred, end, err := checkEndorsement(fw, commitment, e)
		if err != nil {
			return fmt.Errorf("%w: provider %s: %w", ErrThreshold, c.BaseURL, err)
		}
		if core == nil {
			core = &ThresholdCore{Credential: cred}
		} else if cred != core.Credential {
			return fmt.Errorf("%w: provider %s signed another credential than the lead's", ErrThreshold, c.BaseURL)
		}
		entry, _ := fw.Provider(e.ProviderKey) // checkEndorsement found it
		org := "org:" + entry.Organisation()
		if seen[e.ProviderKey] || seen[org] {
			return fmt.Errorf("%w: provider %s answered with a key already counted (its organisation %q, or the key itself)", ErrThreshold, c.BaseURL, entry.Organisation())
		}
		seen[e.ProviderKey], seen[org] = true, true
		core.Endorsements = append(core.Endorsements, end)
	}
	if core == nil || len(core.Endorsements) < k {
		n := 0
		if core != nil {
			n = len(core.Endorsements)
		}
		return fmt.Errorf("%w: %d of the %d signatures needed: %w", ErrThreshold, n, k, errors.Join(skipped...))
	}
	w.Threshold = core
	return nil
}

// checkEndorsement checks one provider's answer: its credential is over
// commitment, its key is accredited and its signature verifies.
func checkEndorsement(fw *trust.Document, commitment fr.Element, e *coreid.EnrollmentJSON) (zk.CoreCredential, Endorsed, error) {
	cred, err := coreid.FromJSON(e.Credential)
	if err != nil {
		return cred, Endorsed{}, err
	}
	if cred.Commitment != commitment {
		return cred, Endorsed{}, errors.New("it signed another commitment")
	}
	if _, err := fw.Provider(e.ProviderKey); err != nil {
		return cred, Endorsed{}, fmt.Errorf("its key is not accredited: %w", err)
	}
	kb, err := hex.DecodeString(e.ProviderKey)
	if err != nil {
		return cred, Endorsed{}, err
	}
	pk, err := zk.ParsePublicKey(kb)
	if err != nil {
		return cred, Endorsed{}, err
	}
	sig, err := hex.DecodeString(e.Signature)
	if err != nil {
		return cred, Endorsed{}, err
	}
	if err := pk.Verify(cred.Message(), sig); err != nil {
		return cred, Endorsed{}, fmt.Errorf("its signature does not verify: %w", err)
	}
	return cred, Endorsed{ProviderKey: pk, Signature: sig}, nil
}

// ThresholdStatement builds the public and private inputs of a k-of-n
// persona proof: the persona statement for q, with k of the credential's
// endorsements that can be proven together (threshold.Choose) and the
// credential's own revocation entry proven absent from revoked, the
// framework-wide revocation set.
func (w *Wallet) ThresholdStatement(k int, pin []byte, fw *trust.Document, snap coreid.Snapshot, personaKey jwk.Key, q Query) (*threshold.Public, *threshold.Private, error) {
	t := w.Threshold
	if t == nil || len(t.Endorsements) == 0 {
		return nil, nil, ErrNotEnrolled
	}
	reg, idx, err := fw.OrgRegistry()
	if err != nil {
		return nil, nil, err
	}
	var all []threshold.Endorsement
	for _, e := range t.Endorsements {
		keyHex := hex.EncodeToString(e.ProviderKey.Bytes())
		leaf, ok := idx[keyHex]
		if !ok {
			continue // no longer accredited
		}
		entry, err := fw.Provider(keyHex)
		if err != nil {
			continue
		}
		maxGrade, err := zk.ParseGrade(entry.MaxGrade)
		if err != nil {
			continue
		}
		all = append(all, threshold.Endorsement{Key: e.ProviderKey, Signature: e.Signature, MaxGrade: maxGrade, ValidUntil: entry.ValidUntil, Org: zk.OrgID(entry.Organisation()), Registry: reg.Path(leaf)})
	}
	if len(all) == 0 {
		return nil, nil, fmt.Errorf("%w: none of the credential's providers is in the registry", ErrThreshold)
	}
	// The persona statement's public inputs (scope, pseudonym, predicates,
	// disclosures, holder binding) are the k-of-n statement's: build them
	// with the first registered signer standing in for the one provider.
	// Its revocation witness is for a per-provider entry and is replaced.
	e0 := all[0]
	single := &Wallet{Sealer: w.Sealer, Sealed: w.Sealed, Core: &Core{Credential: t.Credential, Signature: e0.Signature, ProviderKey: e0.Key, MaxGrade: e0.MaxGrade, ValidUntil: e0.ValidUntil}}
	pub, ppriv, err := single.Statement(pin, fw, snap.Entries, snap.Root, personaKey, q)
	if err != nil {
		return nil, nil, err
	}
	pub.RegistryRoot = reg.Root() // the organisation registry's
	tree, err := zk.IndexedTreeFrom(coreid.RevocationDepth, snap.Entries)
	if err != nil {
		return nil, nil, err
	}
	nm, err := tree.ProveAbsent(zk.CredentialRevocationEntry(t.Credential.RevNonce))
	if err != nil {
		return nil, nil, errors.New("persona: this core credential has been revoked")
	}
	chosen, err := threshold.Choose(k, pub, &t.Credential, all)
	if err != nil {
		return nil, nil, err
	}
	return pub, &threshold.Private{Secret: ppriv.Secret, Credential: t.Credential, Endorsements: chosen, Revocation: nm}, nil
}

// DeriveThreshold proves a k-of-n persona for q with the threshold-k
// circuit's keys and returns the wire form of the proof (the persona
// circuit's, naming keys.VKID).
func (w *Wallet) DeriveThreshold(ctx context.Context, keys *zk.Keys, k int, pin []byte, fw *trust.Document, snap coreid.Snapshot, personaKey jwk.Key, q Query) (*circuit.ProofJSON, error) {
	pub, priv, err := w.ThresholdStatement(k, pin, fw, snap, personaKey, q)
	if err != nil {
		return nil, err
	}
	if err := threshold.Check(k, pub, priv); err != nil {
		return nil, err
	}
	a, err := threshold.Assign(pub, priv)
	if err != nil {
		return nil, err
	}
	proof, err := keys.Prove(a)
	if err != nil {
		return nil, err
	}
	j := circuit.Encode(keys.VKID, q.Scope, q.Nonce, pub, proof)
	return &j, nil
}

// ThresholdSalt returns the wallet's k-of-n salt, zk.ThresholdSalt of its
// core secret, hex: what EnrollThreshold sends every provider.
func (w *Wallet) ThresholdSalt(pin []byte) (string, error) {
	s, err := w.secret(pin)
	if err != nil {
		return "", err
	}
	return zk.Hex(zk.ThresholdSalt(s)), nil
}
