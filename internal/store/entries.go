package store

import (
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/mustard-id/mustard/internal/tlog"
)

// The transparency log entries the backends write with their records, one
// definition for both so that their logs read alike.

// IssuedEntry logs a core credential by the hash of its revocation nonce:
// a handle that names the credential without revealing the nonce (so the
// log does not tell which revocation entry is whose).
func IssuedEntry(revNonce []byte, now time.Time) tlog.Entry {
	return tlog.NewEntry(tlog.KindCoreCredential, now, map[string]string{"credential": Digest(revNonce)})
}

// RevokedEntry logs a revocation entry as it appears in the revocation tree.
func RevokedEntry(entry []byte, reason string, now time.Time) tlog.Entry {
	e := tlog.NewEntry(tlog.KindRevocation, now, map[string]string{"entry": hex.EncodeToString(entry)})
	e.Class = reason
	return e
}

// ClientEntry logs a client registration: digests of its id and metadata.
func ClientEntry(id string, data []byte, now time.Time) tlog.Entry {
	return tlog.NewEntry(tlog.KindClientRegistred, now, map[string]string{"client": Digest([]byte(id)), "metadata": Digest(data)})
}

// Digest is the hex SHA-256 of b, how log entries commit to records.
func Digest(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}
