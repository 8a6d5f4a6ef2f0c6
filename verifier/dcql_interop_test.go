package verifier

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// dcqlCase is a DCQL query and presentations (each a credential's
// disclosed claims, by credential query id).
type dcqlCase struct {
	Name          string                      `json:"name"`
	Query         json.RawMessage             `json:"query"`
	Presentations map[string][]map[string]any `json:"presentations"`
}

var dcqlCases = []dcqlCase{
	{"default, answered", json.RawMessage(`{"credentials":[{"id":"persona","format":"dc+sd-jwt","meta":{"vct_values":["urn:mustard:vct:persona:1"]},"claims":[{"path":["pseudonym"]},{"path":["age_over_18"]}]}]}`),
		map[string][]map[string]any{"persona": {{"pseudonym": "p", "age_over_18": true}}}},
	{"default, claim missing", json.RawMessage(`{"credentials":[{"id":"persona","format":"dc+sd-jwt","meta":{"vct_values":["urn:mustard:vct:persona:1"]},"claims":[{"path":["pseudonym"]},{"path":["age_over_18"]}]}]}`),
		map[string][]map[string]any{"persona": {{"pseudonym": "p"}}}},
	{"value matches", json.RawMessage(`{"credentials":[{"id":"p","format":"dc+sd-jwt","meta":{"vct_values":["urn:mustard:vct:persona:1"]},"claims":[{"path":["nationality"],"values":["DE","FR"]}]}]}`),
		map[string][]map[string]any{"p": {{"nationality": "FR"}}}},
	{"value differs", json.RawMessage(`{"credentials":[{"id":"p","format":"dc+sd-jwt","meta":{"vct_values":["urn:mustard:vct:persona:1"]},"claims":[{"path":["nationality"],"values":["DE"]}]}]}`),
		map[string][]map[string]any{"p": {{"nationality": "NL"}}}},
	{"boolean value", json.RawMessage(`{"credentials":[{"id":"p","format":"dc+sd-jwt","meta":{"vct_values":["urn:mustard:vct:persona:1"]},"claims":[{"path":["age_over_18"],"values":[true]}]}]}`),
		map[string][]map[string]any{"p": {{"age_over_18": false}}}},
	{"null path into array", json.RawMessage(`{"credentials":[{"id":"p","format":"dc+sd-jwt","meta":{"vct_values":["urn:mustard:vct:persona:1"]},"claims":[{"path":["nationalities",null]}]}]}`),
		map[string][]map[string]any{"p": {{"nationalities": []any{"DE", "FR"}}}}},
	{"nested object", json.RawMessage(`{"credentials":[{"id":"p","format":"dc+sd-jwt","meta":{"vct_values":["urn:mustard:vct:persona:1"]},"claims":[{"path":["address","locality"]}]}]}`),
		map[string][]map[string]any{"p": {{"address": map[string]any{"street": "x"}}}}},
	{"claim sets, second", json.RawMessage(`{"credentials":[{"id":"p","format":"dc+sd-jwt","meta":{"vct_values":["urn:mustard:vct:persona:1"]},"claims":[{"id":"a","path":["a"]},{"id":"b","path":["b"]},{"id":"c","path":["c"]}],"claim_sets":[["a","b"],["c"]]}]}`),
		map[string][]map[string]any{"p": {{"c": 1}}}},
	{"claim sets, none", json.RawMessage(`{"credentials":[{"id":"p","format":"dc+sd-jwt","meta":{"vct_values":["urn:mustard:vct:persona:1"]},"claims":[{"id":"a","path":["a"]},{"id":"b","path":["b"]},{"id":"c","path":["c"]}],"claim_sets":[["a","b"],["c"]]}]}`),
		map[string][]map[string]any{"p": {{"a": 1}}}},
	{"credential sets, optional unanswered", json.RawMessage(`{"credentials":[{"id":"p","format":"dc+sd-jwt","meta":{"vct_values":["urn:mustard:vct:persona:1"]}},{"id":"q","format":"dc+sd-jwt","meta":{"vct_values":["urn:mustard:vct:persona:1"]}}],"credential_sets":[{"options":[["p"]]},{"required":false,"options":[["q"]]}]}`),
		map[string][]map[string]any{"p": {{"x": 1}}}},
	{"credential sets, required unanswered", json.RawMessage(`{"credentials":[{"id":"p","format":"dc+sd-jwt","meta":{"vct_values":["urn:mustard:vct:persona:1"]}},{"id":"q","format":"dc+sd-jwt","meta":{"vct_values":["urn:mustard:vct:persona:1"]}}],"credential_sets":[{"options":[["p","q"]]}]}`),
		map[string][]map[string]any{"p": {{"x": 1}}}},
	{"two credentials, one missing", json.RawMessage(`{"credentials":[{"id":"p","format":"dc+sd-jwt","meta":{"vct_values":["urn:mustard:vct:persona:1"]}},{"id":"q","format":"dc+sd-jwt","meta":{"vct_values":["urn:mustard:vct:persona:1"]}}]}`),
		map[string][]map[string]any{"q": {{"x": 1}}}},
	{"bad id", json.RawMessage(`{"credentials":[{"id":"a b","format":"dc+sd-jwt"}]}`), nil},
	{"repeated id", json.RawMessage(`{"credentials":[{"id":"a","format":"dc+sd-jwt"},{"id":"a","format":"dc+sd-jwt"}]}`), nil},
	{"no credentials", json.RawMessage(`{"credentials":[]}`), nil},
	{"empty path", json.RawMessage(`{"credentials":[{"id":"a","format":"dc+sd-jwt","meta":{"vct_values":["v"]},"claims":[{"path":[]}]}]}`), nil},
	{"negative index", json.RawMessage(`{"credentials":[{"id":"a","format":"dc+sd-jwt","meta":{"vct_values":["v"]},"claims":[{"path":["x",-1]}]}]}`), nil},
	{"claim set without ids", json.RawMessage(`{"credentials":[{"id":"a","format":"dc+sd-jwt","meta":{"vct_values":["v"]},"claims":[{"path":["x"]}],"claim_sets":[["x"]]}]}`), nil},
	{"credential set names unknown", json.RawMessage(`{"credentials":[{"id":"a","format":"dc+sd-jwt","meta":{"vct_values":["v"]}}],"credential_sets":[{"options":[["b"]]}]}`), nil},
}

