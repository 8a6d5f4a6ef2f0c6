// Package threshold is the k-of-n profile of the persona-derivation
// circuit: a core credential counts only when accredited core-identity
// providers of K distinct organisations have signed it, and the proof
// shows that without telling the relying party which K.
//
// The statement is the persona circuit's (circuits/persona; public inputs
// identical, so persona.Encode and persona.Decode carry it), except that:
//
//   - K EdDSA signatures (R_i, S_i) on the credential's one message
//     m = H(T_CORE, C, attrs, grade, expiry, revNonce, deviceKeyHash) are
//     verified, each under a key A_i whose leaf
//     H(T_PROVIDER_ORG, A_i.x, A_i.y, MaxGrade_i, ValidUntil_i, Org_i) is
//     in the framework's organisation registry (trust.Document.OrgRegistry)
//     under the public RegistryRoot;
//   - Grade <= MaxGrade_i and Now <= ValidUntil_i for every i;
//   - the organisations and the keys are pairwise distinct:
//     Org_i - Org_j != 0 and A_i.x - A_j.x != 0 for i > j, one constraint
//     each. Org is zk.OrgID of the organisation the framework lists the
//     key under, so two keys of one organisation count once. In the
//     prime-order subgroup x names a point (the two points with a given x
//     are P and -P + T, T of order 2), and the registry holds only
//     subgroup keys, so equal x means equal keys; comparing keys and
//     organisations, not leaves, refuses one key registered twice;
//   - the revocation entry names the credential, not a signer:
//     x = H(T_REVOKED_CREDENTIAL, revNonce) (zk.CredentialRevocationEntry)
//     must be absent from the framework's indexed tree, so any signer (or
//     the holder) revokes the credential whole, whichever K of its
//     signatures a wallet proves with.
//
// K is fixed when the circuit is compiled: New(k) makes a circuit with k
// signer slots, each K its own constraint system and Groth16 keys. The
// verifying key, not a public input, says how many providers a proof
// needs.
//
// Assumptions, beyond the persona circuit's (docs/circuits.md): the
// framework names each organisation by one identifier; the revocation
// tree is the framework's, one for all providers, or its root would name
// them.
//
// Cost: 39,385 R1CS constraints for K = 1 (the persona circuit's), then
// 11,105 per extra signer plus two per earlier signer: K = 2: 50,492;
// K = 3: 61,601; K = 5: 83,825 (circuits/testdata/stats.csv). Check is the native twin, Choose picks k
// usable endorsements from a wallet's collection, Assign builds the witness.
package threshold
