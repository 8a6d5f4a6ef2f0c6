// Package problem renders errors as RFC 9457 problem details
// (application/problem+json), each failure with a stable type URI, and
// decodes request bodies with bounds. Only the stable title and the type
// reach the client: never a stack trace, a secret or a wrapped cause.
package problem

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
)

// MediaType is RFC 9457's media type.
const MediaType = "application/problem+json"

// TypePrefix starts every problem type URI.
const TypePrefix = "urn:mustard:problem:"

// Error is a failure with a stable type, an HTTP status and a title.
type Error struct {
	Slug   string // stable: the type is TypePrefix + Slug
	Status int
	Title  string
}

// New declares a problem.
func New(slug string, status int, title string) *Error {
	return &Error{Slug: slug, Status: status, Title: title}
}

func (e *Error) Error() string { return e.Title }

// Type is the problem's type URI.
func (e *Error) Type() string { return TypePrefix + e.Slug }

// Body is the JSON body of a problem response (RFC 9457 §3).
type Body struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
}

// Common problems.
var (
	ErrMalformed   = New("malformed-request", http.StatusBadRequest, "The request body is not valid JSON of the expected shape")
	ErrTooLarge    = New("request-too-large", http.StatusRequestEntityTooLarge, "The request body is too large")
	ErrMediaType   = New("unsupported-media-type", http.StatusUnsupportedMediaType, "Send application/json")
	ErrNotFound    = New("not-found", http.StatusNotFound, "No such resource")
	ErrMethod      = New("method-not-allowed", http.StatusMethodNotAllowed, "Method not allowed")
	ErrInternal    = New("internal", http.StatusInternalServerError, "Internal error")
	ErrUnavailable = New("unavailable", http.StatusServiceUnavailable, "Service unavailable")
)

// Write renders err: the first *Error in its chain decides type and status;
// anything else is a 500 whose cause is logged, not sent.
func Write(w http.ResponseWriter, r *http.Request, err error) {
	var p *Error
	if !errors.As(err, &p) {
		slog.ErrorContext(r.Context(), "internal error", "path", r.URL.Path, "err", err.Error())
		p = ErrInternal
	}
	w.Header().Set("Content-Type", MediaType)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(Body{Type: p.Type(), Title: p.Title, Status: p.Status})
}

// MaxBody is the default bound on a request body.
const MaxBody = 256 << 10

// Decode reads one JSON object from r's body into v: at most limit bytes,
// no unknown fields, nothing after it.
func Decode(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return ErrMediaType
	}
	body := http.MaxBytesReader(w, r.Body, limit)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return ErrTooLarge
		}
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return ErrMalformed
	}
	return nil
}

// JSON writes v with status.
func JSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
