package aead

import (
	"bytes"
	"testing"
)

func TestSealOpen(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	box, err := Seal(key, []byte("secret"), "ctx-a")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := Open(key, box, "ctx-a"); err != nil || string(got) != "secret" {
		t.Fatalf("%q %v", got, err)
	}
	other := bytes.Repeat([]byte{8}, 32)
	altered := append([]byte{}, box...)
	altered[len(altered)-1] ^= 1
	for name, try := range map[string]func() ([]byte, error){
		"other context": func() ([]byte, error) { return Open(key, box, "ctx-b") },
		"other key":     func() ([]byte, error) { return Open(other, box, "ctx-a") },
		"altered":       func() ([]byte, error) { return Open(key, altered, "ctx-a") },
		"short":         func() ([]byte, error) { return Open(key, box[:10], "ctx-a") },
	} {
		if _, err := try(); err != ErrOpen {
			t.Errorf("%s: %v", name, err)
		}
	}
}
