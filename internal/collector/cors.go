package collector

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// cors decides which browser origins may send events cross-origin.
type cors struct {
	any     bool
	origins map[string]bool // canonical "scheme://host[:port]", lower case
}

// newCORS checks the allowed origins: "*" or origins like https://shop.example[:port].
func newCORS(allowed []string) (*cors, error) {
	c := &cors{origins: map[string]bool{}}
	if len(allowed) == 0 {
		c.any = true
		return c, nil
	}
	for _, o := range allowed {
		o = strings.TrimSpace(o)
		if o == "*" {
			c.any = true
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return nil, fmt.Errorf("CORS origin %q must be \"*\" or scheme://host[:port], e.g. https://shop.example.com", o)
		}
		c.origins[strings.ToLower(u.Scheme+"://"+u.Host)] = true
	}
	return c, nil
}

// allow sets Access-Control-Allow-Origin for the request's origin when it is allowed
// and reports whether it is. Requests without an Origin header are not cross-origin
// browser requests: they are served, and get "*" only when every origin is allowed.
func (c *cors) allow(h http.Header, r *http.Request) bool {
	if c.any {
		h.Set("Access-Control-Allow-Origin", "*")
		return true
	}
	h.Add("Vary", "Origin")
	origin := r.Header.Get("Origin")
	if origin == "" || !c.origins[strings.ToLower(origin)] {
		return false
	}
	h.Set("Access-Control-Allow-Origin", origin)
	return true
}
