package server

import (
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
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
	v := r.URL.Query().Get(name)
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
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 || f != f {
		return 0, &fieldReason{Field: name, Reason: "must be a non-negative number"}
	}
	return f, nil
}
