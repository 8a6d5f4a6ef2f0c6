package server

import "github.com/mustard-id/mustard/internal/aead"

// keysContext binds the sealed key bundle's encryption to its purpose.
const keysContext = "mustard-keys-v1"

// sealBox encrypts the key bundle under its data key.
func sealBox(key, plain []byte) ([]byte, error) { return aead.Seal(key, plain, keysContext) }

// openBox reverses sealBox.
func openBox(key, box []byte) ([]byte, error) { return aead.Open(key, box, keysContext) }
