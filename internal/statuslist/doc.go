// Package statuslist implements the two status list formats a persona
// credential can point into:
//
//   - the IETF Token Status List (draft-ietf-oauth-status-list), used by
//     SD-JWT VCs: a byte array of 1, 2, 4 or 8-bit status values, the
//     status of index 0 in the least significant bits of byte 0, ZLIB
//     (RFC 1950) compressed and base64url encoded as "lst" in a
//     "status_list" object {bits, lst}, carried by a Status List Token:
//     a JWT with typ "statuslist+jwt" whose sub is the list's URI, with
//     iat, exp and ttl;
//   - the W3C Bitstring Status List v1.0, used by W3C VCs: a bitstring
//     whose index 0 is its left-most (most significant) bit, GZIP (RFC
//     1952) compressed and multibase base64url encoded ("u" prefix, no
//     padding), at least 131,072 entries long (16 KiB), one list per
//     statusPurpose.
//
// Mustard's issuer keeps one 2-bit Token Status List per range of
// credentials with the values the draft registers: 0x00 VALID,
// 0x01 INVALID (revoked, final) and 0x02 SUSPENDED (reversible); its W3C
// form is two 1-bit lists, statusPurpose "revocation" and "suspension".
//
// Decoders take outside input: they bound the compressed and the
// decompressed size (a compression bomb stops at the bound), refuse
// malformed base64url, trailing data and lists of a size the format does
// not allow, and never panic.
package statuslist
