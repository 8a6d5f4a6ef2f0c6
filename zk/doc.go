// Package zk holds Mustard's zero-knowledge plumbing shared by every party:
// the domain-separated Poseidon2 hash H, the fixed-depth Merkle trees (the
// trust framework's registry tree, the indexed revocation tree, in-set
// trees), the normalized attribute schema, the core credential and its
// EdDSA signature, and Groth16 key handling (setup, serialization, content
// addressed verifying keys, proving and verification).
//
// Everything here is the native twin of something a circuit in
// circuits/... computes; the circuits' tests cross-check both.
//
// Hash: H(tag, x1, …, xk) is Poseidon2 (gnark-crypto's BN254 width-2
// parameters, 6 full and 50 partial rounds) in Merkle–Damgård mode with a
// zero IV, absorbing one field element per compression. Every tag fixes
// the number of elements that follow it, so messages of one tag never
// collide with messages of another tag or another length. Tree nodes use
// the bare 2-to-1 compression; trees have a fixed depth, so a node can never
// be taken for a leaf.
package zk
