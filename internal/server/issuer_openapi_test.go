package server

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mustard-id/mustard/coreid"
	"github.com/mustard-id/mustard/internal/community"
	"github.com/mustard-id/mustard/internal/oid4vci"
	"github.com/mustard-id/mustard/oidc"
)

// registeredRoutes is every "METHOD /path" pattern the server registers:
// the string literals given to a mux's Handle or HandleFunc, or ranged
// over in a literal list, in this package's source (whichever file
// registers them), and the route lists the parties export.
func registeredRoutes(t *testing.T) []string {
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	var out []string
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		require.NoError(t, err)
		ast.Inspect(f, func(n ast.Node) bool {
			if rng, ok := n.(*ast.RangeStmt); ok {
				if cl, ok := rng.X.(*ast.CompositeLit); ok {
					for _, e := range cl.Elts {
						if lit, ok := e.(*ast.BasicLit); ok && lit.Kind == token.STRING {
							p, err := strconv.Unquote(lit.Value)
							require.NoError(t, err)
							if routePattern.MatchString(p) {
								out = append(out, p)
							}
						}
					}
				}
				return true
			}
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) == 0 {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || (sel.Sel.Name != "Handle" && sel.Sel.Name != "HandleFunc") {
				return true
			}
			lit, ok := call.Args[0].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			p, err := strconv.Unquote(lit.Value)
			require.NoError(t, err)
			if strings.Contains(p, " ") { // "/" alone is the not-found catch-all
				out = append(out, p)
			}
			return true
		})
	}
	out = append(out, coreid.Routes...)
	out = append(out, coreid.FederationRoutes...)
	out = append(out, oidc.Routes...)
	out = append(out, community.Routes...)
	out = append(out, oid4vci.Routes...)
	require.NotEmpty(t, out)
	return out
}

// routePattern is a ServeMux pattern with a method.
var routePattern = regexp.MustCompile(`^(GET|POST|PUT|PATCH|DELETE) /`)

type openAPIDoc struct {
	OpenAPI    string                               `json:"openapi"`
	Paths      map[string]map[string]map[string]any `json:"paths"`
	Components struct {
		Schemas map[string]any `json:"schemas"`
	} `json:"components"`
}

// Every route the server registers is in the OpenAPI document, and the
// document describes no route the server lacks.
func TestOpenAPICoversRoutes(t *testing.T) {
	var doc openAPIDoc
	require.NoError(t, json.Unmarshal(openAPI, &doc))
	require.Equal(t, "3.1.0", doc.OpenAPI)
	routes := registeredRoutes(t)
	for _, r := range routes {
		method, path, _ := strings.Cut(r, " ")
		ops, ok := doc.Paths[path]
		require.True(t, ok, "route %q is not in internal/server/issuer_openapi.json (and docs/openapi.json): describe it there", r)
		_, ok = ops[strings.ToLower(method)]
		require.True(t, ok, "route %q: method missing from the OpenAPI document", r)
	}
	ids := map[string]bool{}
	for path, ops := range doc.Paths {
		for method, o := range ops {
			require.Contains(t, routes, strings.ToUpper(method)+" "+path, "the OpenAPI document describes a route the server does not register")
			id, _ := o["operationId"].(string)
			require.NotEmpty(t, id)
			require.False(t, ids[id], "duplicate operationId %s", id)
			ids[id] = true
			require.NotEmpty(t, o["responses"], "%s %s has no responses", method, path)
		}
	}
	// Every $ref resolves.
	for _, m := range regexpRefs(openAPI) {
		name := strings.TrimPrefix(m, "#/components/schemas/")
		require.Contains(t, doc.Components.Schemas, name, "dangling $ref %s", m)
	}
}

func regexpRefs(b []byte) []string {
	var out []string
	for _, part := range bytes.Split(b, []byte(`"$ref": "`))[1:] {
		end := bytes.IndexByte(part, '"')
		out = append(out, string(part[:end]))
	}
	return slices.Compact(out)
}

// docs/openapi.json is the embedded document, byte for byte.
func TestOpenAPIDocsCopy(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "openapi.json"))
	require.NoError(t, err)
	require.Equal(t, string(openAPI), string(b), "copy internal/server/issuer_openapi.json to docs/openapi.json")
}

func TestServeOpenAPI(t *testing.T) {
	rec := httptest.NewRecorder()
	serveOpenAPI(rec, httptest.NewRequest("GET", "/openapi.json", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	require.True(t, json.Valid(rec.Body.Bytes()))
}
