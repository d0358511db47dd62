package jetstream

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/bespokesearch/bespoke/internal/stream"
	"github.com/bespokesearch/bespoke/internal/stream/streamtest"
)

func TestEmbeddedConformance(t *testing.T) {
	streamtest.Run(t, func(t *testing.T) streamtest.Backend {
		dir := t.TempDir()
		return streamtest.Backend{
			Open: func(t *testing.T) stream.Stream {
				s, err := Open(context.Background(), Config{Dir: dir, MaxMessageBytes: 2 << 20})
				if err != nil {
					t.Fatal(err)
				}
				return s
			},
			Break: func(t *testing.T, s stream.Stream) {
				s.(*Stream).srv.Shutdown() // the server goes away; the handle stays open
			},
		}
	})
}

// externalURL is the real NATS server of this machine (BESPOKE_TEST_NATS_URL overrides).
// Without it the external tests skip, unless CI is set: then they fail.
func externalURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv("BESPOKE_TEST_NATS_URL")
	if u == "" {
		u = "nats://127.0.0.1:4222"
	}
	nc, err := nats.Connect(u, nats.Timeout(time.Second))
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("NATS with JetStream is required under CI at %s (set BESPOKE_TEST_NATS_URL): %v", u, err)
		}
		t.Skipf("no NATS server at %s (%v): start one with JetStream (nats-server -js) or set BESPOKE_TEST_NATS_URL", u, err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := js.AccountInfo(ctx); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("NATS at %s has no JetStream: %v", u, err)
		}
		t.Skipf("NATS at %s has no JetStream (%v): run nats-server -js", u, err)
	}
	return u
}

