// Package bespokejs embeds the browser SDK build (dist/bespoke.min.js) so the Go server can
// serve it, e.g. at /bespoke.min.js, without npm. It must never modify the script: the file is
// produced by `npm run build` in clients/js and checked by the npm tests.
package bespokejs

import (
	_ "embed"
	"net/http"
	"strconv"
)

// MinJS is dist/bespoke.min.js.
//
//go:embed dist/bespoke.min.js
var MinJS []byte

// Handler serves MinJS as JavaScript, cacheable for an hour.
func Handler() http.Handler {
	n := strconv.Itoa(len(MinJS))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed: use GET", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "text/javascript; charset=utf-8")
		h.Set("Cache-Control", "public, max-age=3600")
		h.Set("Content-Length", n)
		if r.Method == http.MethodHead {
			return
		}
		w.Write(MinJS)
	})
}
