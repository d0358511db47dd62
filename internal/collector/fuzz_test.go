package collector

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// FuzzHandler feeds arbitrary bodies and headers to the handler: it must never panic and
// never answer 5xx while the stream is healthy; a 200 must mean something was stored.
func FuzzHandler(f *testing.F) {
	f.Add(uint8(0), uint8(0), false, "", []byte(batchBody("f1", "f2")))
	f.Add(uint8(1), uint8(1), false, "", []byte(trackEvent("f3")))
	f.Add(uint8(2), uint8(2), true, "gzip", []byte(`{"userId":"u","traits":{"a":[1,2,{"b":null}]}}`))
	f.Add(uint8(3), uint8(3), false, "", []byte(`{"writeKey":"wk_test","anonymousId":"a","name":"x"}`))
	f.Add(uint8(0), uint8(0), false, "", []byte(`{"batch":[{"type":"track","event":"Product List Viewed","userId":"u","properties":{"search_id":"s","products":[{"product_id":1,"position":1}]}}]}`))
	f.Add(uint8(0), uint8(0), false, "", []byte(`{"batch":[{"type":"track","event":"\xff","userId":"u"}]}`))
	f.Add(uint8(0), uint8(4), false, "deflate", []byte(`[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[`))
	f.Add(uint8(0), uint8(0), true, "x-gzip", []byte(`{"batch":[]}`))
	fs := newFake()
	fs.discard = true
	c, err := New(Options{Stream: fs, WriteKeys: []string{testKey}, Registerer: prometheus.NewRegistry()})
	if err != nil {
		f.Fatal(err)
	}
	paths := []string{"/v1/batch", "/v1/track", "/v1/identify", "/v1/page"}
	auths := []string{basic(testKey), "Bearer " + testKey, "", basic("wrong"), "Bearer", "Basic !!!"}
	f.Fuzz(func(t *testing.T, path, authMode uint8, gzipIt bool, encoding string, body []byte) {
		if gzipIt {
			var b bytes.Buffer
			zw := gzip.NewWriter(&b)
			_, _ = zw.Write(body)
			_ = zw.Close()
			body = b.Bytes()
		}
		r := httptest.NewRequest(http.MethodPost, paths[int(path)%len(paths)], bytes.NewReader(body))
		if a := auths[int(authMode)%len(auths)]; a != "" {
			r.Header.Set("Authorization", a)
		}
		if encoding != "" {
			r.Header.Set("Content-Encoding", encoding)
		}
		before := fs.calls.Load()
		w := httptest.NewRecorder()
		c.ServeHTTP(w, r)
		switch w.Code {
		case 200:
			if fs.calls.Load() == before {
				t.Fatalf("200 without a publish for body %q", body)
			}
		case 400, 401, 413, 415:
			if w.Body.Len() == 0 || w.Body.Bytes()[0] != '{' {
				t.Fatalf("status %d with body %q, want a JSON error", w.Code, w.Body)
			}
		default:
			t.Fatalf("status %d (%s) for body %q", w.Code, w.Body, body)
		}
	})
}
