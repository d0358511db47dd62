package bespokejs

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestEmbeddedBuildIsTheSDKAndSmall(t *testing.T) {
	if !bytes.Contains(MinJS, []byte("/v1/batch")) || !bytes.Contains(MinJS, []byte("sendBeacon")) {
		t.Fatal("dist/bespoke.min.js does not look like the SDK build")
	}
	var buf bytes.Buffer
	w, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	w.Write(MinJS)
	w.Close()
	if buf.Len() > 5*1024 {
		t.Errorf("bespoke.min.js is %d bytes gzip, the budget is 5120", buf.Len())
	}
	t.Logf("bespoke.min.js: %d bytes, %d gzip", len(MinJS), buf.Len())
}

func TestHandler(t *testing.T) {
	srv := httptest.NewServer(Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/bespoke.min.js")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/javascript; charset=utf-8" || !bytes.Equal(body, MinJS) {
		t.Errorf("GET: %d %q, %d bytes", resp.StatusCode, resp.Header.Get("Content-Type"), len(body))
	}
	resp, err = http.Post(srv.URL+"/bespoke.min.js", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d, want 405", resp.StatusCode)
	}
}
