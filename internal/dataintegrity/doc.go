// Package dataintegrity signs and verifies W3C Data Integrity proofs
// (W3C vc-data-integrity) with the cryptosuites eddsa-rdfc-2022
// (vc-di-eddsa) and ecdsa-rdfc-2019 (vc-di-ecdsa): RDF Dataset
// Canonicalization (RDFC-1.0, json-gold's URDNA2015) of the proof
// configuration and of the document without its proof, each hashed,
// hashData = H(proofConfig) ‖ H(document), and the signature over
// hashData.
//
// It is Mustard's one implementation of them: the core-identity provider
// verifies source credentials with it, the transaction-identity provider
// signs persona credentials with it and the verifier checks those and
// their holders' presentations. aries-framework-go v0.3.2 knows neither
// the VC 2.0 base context nor these cryptosuites.
//
// # Security choices
//
// Contexts come only from a caller's loader, never from the network (the
// embedded ones: Context). RDFC-1.0 is exponential in the worst case
// ("dataset poisoning", RDFC-1.0 §4.4): a document whose blank nodes its
// first-degree hashes cannot tell apart, or with more than MaxQuads
// statements or MaxBlankNodes blank nodes, is refused before
// canonicalization, so that it stays linear in the statements. One proof
// object per document (no proof sets or chains). json-gold panics on some
// inputs: no panic leaves this package.
package dataintegrity
