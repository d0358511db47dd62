// Package web is the storefront (at /) and the dashboard (at /dashboard) that `bespoke serve`
// serves: plain HTML, CSS and JavaScript embedded in the binary (no CDN, no build step), the
// browser SDK at /bespoke.min.js, and /config.json telling the pages the write key.
//
// The storefront sends every event through the browser SDK exactly as CONTRACT §2 names them
// and reads only the public serving API (§4); the dashboard reads the admin endpoints and
// /metrics. This package must never reach into the server's internals, talk to anything but
// the page's own origin, or put the admin token in a page unless Options.AdminToken is set.
package web