// goDCQL is Mustard's answer to a case: valid, and satisfied as the
// Response Endpoint decides (every presentation satisfies its credential
// query, the answered ids meet the query).
func goDCQL(c dcqlCase) (valid, satisfied bool) {
	q, err := ParseDCQL(c.Query)
	if err != nil {
		return false, false
	}
	answered := map[string]bool{}
	for id, list := range c.Presentations {
		cq, ok := q.Credential(id)
		if !ok {
			return true, false
		}
		for _, claims := range list {
			if !cq.Satisfied(claims) {
				return true, false
			}
		}
		answered[id] = true
	}
	return true, q.Answered(answered)
}

// TestDCQLInterop compares Mustard's DCQL parser and evaluator with
// dcql-ts, the OpenWallet Foundation's TypeScript implementation, case by
// case. It needs node and the npm package: set MUSTARD_DCQL_JS to a
// directory where `npm install dcql@3.0.0` ran; otherwise it is skipped.
func TestDCQLInterop(t *testing.T) {
	dir := os.Getenv("MUSTARD_DCQL_JS")
	node, err := exec.LookPath("node")
	if dir == "" || err != nil {
		t.Skip("set MUSTARD_DCQL_JS to a directory with node_modules/dcql (npm install dcql@3.0.0) and install node")
	}
	script, err := filepath.Abs("testdata/dcql_interop.mjs")
	require.NoError(t, err)
	// Node resolves "dcql" from the script's directory upwards: run a copy
	// placed in dir.
	b, err := os.ReadFile(script)
	require.NoError(t, err)
	copyPath := filepath.Join(dir, "mustard_dcql_interop.mjs")
	require.NoError(t, os.WriteFile(copyPath, b, 0o644))
	in, _ := json.Marshal(dcqlCases)
	cmd := exec.Command(node, copyPath)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, stderr.String())
	var js []struct{ Valid, Satisfied bool }
	require.NoError(t, json.Unmarshal(out, &js))
	require.Len(t, js, len(dcqlCases))
	for i, c := range dcqlCases {
		valid, sat := goDCQL(c)
		require.Equal(t, js[i].Valid, valid, "%s: valid", c.Name)
		require.Equal(t, js[i].Satisfied, sat, "%s: satisfied", c.Name)
	}
}
