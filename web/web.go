package web

import (
	"embed"
	"encoding/json"
	"io/fs"
	"net/http"
	"strings"

	bespokejs "github.com/bespokesearch/bespoke/clients/js"
)

//go:embed static
var static embed.FS

// Options configure the pages.
type Options struct {
	// WriteKey is the collector write key the storefront's SDK sends events (and opt-outs)
	// with. Required for events to be accepted.
	WriteKey string
	// AdminToken, when set, is handed to the dashboard in /config.json so that it does not
	// ask for it. Leave it empty on anything reachable by others: the dashboard then asks
	// for the token and keeps it in sessionStorage.
	AdminToken string
}

// config is the JSON of /config.json.
type config struct {
	WriteKey   string `json:"writeKey"`
	AdminToken string `json:"adminToken,omitempty"`
}

// Paths lists the URL paths Handler answers; everything else is 404.
var Paths = []string{"/", "/dashboard", "/assets/", "/bespoke.min.js", "/config.json"}

// Handler serves the storefront at "/", the dashboard at "/dashboard", the static files at
// "/assets/…", the SDK at "/bespoke.min.js" and the page configuration at "/config.json".
// Only GET and HEAD are answered.
func Handler(opts Options) http.Handler {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic("web: the embedded static directory is missing: " + err.Error()) // a build defect, not input
	}
	cfg, _ := json.Marshal(config{WriteKey: opts.WriteKey, AdminToken: opts.AdminToken})
	index, _ := fs.ReadFile(sub, "index.html")
	dash, _ := fs.ReadFile(sub, "dashboard.html")
	assets := http.StripPrefix("/assets/", http.FileServerFS(sub))
	sdk := bespokejs.Handler()

	page := func(b []byte) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Cache-Control", "no-cache")
			w.Header().Set("X-Content-Type-Options", "nosniff")
			w.Header().Set("Referrer-Policy", "same-origin")
			w.Write(b)
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed: the storefront and dashboard answer GET only", http.StatusMethodNotAllowed)
			return
		}
		p := r.URL.Path
		switch {
		case p == "/":
			page(index)(w, r)
		case p == "/dashboard" || p == "/dashboard/":
			page(dash)(w, r)
		case p == "/bespoke.min.js":
			sdk.ServeHTTP(w, r)
		case p == "/config.json":
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Cache-Control", "no-store")
			w.Write(cfg)
		case strings.HasPrefix(p, "/assets/") && !strings.HasSuffix(p, "/") && !strings.HasSuffix(p, ".html"):
			w.Header().Set("Cache-Control", "no-cache")
			assets.ServeHTTP(w, r)
		default:
			http.Error(w, "no page "+p+": the storefront is at / and the dashboard at /dashboard", http.StatusNotFound)
		}
	})
}
