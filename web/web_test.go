package web

import (
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	bespokejs "github.com/bespokesearch/bespoke/clients/js"
)

func get(t *testing.T, h http.Handler, method, path string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	return rec
}

func TestHandlerServesPages(t *testing.T) {
	h := Handler(Options{WriteKey: "wk_1"})
	for _, c := range []struct {
		path, ctype, contains string
	}{
		{"/", "text/html", `id="personalize"`},
		{"/dashboard", "text/html", `id="c-ctr"`},
		{"/assets/store.js", "javascript", "Products Searched"},
		{"/assets/dashboard.js", "javascript", "bespoke_collector_events_accepted_total"},
		{"/assets/draw.js", "javascript", "productSVG"},
		{"/assets/chart.js", "javascript", "chart"},
		{"/assets/app.css", "text/css", ".card"},
		{"/config.json", "application/json", `"writeKey":"wk_1"`},
	} {
		rec := get(t, h, http.MethodGet, c.path)
		if rec.Code != 200 {
			t.Errorf("GET %s: status %d, want 200 (%s)", c.path, rec.Code, rec.Body.String())
			continue
		}
		if ct := rec.Header().Get("Content-Type"); !strings.Contains(ct, c.ctype) {
			t.Errorf("GET %s: Content-Type %q, want it to contain %q", c.path, ct, c.ctype)
		}
		if !strings.Contains(rec.Body.String(), c.contains) {
			t.Errorf("GET %s: body does not contain %q", c.path, c.contains)
		}
	}
	rec := get(t, h, http.MethodGet, "/bespoke.min.js")
	if rec.Code != 200 || rec.Body.Len() != len(bespokejs.MinJS) {
		t.Errorf("GET /bespoke.min.js: status %d, %d bytes; want 200 and the SDK's %d bytes", rec.Code, rec.Body.Len(), len(bespokejs.MinJS))
	}
	if rec := get(t, h, http.MethodHead, "/"); rec.Code != 200 {
		t.Errorf("HEAD /: status %d", rec.Code)
	}
}

func TestHandlerRefusesTheRest(t *testing.T) {
	h := Handler(Options{WriteKey: "wk_1"})
	for _, path := range []string{"/nope", "/assets/", "/assets/index.html", "/assets/missing.js", "/v1/search", "/dashboard/x"} {
		if rec := get(t, h, http.MethodGet, path); rec.Code != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", path, rec.Code)
		}
	}
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
		rec := get(t, h, m, "/")
		if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, HEAD" {
			t.Errorf("%s /: status %d Allow %q, want 405 and GET, HEAD", m, rec.Code, rec.Header().Get("Allow"))
		}
	}
}

func TestConfigCarriesTheAdminTokenOnlyWhenGiven(t *testing.T) {
	for _, c := range []struct {
		opts Options
		want config
	}{
		{Options{WriteKey: "k"}, config{WriteKey: "k"}},
		{Options{WriteKey: "k", AdminToken: "secret"}, config{WriteKey: "k", AdminToken: "secret"}},
	} {
		rec := get(t, Handler(c.opts), http.MethodGet, "/config.json")
		var got config
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
			t.Fatalf("config.json is not JSON: %v: %s", err, rec.Body.String())
		}
		if got != c.want {
			t.Errorf("config.json with %+v = %+v, want %+v", c.opts, got, c.want)
		}
		if c.opts.AdminToken == "" && strings.Contains(rec.Body.String(), "adminToken") {
			t.Errorf("config.json mentions adminToken although none was given: %s", rec.Body.String())
		}
		if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
			t.Errorf("config.json Cache-Control %q, want no-store", cc)
		}
	}
}

// Every script and stylesheet the pages load is served, and nothing is loaded from
// another origin (no CDN).
func TestPagesLoadOnlyOwnAssets(t *testing.T) {
	h := Handler(Options{WriteKey: "k"})
	ref := regexp.MustCompile(`(?:src|href)="([^"#]+)"`)
	for _, page := range []string{"/", "/dashboard"} {
		body := get(t, h, http.MethodGet, page).Body.String()
		refs := ref.FindAllStringSubmatch(body, -1)
		if len(refs) < 3 {
			t.Fatalf("%s references %d assets, expected its scripts and stylesheet", page, len(refs))
		}
		for _, m := range refs {
			u := m[1]
			if strings.HasPrefix(u, "data:") {
				continue
			}
			if !strings.HasPrefix(u, "/") || strings.HasPrefix(u, "//") {
				t.Errorf("%s loads %q from elsewhere: every asset must be served by this handler", page, u)
				continue
			}
			if rec := get(t, h, http.MethodGet, u); rec.Code != 200 {
				t.Errorf("%s references %s, which answers %d", page, u, rec.Code)
			}
		}
	}
	external := regexp.MustCompile(`(?:src|href)\s*=\s*["']https?:|url\(\s*["']?https?:|from\s+["']https?:|fetch\(\s*["']https?:`)
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		f, err := static.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		b, err := io.ReadAll(f)
		if err != nil {
			return err
		}
		if loc := external.FindIndex(b); loc != nil {
			t.Errorf("%s refers to another origin: %q", p, b[loc[0]:min(len(b), loc[1]+40)])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
