package zk

import "errors"

var (
	// ErrRange is returned for a value outside the range its encoding allows.
	ErrRange = errors.New("zk: value out of range")
	// ErrTreeFull is returned when a fixed-depth tree has no free leaf left.
	ErrTreeFull = errors.New("zk: tree is full")
	// ErrNotFound is returned for a leaf or key that is not in a tree.
	ErrNotFound = errors.New("zk: not found")
	// ErrDuplicate is returned when a value is inserted twice into an indexed tree.
	ErrDuplicate = errors.New("zk: duplicate value")
	// ErrSignature is returned for an invalid core-credential signature.
	ErrSignature = errors.New("zk: invalid signature")
	// ErrVerifyingKey is returned for a proof made under another verifying key.
	ErrVerifyingKey = errors.New("zk: unknown verifying key")
	// ErrProof is returned when a Groth16 proof does not verify.
	ErrProof = errors.New("zk: proof does not verify")
)
