package statuslist

import (
	"fmt"
)

// Status is one entry's value in a Token Status List.
type Status uint8

// Status values registered by draft-ietf-oauth-status-list ("Status
// Types"): 0x00 VALID, 0x01 INVALID, 0x02 SUSPENDED; 0x03 is application
// specific and unused by Mustard.
const (
	Valid     Status = 0x00
	Invalid   Status = 0x01
	Suspended Status = 0x02
)

// String names the status as Mustard's APIs do.
func (s Status) String() string {
	switch s {
	case Valid:
		return "valid"
	case Invalid:
		return "revoked"
	case Suspended:
		return "suspended"
	}
	return fmt.Sprintf("status-0x%02x", uint8(s))
}

// ParseStatus parses "valid", "revoked" (or "invalid") and "suspended".
func ParseStatus(s string) (Status, bool) {
	switch s {
	case "valid":
		return Valid, true
	case "revoked", "invalid":
		return Invalid, true
	case "suspended":
		return Suspended, true
	}
	return 0, false
}

// Order is where in a byte an index's bits sit.
type Order uint8

const (
	// LSBFirst is the Token Status List order: "The status of each
	// Referenced Token is ... stored in the least significant bits first"
	// (index 0 in the lowest bits of byte 0).
	LSBFirst Order = iota
	// MSBFirst is the Bitstring Status List order: index 0 is "the
	// left-most bit in the bitstring".
	MSBFirst
)

// List is a packed array of fixed-width status values.
type List struct {
	bits  int
	order Order
	data  []byte
}

// MaxEntries bounds a list built by New.
const MaxEntries = 1 << 26

// New returns a list of n entries of bits each (1, 2, 4 or 8), all zero.
func New(bits, n int, order Order) (*List, error) {
	if !validBits(bits) {
		return nil, fmt.Errorf("%w: bits must be 1, 2, 4 or 8", ErrMalformed)
	}
	if n <= 0 || n > MaxEntries {
		return nil, fmt.Errorf("%w: size must be between 1 and %d", ErrMalformed, MaxEntries)
	}
	return &List{bits: bits, order: order, data: make([]byte, (n*bits+7)/8)}, nil
}

// fromBytes wraps decoded bytes.
func fromBytes(bits int, order Order, b []byte) *List {
	return &List{bits: bits, order: order, data: b}
}

func validBits(b int) bool { return b == 1 || b == 2 || b == 4 || b == 8 }

// Bits is the width of one entry.
func (l *List) Bits() int { return l.bits }

// Len is the number of entries (the bytes times 8 / bits: a decoded list
// may have trailing padding entries, all zero).
func (l *List) Len() int { return len(l.data) * 8 / l.bits }

// Bytes returns the packed array (not a copy).
func (l *List) Bytes() []byte { return l.data }

func (l *List) locate(i int) (byteIdx int, shift uint, mask byte, err error) {
	if i < 0 || i >= l.Len() {
		return 0, 0, 0, fmt.Errorf("%w: index %d of %d", ErrRange, i, l.Len())
	}
	per := 8 / l.bits
	byteIdx = i / per
	pos := i % per
	if l.order == MSBFirst {
		pos = per - 1 - pos
	}
	shift = uint(pos * l.bits)
	mask = byte((1<<l.bits)-1) << shift
	return byteIdx, shift, mask, nil
}

// Get returns entry i.
func (l *List) Get(i int) (uint8, error) {
	b, shift, mask, err := l.locate(i)
	if err != nil {
		return 0, err
	}
	return (l.data[b] & mask) >> shift, nil
}

// Set sets entry i to v, which must fit in the list's bits.
func (l *List) Set(i int, v uint8) error {
	if int(v) >= 1<<l.bits {
		return fmt.Errorf("%w: value %d does not fit in %d bits", ErrRange, v, l.bits)
	}
	b, shift, mask, err := l.locate(i)
	if err != nil {
		return err
	}
	l.data[b] = l.data[b]&^mask | v<<shift
	return nil
}
