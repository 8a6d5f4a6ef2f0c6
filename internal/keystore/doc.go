// Package keystore protects the wallet's core secret at rest: a secret of
// at most 128 bytes (the core secret s is a 32-byte big-endian BN254
// field element) is sealed under a user PIN into an opaque, versioned
// blob that is safe to write to disk, and is recovered only with that PIN
// on the sealer that made it. It also gives the wallet a P-256 device key
// resident in the TPM, for device-bound personas.
//
// Open picks a Sealer: a TPM 2.0 (KindTPM, /dev/tpmrm0 by default), else
// go-tpm-tools' in-process reference simulator (KindSimulator) if
// allowed, else a passphrase-derived software key (KindSoftware) if
// allowed. Kind.HardwareBacked tells the wallet which grade it has; only
// KindTPM is hardware-backed. Open never downgrades from a TPM that is
// present but cannot be opened.
//
// # TPM
//
// The storage root key is the TCG ECC P-256 SRK template, created as a
// primary key in the owner hierarchy on every open. It is deterministic
// from the hierarchy's seed, so no handle is persisted. Seal creates a
// keyed-hash sealed-data object under it whose authValue is derived from
// the PIN (24 bytes of SHA-256("mustard/keystore/pin/v1\x00" || PIN),
// base64url-encoded so that it holds no zero byte), with userWithAuth set
// and noDA clear, so that every wrong PIN counts towards the TPM's
// dictionary-attack (DA) lockout. The blob holds the object's
// TPM2B_PUBLIC and TPM2B_PRIVATE and the SRK's name; see blob.go for the
// format. Create and Unseal are authorized through one-use HMAC sessions
// salted with the SRK (ECDH) that encrypt the sensitive parameter
// (AES-128-CFB): the PIN, its authValue and the secret never cross the bus
// in clear, and since the session key depends on the salt, a recorded
// session HMAC gives no way to test PINs offline.
//
// SealDuplicable seals the same way but with fixedTPM and fixedParent
// clear, encryptedDuplication set and the authPolicy PolicyAuthValue ;
// PolicyCommandCode(TPM_CC_Duplicate): Duplicate (with the PIN) moves
// such a secret to another TPM's storage key, which CertifyStorageKey
// lets that TPM prove genuine, and ImportDuplicate takes it in under the
// new PIN; the secret is never in clear outside the two TPMs (see
// duplicate.go).
//
// The device key is a P-256 ECDSA-SHA256 signing key, a primary key in
// the owner hierarchy whose template carries a fixed label in its unique
// field. It is re-created identically on every open until the owner
// hierarchy is cleared, and never persisted. It is unrestricted, has an
// empty authValue and noDA set: it proves "this TPM", not "this user",
// and any process that can open the TPM can sign with it.
//
// EKCertificate reads the ECC endorsement key's certificate, which the
// TPM's manufacturer provisions in NV (TCG EK Credential Profile, index
// 0x01c0000a), for a provider to check the EK against the manufacturer's
// root at enrollment. The keystore does not check it itself.
//
// # Against whom
//
//   - Someone who copies a TPM blob (a stolen disk, a leaked backup)
//     cannot unseal it on another machine (the object is fixedTPM, its
//     private area encrypted under the SRK) nor guess the PIN offline;
//     on the machine itself, guesses are limited by DA lockout.
//   - Someone who watches the bus between CPU and TPM sees neither PIN
//     nor secret. Once a blob exists, a substituted SRK (and with it an
//     attacker-chosen salt key) is refused: Unseal checks the SRK's name
//     against the one recorded in the blob (ErrWrongDevice).
//   - Someone who copies a software blob can guess PINs offline at one
//     Argon2id evaluation (t=3, 64 MiB, p=4) per guess with no lockout:
//     the software grade is as strong as the passphrase, no more.
//   - The simulator protects nothing: its seeds derive from a seed the
//     wallet stores beside the blob. It is for development and tests.
//
// # Gaps
//
//   - Malware running as the user while the wallet is in use can capture
//     the PIN or read the unsealed secret from memory; DA lockout only
//     rate-limits guessing. Go cannot guarantee that secrets are erased:
//     this package clears its own copies of derived keys and authValues,
//     but the garbage collector may have copied them, and Unseal returns
//     the secret to the caller.
//   - The SRK and device key are not verified against the TPM's
//     endorsement key certificate, and commands without secrets (creating
//     the primaries, Load, Sign) use password sessions whose responses are
//     not authenticated. An active interposer present from the start, or
//     a fake TPM, is not detected; attesting the device key (TPM2_Certify
//     by an attestation key chained to the EK) is left to enrollment.
//   - The owner hierarchy must have an empty authorization (the Linux
//     default). TPM2_Clear replaces its seed, which makes every blob and
//     the device key unrecoverable (ErrWrongDevice): the wallet needs its
//     own recovery path.
//   - Sealed objects are not bound to PCRs (boot state): a blob unseals
//     under any OS booted on the machine, given the PIN. Binding would
//     lock the user out on every firmware or kernel update.
//   - DA lockout is TPM-wide and uses the platform's provisioned
//     parameters, which this package does not change: a local process can
//     lock the user out by exhausting the tries (denial of service).
//   - The simulator's DA counters reset on every OpenSimulator (the
//     simulator is manufacture-reset), so its lockout ends with Close.
//   - PINs are used as the bytes given; callers normalize text PINs
//     (Unicode NFC) before sealing and unsealing.
//   - The blob's SHA-256 checksum is not a MAC: it tells corruption
//     (ErrCorrupt) from a wrong PIN. An attacker who alters a blob and
//     fixes the checksum gets ErrCorrupt from the TPM's integrity check,
//     or ErrWrongPIN from GCM, never the secret.
//   - The Argon2id cost is fixed when a blob is sealed; raising it needs
//     a re-seal. Unseal refuses costs beyond fixed limits, so that a
//     crafted blob cannot exhaust memory.
//   - Tests run against the simulator only; a real TPM's behaviour
//     (resource manager, TPM_RC_RETRY, provisioned DA parameters) is
//     exercised only where one is present.
package keystore
