package keystore_test

import (
	"errors"
	"fmt"

	"github.com/mustard-id/mustard/internal/keystore"
)

// The wallet seals its core secret under the user's PIN, stores the
// blob, and unseals it when the user unlocks. Here on the simulator,
// whose seed the wallet would store with the blob.
func ExampleOpenSimulator() {
	tpm, err := keystore.OpenSimulator(42)
	if err != nil {
		panic(err)
	}
	defer tpm.Close()

	coreSecret := make([]byte, 32) // a BN254 field element, big-endian
	coreSecret[31] = 7
	blob, err := tpm.Seal(coreSecret, []byte("483921"))
	if err != nil {
		panic(err)
	}

	_, err = tpm.Unseal(blob, []byte("000000"))
	fmt.Println("wrong PIN:", errors.Is(err, keystore.ErrWrongPIN))

	secret, err := tpm.Unseal(blob, []byte("483921"))
	if err != nil {
		panic(err)
	}
	fmt.Println("unsealed:", secret[31], "kind:", tpm.Kind(), "hardware-backed:", tpm.Kind().HardwareBacked())
	// Output:
	// wrong PIN: true
	// unsealed: 7 kind: tpm-simulator hardware-backed: false
}
