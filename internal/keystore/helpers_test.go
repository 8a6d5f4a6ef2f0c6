package keystore

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/google/go-tpm/tpm2"
	"github.com/stretchr/testify/require"
)

// Simulator tests never call t.Parallel: the simulator is a process-wide
// singleton, and every test closes the one it opened.

const testSeed = 20240601

// testKDF keeps software tests fast; production blobs use defaultKDF.
var testKDF = kdfParams{time: 1, memoryKiB: 64, threads: 1}

func newTestSoftware() *Software {
	return &Software{kdf: testKDF, limit: maxKDF}
}

// openSim opens the simulator with seed and closes it when the test ends
// (unless the test closed it itself).
func openSim(t *testing.T, seed int64) *TPM {
	t.Helper()
	k, err := OpenSimulator(seed)
	require.NoError(t, err)
	t.Cleanup(func() {
		if !k.closed {
			require.NoError(t, k.Close())
		}
	})
	return k
}

// setDAParameters runs TPM2_DictionaryAttackParameters with the (empty)
// lockout authorization. go-tpm's tpm2 package has no such command yet,
// so it is marshalled by hand (TPM 2.0 Part 3 §25.3).
func setDAParameters(k *TPM, maxTries, recoveryTime, lockoutRecovery uint32) error {
	var cmd []byte
	cmd = binary.BigEndian.AppendUint16(cmd, uint16(tpm2.TPMSTSessions))
	cmd = binary.BigEndian.AppendUint32(cmd, 0) // size, set below
	cmd = binary.BigEndian.AppendUint32(cmd, uint32(tpm2.TPMCCDictionaryAttackParameters))
	cmd = binary.BigEndian.AppendUint32(cmd, uint32(tpm2.TPMRHLockout))
	cmd = binary.BigEndian.AppendUint32(cmd, 9) // authorization area size
	cmd = binary.BigEndian.AppendUint32(cmd, uint32(tpm2.TPMRSPW))
	cmd = binary.BigEndian.AppendUint16(cmd, 0) // nonce
	cmd = append(cmd, 0)                        // session attributes
	cmd = binary.BigEndian.AppendUint16(cmd, 0) // empty lockoutAuth
	cmd = binary.BigEndian.AppendUint32(cmd, maxTries)
	cmd = binary.BigEndian.AppendUint32(cmd, recoveryTime)
	cmd = binary.BigEndian.AppendUint32(cmd, lockoutRecovery)
	binary.BigEndian.PutUint32(cmd[2:], uint32(len(cmd)))

	k.mu.Lock()
	defer k.mu.Unlock()
	rsp, err := k.tpm.Send(cmd)
	if err != nil {
		return err
	}
	if len(rsp) < 10 {
		return fmt.Errorf("short response")
	}
	if rc := tpm2.TPMRC(binary.BigEndian.Uint32(rsp[6:10])); rc != tpm2.TPMRCSuccess {
		return rc
	}
	return nil
}

// reseal recomputes a blob's checksum after a test altered its body, so
// that the alteration reaches the layer under test.
func reseal(data []byte) []byte {
	body := data[:len(data)-checksumSize]
	b := append([]byte(nil), body...)
	sum := sha256.Sum256(b)
	return append(b, sum[:]...)
}
