package tlog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/mustard-id/mustard/internal/problem"
)

// MaxPage bounds the entries one request returns.
const MaxPage = 1000

// ErrBadRange is the problem for a range or size outside the log.
var ErrBadRange = problem.New("log-range", http.StatusBadRequest, "The requested index, size or range is outside the log")

// Handler serves the log:
//
//	GET /v1/log/checkpoint                      the signed checkpoint (text/plain)
//	GET /v1/log/key                             the verifier key auditors pin
//	GET /v1/log/entries?start=&end=             entries (at most 1000), base64
//	GET /v1/log/proof/inclusion?index=&size=    an inclusion proof
//	GET /v1/log/proof/consistency?from=&to=     a consistency proof
func (l *Log) Handler(vkey string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/log/checkpoint", func(w http.ResponseWriter, r *http.Request) {
		cp, err := l.Checkpoint(r.Context())
		if err != nil {
			problem.Write(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		_, _ = w.Write(cp)
	})
	mux.HandleFunc("GET /v1/log/key", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, vkey+"\n")
	})
	mux.HandleFunc("GET /v1/log/entries", func(w http.ResponseWriter, r *http.Request) {
		start, err1 := uintParam(r, "start")
		end, err2 := uintParam(r, "end")
		size, err := l.Size(r.Context())
		if err1 != nil || err2 != nil || err != nil || start > end || end > size || end-start > MaxPage {
			problem.Write(w, r, ErrBadRange)
			return
		}
		entries, err := l.Entries(r.Context(), start, end)
		if err != nil {
			problem.Write(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable") // entries never change
		problem.JSON(w, http.StatusOK, map[string]any{"start": start, "entries": entries})
	})
	mux.HandleFunc("GET /v1/log/proof/inclusion", func(w http.ResponseWriter, r *http.Request) {
		index, err1 := uintParam(r, "index")
		size, err2 := uintParam(r, "size")
		if err1 != nil || err2 != nil {
			problem.Write(w, r, ErrBadRange)
			return
		}
		p, err := l.InclusionProof(r.Context(), index, size)
		writeProof(w, r, p, err)
	})
	mux.HandleFunc("GET /v1/log/proof/consistency", func(w http.ResponseWriter, r *http.Request) {
		from, err1 := uintParam(r, "from")
		to, err2 := uintParam(r, "to")
		if err1 != nil || err2 != nil {
			problem.Write(w, r, ErrBadRange)
			return
		}
		p, err := l.ConsistencyProof(r.Context(), from, to)
		writeProof(w, r, p, err)
	})
	return mux
}

func writeProof(w http.ResponseWriter, r *http.Request, p [][]byte, err error) {
	if err != nil {
		problem.Write(w, r, ErrBadRange)
		return
	}
	if p == nil {
		p = [][]byte{}
	}
	problem.JSON(w, http.StatusOK, map[string]any{"hashes": p})
}

func uintParam(r *http.Request, name string) (uint64, error) {
	return strconv.ParseUint(r.URL.Query().Get(name), 10, 64)
}

// AuditState is what an auditor remembers between audits: the pinned key,
// the last checkpoint it verified and the compact range of the entries up
// to it, so that each audit downloads only new entries.
type AuditState struct {
	VerifierKey string   `json:"verifier_key"`
	Size        uint64   `json:"size"`
	Root        []byte   `json:"root"`
	Range       [][]byte `json:"range"`
}

// Audit checks a server's log from outside: the checkpoint is signed by
// the pinned key; it is consistent with the last one audited (the server's
// consistency proof verifies, and the log did not shrink); the new
// entries, downloaded and hashed here, give the checkpoint's root; and
// every entry is a well-formed entry of a known kind holding hashes only.
// On success st moves to the new checkpoint.
func Audit(ctx context.Context, hc *http.Client, base string, st *AuditState) (*Checkpoint, error) {
	base = strings.TrimRight(base, "/")
	raw, err := get(ctx, hc, base+"/v1/log/checkpoint")
	if err != nil {
		return nil, err
	}
	cp, err := ParseCheckpoint(raw, st.VerifierKey)
	if err != nil {
		return nil, err
	}
	if cp.Size < st.Size {
		return nil, fmt.Errorf("tlog: the log shrank from %d to %d entries", st.Size, cp.Size)
	}
	if st.Size > 0 {
		var p struct{ Hashes [][]byte }
		b, err := get(ctx, hc, fmt.Sprintf("%s/v1/log/proof/consistency?from=%d&to=%d", base, st.Size, cp.Size))
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(b, &p); err != nil {
			return nil, fmt.Errorf("tlog: consistency proof: %w", err)
		}
		if err := VerifyConsistency(&Checkpoint{Size: st.Size, Root: st.Root}, cp, p.Hashes); err != nil {
			return nil, fmt.Errorf("tlog: the log is not consistent with the last audit (size %d): %w", st.Size, err)
		}
	}
	rng, err := factory.NewRange(0, st.Size, st.Range)
	if err != nil {
		return nil, fmt.Errorf("tlog: audit state: %w", err)
	}
	for start := st.Size; start < cp.Size; {
		end := min(start+MaxPage, cp.Size)
		var page struct {
			Entries [][]byte `json:"entries"`
		}
		b, err := get(ctx, hc, fmt.Sprintf("%s/v1/log/entries?start=%d&end=%d", base, start, end))
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(b, &page); err != nil || uint64(len(page.Entries)) != end-start {
			return nil, fmt.Errorf("tlog: entries %d..%d: malformed page", start, end)
		}
		for i, e := range page.Entries {
			if err := CheckEntry(e); err != nil {
				return nil, fmt.Errorf("tlog: entry %d: %w", start+uint64(i), err)
			}
			if err := rng.Append(hasher.HashLeaf(e), nil); err != nil {
				return nil, err
			}
		}
		start = end
	}
	root := hasher.EmptyRoot()
	if rng.End() > 0 {
		if root, err = rng.GetRootHash(nil); err != nil {
			return nil, err
		}
	}
	if string(root) != string(cp.Root) {
		return nil, fmt.Errorf("tlog: the entries served do not hash to the signed root at size %d", cp.Size)
	}
	st.Size, st.Root, st.Range = cp.Size, cp.Root, rng.Hashes()
	return cp, nil
}

// CheckEntry checks an entry is well formed, of a known kind, and holds
// only hex digests (no personal data can hide in it).
func CheckEntry(b []byte) error {
	if len(b) > MaxEntry {
		return errors.New("entry too large")
	}
	var e Entry
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return fmt.Errorf("malformed entry: %w", err)
	}
	switch e.Kind {
	case KindCoreCredential, KindRevocation, KindPersona, KindPersonaStatus, KindFramework, KindClientRegistred:
	case KindIssuerKey:
	default:
		return fmt.Errorf("unknown kind %q", e.Kind)
	}
	if len(e.Class) > 32 || strings.Trim(e.Class, "abcdefghijklmnopqrstuvwxyz-") != "" {
		return fmt.Errorf("class %q is not a reason class", e.Class)
	}
	for k, v := range e.Digest {
		if len(k) > 64 || len(v) > 256 || !isDigest(v) {
			return fmt.Errorf("field %q is not a digest", k)
		}
	}
	return nil
}

// isDigest accepts lower-case hex, decimal numbers and sha256:/urn: prefixed hex.
func isDigest(s string) bool {
	s = strings.TrimPrefix(s, "sha256:")
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return s != ""
}

func get(ctx context.Context, hc *http.Client, u string) ([]byte, error) {
	if _, err := url.Parse(u); err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("tlog: %s: %s", u, resp.Status)
	}
	return b, nil
}
