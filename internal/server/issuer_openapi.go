package server

import (
	_ "embed"
	"net/http"
)

// openAPI is the OpenAPI 3.1 description of every route (docs/openapi.json
// is the same file; a test keeps them equal and checks that every route
// registered here is described, and nothing else).
//
//go:embed issuer_openapi.json
var openAPI []byte

func serveOpenAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, _ = w.Write(openAPI)
}
