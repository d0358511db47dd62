package server

import (
	"crypto/subtle"
	"encoding/json"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
)

// apiError is the JSON body of every error answer: what went wrong, and for input
// errors each field at fault with the reason.
type apiError struct {
	Error   string        `json:"error"`
	Details []fieldReason `json:"details,omitempty"`
}

type fieldReason struct {
	Index  *int   `json:"index,omitempty"`
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // the client went away: nothing left to tell it
}

func writeError(w http.ResponseWriter, status int, msg string, details ...fieldReason) {
	writeJSON(w, status, apiError{Error: msg, Details: details})
}

func badField(w http.ResponseWriter, field, reason string) {
	writeError(w, http.StatusBadRequest, "invalid request: "+field+" "+reason, fieldReason{Field: field, Reason: reason})
}

// bearer returns the token of an "Authorization: Bearer T" header.
func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

func equalToken(got, want string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// requireAdmin checks the admin token; it answers 401 itself when the check fails.
func (s *Server) requireAdmin(w http.ResponseWriter, r *http.Request) bool {
	if s.cfg.AdminToken == "" {
		writeError(w, http.StatusForbidden, "admin endpoints are disabled: start the server with --admin-token")
		return false
	}
	if !equalToken(bearer(r), s.cfg.AdminToken) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="bespoke admin"`)
		writeError(w, http.StatusUnauthorized, "admin token missing or wrong: send Authorization: Bearer <admin token>")
		return false
	}
	return true
}

// requireWriteKey checks a write key sent as HTTP Basic user name or as a bearer token.
func (s *Server) requireWriteKey(w http.ResponseWriter, r *http.Request) bool {
	key := bearer(r)
	if user, _, ok := r.BasicAuth(); ok {
		key = user
	}
	for _, k := range s.cfg.WriteKeys {
		if equalToken(key, k) {
			return true
		}
	}
	w.Header().Set("WWW-Authenticate", `Basic realm="bespoke"`)
	writeError(w, http.StatusUnauthorized, "write key missing or wrong: send it as the HTTP Basic user name or as a Bearer token")
	return false
}

// intParam parses an optional integer query parameter within [lo, hi].
func intParam(r *http.Request, name string, def, lo, hi int) (int, *fieldReason) {
	return intValue(r.URL.Query(), name, def, lo, hi)
}

// intValue is intParam on query values parsed once by the caller.
func intValue(q url.Values, name string, def, lo, hi int) (int, *fieldReason) {
	v := q.Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, &fieldReason{Field: name, Reason: "must be a whole number from " + strconv.Itoa(lo) + " to " + strconv.Itoa(hi)}
	}
	return n, nil
}

func floatParam(r *http.Request, name string) (float64, *fieldReason) {
	return floatValue(r.URL.Query(), name)
}

// floatValue is floatParam on query values parsed once by the caller.
func floatValue(q url.Values, name string) (float64, *fieldReason) {
	v := q.Get(name)
	if v == "" {
		return 0, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 || f != f {
		return 0, &fieldReason{Field: name, Reason: "must be a non-negative number"}
	}
	return f, nil
}

// The hot answers (search, rerank) are encoded by hand into pooled buffers: no
// reflection, and no allocation besides the buffer's growth. The helpers below write
// exactly what encoding/json (with SetEscapeHTML(false)) writes for the same values, so
// that clients see the same bytes whichever path answered; api_test.go checks that.

// jsonBufPool holds response buffers; a buffer that grew past 64 KiB is not kept.
var jsonBufPool = sync.Pool{New: func() any { b := make([]byte, 0, 8<<10); return &b }}

var jsonContentType = []string{"application/json"}

// writeJSONBytes sends an already encoded JSON body with its length (no chunking).
func writeJSONBytes(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h["Content-Type"] = jsonContentType // net/http never modifies header values in place
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(status)
	_, _ = w.Write(body) // the client went away: nothing left to tell it
}

// appendJSONFloat appends f (of the given bit size, 32 or 64) as encoding/json writes
// it. JSON has no NaN or infinity; they are written as 0 (encoding/json would fail the
// whole answer instead).
func appendJSONFloat(dst []byte, f float64, bits int) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(dst, '0')
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 {
		if bits == 64 && (abs < 1e-6 || abs >= 1e21) || bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
			format = 'e'
		}
	}
	dst = strconv.AppendFloat(dst, f, format, -1, bits)
	if format == 'e' {
		// clean up e-09 to e-9
		n := len(dst)
		if n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}

func appendJSONBool(dst []byte, v bool) []byte {
	if v {
		return append(dst, "true"...)
	}
	return append(dst, "false"...)
}

// appendKey appends ,"key": (without the comma when first).
func appendKey(dst []byte, key string, first bool) []byte {
	if !first {
		dst = append(dst, ',')
	}
	dst = append(dst, '"')
	dst = append(dst, key...)
	return append(dst, '"', ':')
}
