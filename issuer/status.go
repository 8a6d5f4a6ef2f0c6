package issuer

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/mustard-id/mustard/internal/statuslist"
)

// ListSize is the number of entries of each status list: credentials
// with status index idx are in list idx / ListSize at idx % ListSize. A
// list this long (the W3C minimum, 131,072 entries) hides which of many
// credentials a relying party checks; the store gives each credential a
// random entry of the current list, which it fills to half.
const ListSize = 1 << 17

// statusBits is the width of a Token Status List entry: 2 bits, for
// VALID (0), INVALID (1, revoked) and SUSPENDED (2).
const statusBits = 2

// StatusListPath is where list n is served: StatusListPath + n.
const StatusListPath = "/v1/status-lists/"

// StatusRef is where a credential's status is published: entry Index of
// the Token Status List at URI.
type StatusRef struct {
	List  int64  `json:"-"`
	Index int64  `json:"idx"`
	URI   string `json:"uri"`
}

// StatusRef returns the reference of status index idx.
func (i *Issuer) StatusRef(idx int64) StatusRef {
	n := idx / ListSize
	return StatusRef{List: n, Index: idx % ListSize, URI: i.cfg.BaseURL + StatusListPath + strconv.FormatInt(n, 10)}
}

// Claim is the credential's status claim: draft-ietf-oauth-status-list,
// "Referenced Token": "status: REQUIRED ... status_list: REQUIRED ...
// idx: REQUIRED ... uri: REQUIRED".
func (r StatusRef) Claim() map[string]any {
	return map[string]any{"status_list": map[string]any{"idx": r.Index, "uri": r.URI}}
}

// SetStatus changes the status of the credential at status index idx:
// statuslist.Invalid revokes it (final), statuslist.Suspended suspends it
// and statuslist.Valid reinstates a suspended one.
func (i *Issuer) SetStatus(ctx context.Context, idx int64, st statuslist.Status) error {
	if idx < 0 || st > statuslist.Suspended {
		return ErrStatusIndex
	}
	err := i.store.SetStatus(ctx, idx, idx/ListSize, uint8(st), i.cfg.Now())
	switch {
	case err == nil:
		return nil
	case i.cfg.IsNotFound(err):
		return ErrStatusIndex
	case i.cfg.IsFinal(err):
		return ErrStatusFinal
	}
	return fmt.Errorf("issuer: set status: %w", err)
}

// SignedList is a signed Status List Token ready to serve.
type SignedList struct {
	Token    string
	ETag     string
	IssuedAt time.Time
	TTL      time.Duration
	version  int64
}

// listCache keeps each list's last signed form (per kind) until its
// version changes or it is older than the ttl.
type listCache struct {
	mu    sync.Mutex
	lists map[listKey]*SignedList
}

type listKey struct {
	n    int64
	kind string // KindToken, or a W3C statusPurpose
}

// Kinds of signed status lists.
const (
	// KindToken is the IETF Token Status List (2 bits per credential).
	KindToken = "token"
	// PurposeRevocation and PurposeSuspension are the W3C Bitstring
	// Status Lists, one bit per credential each.
	PurposeRevocation = "revocation"
	PurposeSuspension = "suspension"
)

// StatusList returns status list n as a signed Status List Token: re-signed
// when a status in it changed or the last one is older than the ttl.
func (i *Issuer) StatusList(ctx context.Context, n int64) (*SignedList, error) {
	return i.signedList(ctx, n, KindToken)
}

// BitstringStatusList returns status list n for purpose (revocation or
// suspension) as a W3C BitstringStatusListCredential secured as a VC 2.0
// JWT, cached like StatusList.
func (i *Issuer) BitstringStatusList(ctx context.Context, n int64, purpose string) (*SignedList, error) {
	if purpose != PurposeRevocation && purpose != PurposeSuspension {
		return nil, ErrNoStatusList
	}
	return i.signedList(ctx, n, purpose)
}

func (i *Issuer) signedList(ctx context.Context, n int64, kind string) (*SignedList, error) {
	last, err := i.store.LastStatusIndex(ctx)
	if err != nil {
		return nil, err
	}
	if n < 0 || n > last/ListSize {
		return nil, ErrNoStatusList
	}
	version, err := i.store.StatusVersion(ctx, n)
	if err != nil {
		return nil, err
	}
	now := i.cfg.Now()
	key := listKey{n, kind}
	i.lists.mu.Lock()
	defer i.lists.mu.Unlock()
	if c := i.lists.lists[key]; c != nil && c.version == version && now.Sub(c.IssuedAt) < i.cfg.StatusTTL {
		return c, nil
	}
	from := n * ListSize
	statuses, err := i.store.Statuses(ctx, from, from+ListSize)
	if err != nil {
		return nil, err
	}
	var signed string
	if kind == KindToken {
		signed, err = i.signToken(n, statuses, now)
	} else {
		signed, err = i.signBitstring(n, kind, statuses, now)
	}
	if err != nil {
		return nil, fmt.Errorf("issuer: status list: %w", err)
	}
	h := sha256.Sum256([]byte(signed))
	c := &SignedList{Token: signed, ETag: `"` + base64.RawURLEncoding.EncodeToString(h[:16]) + `"`, IssuedAt: now, TTL: i.cfg.StatusTTL, version: version}
	if i.lists.lists == nil {
		i.lists.lists = map[listKey]*SignedList{}
	}
	i.lists.lists[key] = c
	return c, nil
}

func (i *Issuer) signToken(n int64, statuses map[int64]uint8, now time.Time) (string, error) {
	l, err := statuslist.New(statusBits, ListSize, statuslist.LSBFirst)
	if err != nil {
		return "", err
	}
	from := n * ListSize
	for idx, st := range statuses {
		if err := l.Set(int(idx-from), st); err != nil {
			return "", err
		}
	}
	tok := &statuslist.Token{
		Issuer:   i.cfg.ID,
		Subject:  i.StatusRef(from).URI,
		IssuedAt: now,
		Expiry:   now.Add(i.cfg.StatusValidity),
		TTL:      i.cfg.StatusTTL,
		List:     l,
	}
	return tok.Sign(i.keys.signer())
}