func uniqueName(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// deleteStream removes a test stream from the external server.
func deleteStream(t *testing.T, url, name string) {
	nc, err := nats.Connect(url)
	if err != nil {
		t.Logf("cannot connect to delete stream %s: %v", name, err)
		return
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := js.DeleteStream(ctx, name); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Logf("cannot delete test stream %s: %v", name, err)
	}
}

func TestExternalConformance(t *testing.T) {
	url := externalURL(t)
	streamtest.Run(t, func(t *testing.T) streamtest.Backend {
		name := uniqueName("BESPOKE_TEST_")
		t.Cleanup(func() { deleteStream(t, url, name) })
		p := newProxy(t, strings.TrimPrefix(url, "nats://"))
		return streamtest.Backend{
			Open: func(t *testing.T) stream.Stream {
				s, err := Open(context.Background(), Config{
					URL:        "nats://" + p.addr(),
					StreamName: name,
					Subject:    "bespoke.test." + strings.ToLower(name),
					MaxAge:     time.Hour,
				})
				if err != nil {
					t.Fatal(err)
				}
				return s
			},
			Break: func(t *testing.T, s stream.Stream) { p.blackhole() },
		}
	})
}

func TestExternalDisconnectFailsAtOnce(t *testing.T) {
	url := externalURL(t)
	name := uniqueName("BESPOKE_TEST_")
	t.Cleanup(func() { deleteStream(t, url, name) })
	p := newProxy(t, strings.TrimPrefix(url, "nats://"))
	s, err := Open(context.Background(), Config{URL: "nats://" + p.addr(), StreamName: name, Subject: "bespoke.test." + strings.ToLower(name)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if err := s.Publish(ctx, "a", []byte("a")); err != nil {
		t.Fatal(err)
	}
	p.cut() // connections reset, new ones refused: the client knows it is disconnected
	time.Sleep(100 * time.Millisecond)
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	start := time.Now()
	if err := s.Publish(pctx, "b", []byte("b")); err == nil {
		t.Fatal("Publish while disconnected succeeded")
	}
	if el := time.Since(start); el > 500*time.Millisecond {
		t.Fatalf("Publish while disconnected took %s, want an immediate failure", el)
	}
	// Reconnects by itself once the network is back.
	p.restore()
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := s.Publish(ctx, "c", []byte("c"))
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Publish still failing 5 s after the network came back: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestEmbeddedSyncAlwaysAndListen(t *testing.T) {
	s, err := Open(context.Background(), Config{Dir: t.TempDir(), ListenAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !s.srv.JetStreamConfig().SyncAlways {
		t.Fatal("embedded JetStream runs without SyncAlways: publish acks would not mean fsynced")
	}
	if s.MaxMessageBytes() != DefaultMaxMessageBytes {
		t.Fatalf("MaxMessageBytes = %d, want %d", s.MaxMessageBytes(), DefaultMaxMessageBytes)
	}
	if s.Replicas() != 1 {
		t.Fatalf("Replicas = %d, want 1 for an embedded server", s.Replicas())
	}
	u := s.ClientURL()
	if !strings.HasPrefix(u, "nats://127.0.0.1:") {
		t.Fatalf("ClientURL = %q, want a loopback URL", u)
	}
	// Another client (e.g. a lake writer in another process) reaches the same stream by URL.
	if err := s.Publish(context.Background(), "one", []byte("1")); err != nil {
		t.Fatal(err)
	}
	other, err := Open(context.Background(), Config{URL: u})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	info, err := other.Info(context.Background())
	if err != nil || info.Messages != 1 {
		t.Fatalf("Info through the listener = %+v, %v; want 1 message", info, err)
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"no dir", Config{}, "no directory"},
		{"tiny messages", Config{Dir: t.TempDir(), MaxMessageBytes: 10}, "below 1024"},
		{"huge messages", Config{Dir: t.TempDir(), MaxMessageBytes: 100 << 20}, "64 MiB"},
		{"bad replicas", Config{Dir: t.TempDir(), Replicas: 7}, "Replicas"},
		{"bad listen", Config{Dir: t.TempDir(), ListenAddr: "nope"}, "listen address"},
		{"nobody listening", Config{URL: "nats://127.0.0.1:1", ConnectTimeout: 500 * time.Millisecond}, "cannot connect"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(ctx, tc.cfg)
			if err == nil {
				s.Close()
				t.Fatalf("Open(%+v) succeeded, want an error mentioning %q", tc.cfg, tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Open error %q does not mention %q", err, tc.want)
			}
		})
	}
	s, err := Open(ctx, Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, name := range []string{"", "has space", "dot.ted", strings.Repeat("x", 65)} {
		if _, err := s.Consumer(ctx, name, stream.ConsumerOptions{}); err == nil {
			t.Errorf("Consumer(%q) succeeded, want an error", name)
		}
	}
}

func TestRedact(t *testing.T) {
	got := redact("nats://user:secret@h1:4222,nats://h2:4222")
	if strings.Contains(got, "secret") || !strings.Contains(got, "h2:4222") {
		t.Fatalf("redact = %q", got)
	}
}

// proxy forwards TCP to a NATS server and can cut or black-hole the traffic.
type proxy struct {
	t      *testing.T
	ln     net.Listener
	target string
	mode   atomic.Int32 // 0 forward, 1 black hole, 2 refuse
	mu     sync.Mutex
	conns  []net.Conn
}

func newProxy(t *testing.T, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{t: t, ln: ln, target: target}
	go p.serve()
	t.Cleanup(func() {
		ln.Close()
		p.closeAll()
	})
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		if p.mode.Load() == 2 {
			c.Close()
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, up)
		p.mu.Unlock()
		go p.pipe(c, up)
		go p.pipe(up, c)
	}
}

func (p *proxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && p.mode.Load() == 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				dst.Close()
			}
			return
		}
	}
}

func (p *proxy) closeAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *proxy) blackhole() { p.mode.Store(1) }
func (p *proxy) cut()       { p.mode.Store(2); p.closeAll() }
func (p *proxy) restore()   { p.mode.Store(0) }

func TestEmbeddedDirInUse(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(context.Background(), Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s2, err := Open(context.Background(), Config{Dir: dir, ConnectTimeout: 2 * time.Second})
	if err == nil {
		s2.Close()
		t.Fatal("a second embedded server opened the same directory")
	}
	if !strings.Contains(err.Error(), "in use") {
		t.Fatalf("error %q does not say the directory is in use", err)
	}
	// Once the first is closed, the directory can be opened again.
	s.Close()
	s3, err := Open(context.Background(), Config{Dir: dir})
	if err != nil {
		t.Fatalf("reopening after Close: %v", err)
	}
	s3.Close()
}
