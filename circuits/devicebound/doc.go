// Package devicebound is the hardware-bound profile of the
// persona-derivation circuit: a persona can be derived only on the
// enrolled device, because the proof shows an ECDSA P-256 signature on
// the verifier's nonce by the device key the core credential commits,
// without revealing the key or the signature's s.
//
// The statement is the persona circuit's (circuits/persona, composed: its
// Define runs first, its public inputs come first, in the same order), and
// additionally, for the credential's DeviceKeyHash:
//
//   - Q = s·T + U, with the secret s and the public T = r⁻¹·R and
//     U = −r⁻¹·z·G ("efficient ECDSA", Personae / spartan-ecdsa): the
//     verifier computes T and U from the signature's point R, which the
//     proof carries (Binding), and z = Digest(nonce). From ECDSA's
//     s·R = z·G + r·Q (R = k·G, s = k⁻¹(z + r·d)) follows Q = s·T + U, so
//     knowing such an s for x(R) ≡ r is knowing a valid signature (r, s)
//     on z under Q;
//   - H(T_DEVICE, x_hi, x_lo, y_hi, y_lo) of Q's canonical coordinates,
//     split in 128-bit halves (zk.KeyHash), equals DeviceKeyHash.
//
// # The digest
//
// The device key signs z = SHA-256(DigestDomain ‖ 32 big-endian bytes of
// the nonce field element). The circuit never computes z (the verifier
// does, natively, to build U), so the digest costs no constraint and can
// be a domain-separated hash: the device key signs nothing else under
// that prefix, so no signature made for another purpose (coreid's
// revocation by device key signs other messages) is a persona
// authorisation, and the nonce, a public input, is the verifier's fresh,
// single-use challenge, so a signature is good for one proof.
//
// # Unlinkability
//
// The proof reveals R and the comb tables, all functions of R and the
// nonce. R = k·G for the TPM's fresh random k, independent of the device
// key; and for any candidate key Q' there is exactly one s' with
// s'·T + U = Q', so (R, nonce) is equally consistent with every device
// key. The key and s are secret witness, hidden by Groth16's zero
// knowledge. Two proofs by one device show two independent R.
//
// # The comb
//
// s·T is computed with a fixed-base comb whose tables the verifier
// computes natively from T and passes as public inputs: Table[j][v] =
// Σ_k v_k·2^{(j·Teeth+k)·Spacing}·T + A_j for j < Tables, v < 2^Teeth,
// with A_j a hash-to-curve point (so no entry is the point at infinity),
// each point's eight 64-bit limbs packed three to an input (Pack), and
// C = U − (2^Spacing − 1)·Σ_j A_j − 2^Spacing·B. The accumulator starts at
// the constant hash-to-curve point B, so that it never equals a table
// point; the circuit does Spacing double-and-adds, each with one table
// lookup by a log-derivative argument, and no variable-base table of its
// own.
//
// Soundness of the comb: the table points and C are public inputs set by
// the verifier, on the curve by construction, and their unpacked limbs are
// range-checked to 64 bits, which makes the unpacking unique. Every addition p + q
// asserts x(p) ≠ x(q) (an inverse exists), so its slope is the chord's
// and unique; every double-and-add 2p + q = (p + q) + p has a second
// relation whose right side is −2y_p ≠ 0 (P-256 has no point of order
// 2), so it is never free. By induction every intermediate point is the
// exact group-law result on the curve: a prover cannot steer the
// arithmetic to an exceptional case where a value is unconstrained, only
// (with negligible probability for an honest one) into an unsatisfiable
// one. gnark's incomplete fake-GLV (algopts.WithIncompleteArithmetic) is
// cheaper than its complete mode but documents only a completeness
// exceptional set for random inputs; here the prover chooses R and s, so
// it is not used.
//
// Assumptions, beyond the persona circuit's: the credential's
// DeviceKeyHash names a key that lives in the device's TPM (the provider
// checked its attestation at enrollment, coreid); ECDSA P-256 is
// unforgeable; the verifier computes Table and C itself from R
// (PublicAssignment) and never takes them from the prover.
//
// Cost: see docs/circuits.md ("Device-bound personas") and
// circuits/testdata/stats.csv.
package devicebound
