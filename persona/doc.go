// Package persona is the holder's wallet. It creates the core secret s and
// keeps it sealed (by the TPM, or the software keystore at a lower grade),
// enrolls with a core-identity provider by sending only the commitment
// C = H(T_HOLDER, s), derives personas — a Groth16 proof that a registered
// provider signed a credential over C, that it is unexpired and unrevoked,
// that the pseudonym is H(T_PSEUDONYM, s, scope), and that the requested
// predicates hold — obtains persona credentials from an issuer and presents
// them, key-bound, to relying parties.
package persona
