// Package aead is the one way Mustard encrypts a small payload under a
// 256-bit key: AES-256-GCM with a random nonce, the box being
// nonce || ciphertext || tag, bound to a context string as additional data
// so that a box made for one purpose never opens as another.
package aead

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
)

// ErrOpen is a box that is too short, altered, or made under another key
// or context.
var ErrOpen = errors.New("aead: the box does not open")

func gcm(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// Seal encrypts plain under key for context.
func Seal(key, plain []byte, context string) ([]byte, error) {
	a, err := gcm(key)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, a.NonceSize(), a.NonceSize()+len(plain)+a.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return a.Seal(nonce, nonce, plain, []byte(context)), nil
}

// Open reverses Seal.
func Open(key, box []byte, context string) ([]byte, error) {
	a, err := gcm(key)
	if err != nil {
		return nil, err
	}
	if len(box) < a.NonceSize()+a.Overhead() {
		return nil, ErrOpen
	}
	plain, err := a.Open(nil, box[:a.NonceSize()], box[a.NonceSize():], []byte(context))
	if err != nil {
		return nil, ErrOpen
	}
	return plain, nil
}
