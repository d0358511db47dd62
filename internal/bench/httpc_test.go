package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestWireClientAgainstNetHTTP(t *testing.T) {
	big := strings.Repeat("0123456789", 3000) // over net/http's buffer: sent chunked
	mux := http.NewServeMux()
	mux.HandleFunc("GET /small", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `{"ok":true}`) })
	mux.HandleFunc("GET /big", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, big) })
	mux.HandleFunc("GET /flushed", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "part one,")
		w.(http.Flusher).Flush()
		io.WriteString(w, "part two")
	})
	mux.HandleFunc("GET /empty", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.HandleFunc("GET /close", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		io.WriteString(w, "bye")
	})
	mux.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.WriteHeader(http.StatusTeapot)
		fmt.Fprintf(w, "%s %s %s", r.Header.Get("Authorization"), r.Header.Get("Content-Type"), b)
	})
	var conns atomic.Int64
	ts := httptest.NewUnstartedServer(mux)
	ts.Config.ConnState = func(c net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	ts.Start()
	defer ts.Close()
	c, err := newWireClient(ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	get := func(method, path, authz string, body []byte) (int, string) {
		t.Helper()
		var status int
		var got string
		err := c.do(ctx, method, path, authz, body, func(st int, b []byte) { status, got = st, string(b) })
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		return status, got
	}
	for range 3 {
		if st, b := get("GET", "/small", "", nil); st != 200 || b != `{"ok":true}` {
			t.Fatalf("small: %d %q", st, b)
		}
		if st, b := get("GET", "/big", "", nil); st != 200 || b != big {
			t.Fatalf("big: %d, %d bytes", st, len(b))
		}
		if st, b := get("GET", "/flushed", "", nil); st != 200 || b != "part one,part two" {
			t.Fatalf("flushed: %d %q", st, b)
		}
		if st, b := get("GET", "/empty", "", nil); st != 204 || b != "" {
			t.Fatalf("empty: %d %q", st, b)
		}
		if st, b := get("POST", "/echo", "Basic abc", []byte(`{"x":1}`)); st != 418 || b != `Basic abc application/json {"x":1}` {
			t.Fatalf("echo: %d %q", st, b)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("15 sequential requests used %d connections, want 1 kept alive", n)
	}
	if st, b := get("GET", "/close", "", nil); st != 200 || b != "bye" {
		t.Fatalf("close: %d %q", st, b)
	}
	if st, _ := get("GET", "/small", "", nil); st != 200 || conns.Load() != 2 {
		t.Fatalf("after Connection: close the next request needs a new connection: %d connections", conns.Load())
	}
	// The server drops idle connections: the next request is retried on a new one.
	ts.CloseClientConnections()
	time.Sleep(20 * time.Millisecond)
	if st, b := get("GET", "/small", "", nil); st != 200 || b != `{"ok":true}` {
		t.Fatalf("after the server closed the idle connection: %d %q", st, b)
	}
}

func TestWireClientTimeout(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(300 * time.Millisecond)
	}))
	defer ts.Close()
	c, _ := newWireClient(ts.URL)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := c.do(ctx, "GET", "/", "", nil, func(int, []byte) { t.Fatal("no answer expected") })
	if err == nil || time.Since(start) > 250*time.Millisecond {
		t.Fatalf("a request past its deadline must fail at the deadline: %v after %v", err, time.Since(start))
	}
}

func TestNewWireClientRefusesBadTargets(t *testing.T) {
	for _, u := range []string{"", "127.0.0.1:8080", "ftp://x", "http://"} {
		if _, err := newWireClient(u); err == nil {
			t.Errorf("%q must be refused", u)
		}
	}
	c, err := newWireClient("https://example.com")
	if err != nil || c.addr != "example.com:443" || c.tls == nil {
		t.Fatalf("https default port: %+v %v", c, err)
	}
}

// frame writes body as an HTTP/1.1 answer, chunked in pieces of chunk bytes (0: with
// Content-Length).
func frame(status int, body []byte, chunk int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "HTTP/1.1 %03d Whatever\r\nX-A: b\r\n", status)
	if chunk <= 0 {
		fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n", len(body))
		b.Write(body)
		return b.Bytes()
	}
	b.WriteString("Transfer-Encoding: chunked\r\n\r\n")
	for len(body) > 0 {
		n := min(chunk, len(body))
		fmt.Fprintf(&b, "%x;ext=1\r\n", n)
		b.Write(body[:n])
		b.WriteString("\r\n")
		body = body[n:]
	}
	b.WriteString("0\r\nTrailer: x\r\n\r\n")
	return b.Bytes()
}

// FuzzReadResponse: whatever the bytes, readResponse returns without panicking; and a
// body framed either way reads back as it was, leaving the next answer on the
// connection untouched.
func FuzzReadResponse(f *testing.F) {
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"), []byte("body"), uint16(200), uint8(3))
	f.Add([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"), []byte{}, uint16(404), uint8(0))
	f.Add([]byte("HTTP/1.0 500 x\r\n\r\nuntil the end"), []byte("\r\n0\r\n"), uint16(503), uint8(1))
	f.Fuzz(func(t *testing.T, raw, body []byte, status uint16, chunk uint8) {
		_, _, _, _ = readResponse(bufio.NewReaderSize(bytes.NewReader(raw), 64), nil)
		st := 200 + int(status)%800
		if st == 204 || st == 304 {
			st = 200
		}
		stream := append(frame(st, body, int(chunk)), frame(201, []byte("next"), 0)...)
		br := bufio.NewReaderSize(bytes.NewReader(stream), 128)
		gotSt, keep, got, err := readResponse(br, []byte("old"))
		if err != nil || gotSt != st || !keep || string(got) != "old"+string(body) {
			t.Fatalf("chunk %d: status %d keep %v body %q err %v", chunk, gotSt, keep, got, err)
		}
		if gotSt, _, got, err := readResponse(br, nil); err != nil || gotSt != 201 || string(got) != "next" {
			t.Fatalf("the next answer: %d %q %v", gotSt, got, err)
		}
	})
}

func TestReadResponseRefusesMalformed(t *testing.T) {
	for _, raw := range []string{
		"", "HTTP/1.1 20 OK\r\n\r\n", "HTTP/1.1 abc OK\r\n\r\n", "SPDY/3 200 OK\r\n\r\n",
		"HTTP/1.1 200 OK\r\nbad header\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabc",
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: " + strconv.Itoa(maxBody+1) + "\r\n\r\n",
		"HTTP/1.1 200 OK\r\n" + strings.Repeat("X: y\r\n", maxHeaders+2) + "\r\n",
	} {
		if st, _, _, err := readResponse(bufio.NewReader(strings.NewReader(raw)), nil); err == nil {
			t.Errorf("%q: accepted with status %d", raw, st)
		}
	}
	// HTTP/1.0 without a length: the body runs to the end, and the connection is not reused.
	st, keep, b, err := readResponse(bufio.NewReader(strings.NewReader("HTTP/1.0 200 OK\r\n\r\nall of it")), nil)
	if err != nil || st != 200 || keep || string(b) != "all of it" {
		t.Fatalf("HTTP/1.0: %d %v %q %v", st, keep, b, err)
	}
}
