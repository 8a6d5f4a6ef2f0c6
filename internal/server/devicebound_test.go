package server

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/backend/groth16"
	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/zk"
)

// Without Options.DeviceBound the device-bound key files are not found.
func TestDeviceBoundFilesOff(t *testing.T) {
	s := &Server{Keys: &zk.Keys{VKID: "sha256:aa"}, CommunityKeys: &zk.Keys{VKID: "sha256:bb"}, zkDir: t.TempDir()}
	for _, name := range []string{"devicebound.vk", "devicebound.pk", "persona.vk"} {
		r := httptest.NewRequest(http.MethodGet, "/v1/zk/devicebound/files/"+name, nil)
		r.SetPathValue("name", name)
		w := httptest.NewRecorder()
		s.serveZKFile(w, r)
		require.Equal(t, http.StatusNotFound, w.Code, name)
		require.Equal(t, "application/problem+json", w.Header().Get("Content-Type"))
	}
}

// With Options.DeviceBound the server sets the device-bound keys up, the
// issuer takes them, and the files are served under their verifying key.
func TestDeviceBoundFilesOn(t *testing.T) {
	if testing.Short() {
		t.Skip("a Groth16 setup of the device-bound circuit")
	}
	t.Setenv("MUSTARD_PASSPHRASE", "device-bound test passphrase")
	s, err := Open(context.Background(), Options{DataDir: t.TempDir(), DeviceBound: true})
	require.NoError(t, err)
	defer s.Close()
	require.NotNil(t, s.DeviceBoundKeys)
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()

	resp, err := srv.Client().Get(srv.URL + "/v1/zk/devicebound/files/devicebound.vk")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, `"`+s.DeviceBoundKeys.VKID+`"`, resp.Header.Get("ETag"))
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	vk := groth16.NewVerifyingKey(ecc.BN254)
	_, err = vk.ReadFrom(bytes.NewReader(b))
	require.NoError(t, err)
	id, err := zk.VerifyingKeyID(vk)
	require.NoError(t, err)
	require.Equal(t, s.DeviceBoundKeys.VKID, id, "the served key is the one the issuer verifies with")

	resp2, err := srv.Client().Get(srv.URL + "/v1/zk/devicebound/files/persona.vk")
	require.NoError(t, err)
	resp2.Body.Close()
	require.Equal(t, http.StatusNotFound, resp2.StatusCode, "another circuit's file under this path")
}
