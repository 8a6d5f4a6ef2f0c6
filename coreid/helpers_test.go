package coreid

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/internal/store/sqlite"
	"github.com/mustard-id/mustard/internal/trust"
	"github.com/mustard-id/mustard/zk"
)

// Issuer identifiers of the test framework's sources.
const (
	govID    = "https://gov.example"          // jwt-vc, high, person number scheme
	bankID   = "https://bank.example"         // sd-jwt-vc, substantial, same scheme
	idpID    = "https://idp.example"          // oidc, substantial
	ldpID    = "did:web:registry.example"     // ldp-vc, high
	lowID    = "https://social.example"       // jwt-vc, low
	provID   = "https://core.mustard.example" // the provider
	clientID = "mustard-core"
)

// env is a provider over a real SQLite store, with the keys of every
// source in its framework.
type env struct {
	p      *Provider
	store  *sqlite.Store
	dbPath string
	fw     *trust.Document
	keys   map[string]jwk.Key // source id -> private key
	now    time.Time
}

func ecKey(t testing.TB, kid string) jwk.Key {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	key, err := jwk.FromRaw(k)
	require.NoError(t, err)
	_ = key.Set(jwk.KeyIDKey, kid)
	_ = key.Set(jwk.AlgorithmKey, jwa.ES256)
	return key
}

func edKey(t testing.TB, kid string) jwk.Key {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	key, err := jwk.FromRaw(k)
	require.NoError(t, err)
	_ = key.Set(jwk.KeyIDKey, kid)
	_ = key.Set(jwk.AlgorithmKey, jwa.EdDSA)
	return key
}

func jwks(t testing.TB, keys ...jwk.Key) json.RawMessage {
	set := jwk.NewSet()
	for _, k := range keys {
		pub, err := k.PublicKey()
		require.NoError(t, err)
		require.NoError(t, set.AddKey(pub))
	}
	b, err := json.Marshal(set)
	require.NoError(t, err)
	return b
}

var pidClaims = map[string]string{
	"birthdate": "birth_date", "nationality": "nationality", "given_name": "given_name", "family_name": "family_name",
}

func newEnv(t testing.TB, opts ...func(*trust.Document, *Config)) *env {
	t.Helper()
	e := &env{keys: map[string]jwk.Key{}, now: time.Now().Truncate(time.Second)}
	e.keys[govID] = ecKey(t, "gov-1")
	e.keys[bankID] = ecKey(t, "bank-1")
	e.keys[idpID] = ecKey(t, "idp-1")
	e.keys[ldpID] = edKey(t, "key-1")
	e.keys[ldpID+"#p256"] = ecKey(t, "p256")
	e.keys[lowID] = ecKey(t, "low-1")
	pk, err := zk.GenerateKey(rand.Reader)
	require.NoError(t, err)
	e.fw = &trust.Document{
		ID: "test-framework",
		Sources: []trust.Source{
			{ID: govID, Kind: trust.FormatJWTVC, Grade: "high", Types: []string{"PID"}, JWKS: jwks(t, e.keys[govID]), Claims: pidClaims, SubjectClaim: "personal_number", SubjectScheme: "national-id"},
			{ID: bankID, Formats: []string{trust.FormatSDJWTVC}, Grade: "substantial", Types: []string{"https://bank.example/kyc"}, JWKS: jwks(t, e.keys[bankID]), Claims: pidClaims, SubjectClaim: "personal_number", SubjectScheme: "national-id"},
			{ID: idpID, Formats: []string{trust.FormatOIDC}, Grade: "substantial", JWKS: jwks(t, e.keys[idpID]), Claims: pidClaims},
			{ID: ldpID, Formats: []string{trust.FormatLDPVC}, Grade: "high", Types: []string{"PersonIdentificationData"}, JWKS: jwks(t, e.keys[ldpID], e.keys[ldpID+"#p256"]), Claims: pidClaims},
			{ID: lowID, Kind: trust.FormatJWTVC, Grade: "low", Types: []string{"Profile"}, JWKS: jwks(t, e.keys[lowID]), Claims: pidClaims},
		},
		Providers: []trust.Provider{{ID: provID, Key: hex.EncodeToString(pk.Public().Bytes()), MaxGrade: "high", ValidUntil: e.now.AddDate(5, 0, 0).Unix()}},
	}
	cfg := Config{
		Framework: e.fw, Key: pk, TagKey: make([]byte, 32),
		Now:         func() time.Time { return e.now },
		IsDuplicate: func(err error) bool { return errors.Is(err, sqlite.ErrDuplicate) },
		IsNotFound:  func(err error) bool { return errors.Is(err, sqlite.ErrNotFound) },
		ClientIDs:   map[string]string{idpID: clientID},
		AdminToken:  []byte("0123456789abcdef0123456789abcdef"),
	}
	_, _ = rand.Read(cfg.TagKey)
	for _, o := range opts {
		o(e.fw, &cfg)
	}
	e.dbPath = filepath.Join(t.TempDir(), "m.db")
	e.store, err = sqlite.Open(e.dbPath)
	require.NoError(t, err)
	t.Cleanup(func() { e.store.Close() })
	e.p, err = New(context.Background(), cfg, e.store)
	require.NoError(t, err)
	return e
}

// person is the test subject's claims at every source.
var person = map[string]any{
	"personal_number": "NL-123456789", "birthdate": "1990-04-12", "nationality": "NL",
	"given_name": "Johanna", "family_name": "Vermeer",
}

func (e *env) jwtVC(t testing.TB, iss string, claims map[string]any, iat time.Time) string {
	types := []string{"PID"}
	if iss == lowID {
		types = []string{"Profile"}
	}
	raw, err := SignJWTVC(e.keys[iss], iss, "did:example:holder", types, claims, iat, iat.Add(time.Hour))
	require.NoError(t, err)
	return raw
}

func (e *env) nonce(t testing.TB) string {
	n, err := e.p.NewNonce(context.Background(), NonceEnroll)
	require.NoError(t, err)
	return n
}

func (e *env) commitment(t testing.TB) EnrollRequest {
	s, err := zk.RandomElement()
	require.NoError(t, err)
	return EnrollRequest{Commitment: zk.Commit(s)}
}

func (e *env) counts(t testing.TB) map[string]int {
	c, err := e.store.Counts(context.Background())
	require.NoError(t, err)
	return c
}

func with(claims map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range claims {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
			continue
		}
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}
