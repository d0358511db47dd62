package redis

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bespokesearch/bespoke/internal/store"
	"github.com/bespokesearch/bespoke/internal/store/cache"
	"github.com/bespokesearch/bespoke/internal/store/storetest"
)

// addr is the real server the tests use (BESPOKE_TEST_REDIS overrides it).
func addr() string {
	if a := os.Getenv("BESPOKE_TEST_REDIS"); a != "" {
		return a
	}
	return DefaultAddr
}

var runID = strconv.FormatInt(time.Now().UnixNano(), 36) + "-" + strconv.Itoa(os.Getpid())
var nsSeq atomic.Int64

// requireRedis skips (or, under CI, fails) when the server is unreachable.
func requireRedis(t testing.TB) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr(), time.Second)
	if err == nil {
		_ = c.Close()
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("redis at %s is unreachable under CI: %v", addr(), err)
	}
	t.Skipf("redis at %s is unreachable (%v); start redis-server to run these tests", addr(), err)
}

// fresh returns a namespace no other test uses and removes its keys at the end.
func fresh(t testing.TB) string {
	t.Helper()
	ns := fmt.Sprintf("bespoke-test:%s:%d:", runID, nsSeq.Add(1))
	t.Cleanup(func() {
		c, err := Open(Options{Addr: addr()})
		if err != nil {
			t.Errorf("cleanup: %v", err)
			return
		}
		defer c.Close()
		if err := c.DeletePrefix(context.Background(), []byte(ns)); err != nil {
			t.Errorf("cleanup of %q: %v", ns, err)
		}
	})
	return ns
}

func open(t testing.TB, opts Options) *Store {
	t.Helper()
	if opts.Addr == "" {
		opts.Addr = addr()
	}
	s, err := Open(opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	requireRedis(t)
	storetest.Run(t, func(t *testing.T) store.Store { return open(t, Options{Namespace: fresh(t)}) })
}

func TestConformanceWithoutClientCache(t *testing.T) {
	requireRedis(t)
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(t, Options{Namespace: fresh(t), ClientCacheTTL: -1})
	})
}

func TestNamespacesAreSeparate(t *testing.T) {
	requireRedis(t)
	a := open(t, Options{Namespace: fresh(t)})
	b := open(t, Options{Namespace: fresh(t)})
	ctx := context.Background()
	if err := a.Put(ctx, []byte("k"), []byte("a")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Get(ctx, []byte("k")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("namespace b sees a's key: %v", err)
	}
	if err := b.DeletePrefix(ctx, []byte("k")); err != nil {
		t.Fatal(err)
	}
	if v, err := a.Get(ctx, []byte("k")); err != nil || string(v) != "a" {
		t.Fatalf("DeletePrefix in namespace b removed a's key: %q, %v", v, err)
	}
}

// TestClientSideCacheInvalidation: A reads a key (now cached locally), B writes it, and A sees the
// new value shortly after, because the server sends A an invalidation.
func TestClientSideCacheInvalidation(t *testing.T) {
	requireRedis(t)
	ns := fresh(t)
	var invalidated sync.Map
	a := open(t, Options{Namespace: ns, ClientCacheTTL: time.Minute, OnInvalidate: func(k []byte) {
		invalidated.Store(string(k), true)
	}})
	b := open(t, Options{Namespace: ns})
	ctx := context.Background()
	key := []byte("p/1/alice")
	if err := b.Put(ctx, key, []byte("v1")); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if v, err := a.Get(ctx, key); err != nil || string(v) != "v1" {
			t.Fatalf("A Get = %q, %v", v, err)
		}
	}
	if st := a.Stats(); st.Hits < 2 {
		t.Fatalf("repeated reads were not served by the client-side cache: %+v", st)
	}
	// MultiGet of a cached key is a cache hit too.
	before := a.Stats().Hits
	if vs, err := a.MultiGet(ctx, [][]byte{key}); err != nil || string(vs[0]) != "v1" {
		t.Fatalf("A MultiGet = %q, %v", vs, err)
	}
	if a.Stats().Hits != before+1 {
		t.Fatalf("MultiGet of a cached key did not hit the client-side cache: %+v", a.Stats())
	}
	start := time.Now()
	if err := b.Put(ctx, key, []byte("v2")); err != nil {
		t.Fatal(err)
	}
	deadline := start.Add(time.Second)
	for {
		v, err := a.Get(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if string(v) == "v2" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("A still reads %q 1 s after B wrote v2", v)
		}
		time.Sleep(time.Millisecond)
	}
	t.Logf("A saw B's write after %v", time.Since(start))
	if _, ok := invalidated.Load("p/1/alice"); !ok {
		t.Fatalf("OnInvalidate was not called with the key")
	}
	// Delete by B is seen too.
	if _, err := a.Get(ctx, key); err != nil {
		t.Fatal(err)
	}
	if err := b.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(time.Second)
	for {
		_, err := a.Get(ctx, key)
		if errors.Is(err, store.ErrNotFound) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("A still reads the key 1 s after B deleted it (%v)", err)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestUnreachableFailsPromptly(t *testing.T) {
	// A port with nothing listening.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().String()
	_ = l.Close()
	start := time.Now()
	_, err = Open(Options{Addr: dead, DialTimeout: 100 * time.Millisecond})
	if err == nil {
		t.Fatal("Open of a closed port succeeded")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Open of a closed port took %v", d)
	}
}

// proxy forwards TCP connections to Redis and can be cut and restored, to simulate Redis going
// down and coming back while a client is connected.
type proxy struct {
	t      *testing.T
	addr   string
	mu     sync.Mutex
	l      net.Listener
	conns  []net.Conn
	target string
}

func newProxy(t *testing.T, target string) *proxy {
	p := &proxy{t: t, target: target}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = l.Addr().String()
	p.serve(l)
	t.Cleanup(p.down)
	return p
}

func (p *proxy) serve(l net.Listener) {
	p.mu.Lock()
	p.l = l
	p.mu.Unlock()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			u, err := net.DialTimeout("tcp", p.target, time.Second)
			if err != nil {
				_ = c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(u, c); _ = u.Close() }()
			go func() { _, _ = io.Copy(c, u); _ = c.Close() }()
		}
	}()
}

// down closes the listener and every forwarded connection.
func (p *proxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.l != nil {
		_ = p.l.Close()
		p.l = nil
	}
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
}

// up listens again on the same address.
func (p *proxy) up() {
	var l net.Listener
	var err error
	for i := 0; i < 50; i++ {
		if l, err = net.Listen("tcp", p.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		p.t.Fatalf("cannot listen on %s again: %v", p.addr, err)
	}
	p.serve(l)
}

func TestDownAndRecover(t *testing.T) {
	requireRedis(t)
	p := newProxy(t, addr())
	ns := fresh(t)
	s := open(t, Options{Addr: p.addr, Namespace: ns, DialTimeout: 100 * time.Millisecond, OpTimeout: 300 * time.Millisecond})
	ctx := context.Background()
	if err := s.Put(ctx, []byte("k"), []byte("v")); err != nil {
		t.Fatal(err)
	}
	if v, err := s.Get(ctx, []byte("k")); err != nil || string(v) != "v" {
		t.Fatalf("Get = %q, %v", v, err)
	}
	p.down()
	// A value cached client-side may still be served in the instant before the client notices
	// the lost connection (it was valid then); reads of keys not cached must fail.
	// With a ctx deadline: the error comes by the deadline.
	for _, op := range []string{"Get", "Put", "MultiGet"} {
		cctx, cancel := context.WithTimeout(ctx, 150*time.Millisecond)
		start := time.Now()
		var err error
		switch op {
		case "Get":
			_, err = s.Get(cctx, []byte("not-cached"))
		case "Put":
			err = s.Put(cctx, []byte("k"), []byte("v2"))
		case "MultiGet":
			_, err = s.MultiGet(cctx, [][]byte{[]byte("k"), []byte("other")}) // "other" is not cached
		}
		cancel()
		d := time.Since(start)
		if err == nil {
			t.Fatalf("%s succeeded with the server down", op)
		}
		if errors.Is(err, store.ErrNotFound) {
			t.Fatalf("%s with the server down returned ErrNotFound; want an error the caller can tell apart", op)
		}
		if d > time.Second {
			t.Fatalf("%s with the server down took %v with a 150 ms deadline", op, d)
		}
		t.Logf("%s with the server down: %v after %v", op, err, d)
	}
	// Without a ctx deadline: bounded by OpTimeout.
	start := time.Now()
	if _, err := s.Get(ctx, []byte("not-cached-2")); err == nil {
		t.Fatal("Get succeeded with the server down")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Get without a deadline took %v with OpTimeout 300 ms", d)
	}
	p.up()
	deadline := time.Now().Add(5 * time.Second)
	start = time.Now()
	for {
		cctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		v, err := s.Get(cctx, []byte("k"))
		cancel()
		if err == nil {
			if string(v) != "v" {
				t.Fatalf("Get after recovery = %q", v)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no recovery 5 s after the server came back: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("recovered %v after the server came back", time.Since(start))
	if err := s.Put(ctx, []byte("k"), []byte("after")); err != nil {
		t.Fatalf("Put after recovery: %v", err)
	}
}

func TestGlobEscape(t *testing.T) {
	if got := globEscape(`a*b?[c]\d`); got != `a\*b\?\[c\]\\d` {
		t.Fatalf("globEscape = %q", got)
	}
}

func benchStore(b *testing.B, ttl time.Duration) {
	requireRedis(b)
	s := open(b, Options{Namespace: fresh(b), ClientCacheTTL: ttl})
	// Serving calls carry a deadline (the request budget); without one each call would also pay
	// for the OpTimeout context.
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	const n = 1000
	val := make([]byte, 300)
	keys := make([][]byte, n)
	kvs := make([]store.KV, n)
	for i := range keys {
		keys[i] = []byte("p/1/c" + strconv.Itoa(i))
		kvs[i] = store.KV{Key: keys[i], Value: val}
	}
	if err := s.PutBatch(ctx, kvs); err != nil {
		b.Fatal(err)
	}
	for _, k := range keys { // fill the client-side cache
		if _, err := s.Get(ctx, k); err != nil {
			b.Fatal(err)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	order := make([]int, 4096)
	for i := range order {
		order[i] = rng.IntN(n)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := s.Get(ctx, keys[order[i&4095]]); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	st := s.Stats()
	b.ReportMetric(float64(st.Hits)/float64(st.Hits+st.Misses), "hit-ratio")
}

// BenchmarkGet: every read goes to the server (client-side caching off).
func BenchmarkGet(b *testing.B) { benchStore(b, -1) }

// BenchmarkGetClientCacheHit: reads answered by the client-side cache.
func BenchmarkGetClientCacheHit(b *testing.B) { benchStore(b, time.Minute) }

// TestOtterCacheInFrontSeesOtherWriters: an in-process cache over Redis, wired to the server's
// invalidations, drops a key that another client writes.
func TestOtterCacheInFrontSeesOtherWriters(t *testing.T) {
	requireRedis(t)
	ns := fresh(t)
	var c atomic.Pointer[cache.Cache]
	rs := open(t, Options{Namespace: ns, OnInvalidate: func(k []byte) {
		if cc := c.Load(); cc != nil {
			cc.HandleInvalidation(k)
		}
	}})
	cc, err := cache.New(rs, cache.Options{TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	c.Store(cc)
	other := open(t, Options{Namespace: ns})
	ctx := context.Background()
	key := []byte("rt/alice")
	if err := other.Put(ctx, key, []byte("v1")); err != nil {
		t.Fatal(err)
	}
	if v, err := cc.Get(ctx, key); err != nil || string(v) != "v1" {
		t.Fatalf("Get = %q, %v", v, err)
	}
	if cc.Stats().Entries == 0 {
		t.Fatal("value was not cached in process")
	}
	start := time.Now()
	if err := other.Put(ctx, key, []byte("v2")); err != nil {
		t.Fatal(err)
	}
	for {
		v, err := cc.Get(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if string(v) == "v2" {
			break
		}
		if time.Since(start) > time.Second {
			t.Fatalf("in-process cache still serves %q 1 s after another client wrote v2", v)
		}
		time.Sleep(time.Millisecond)
	}
	t.Logf("in-process cache saw the other client's write after %v", time.Since(start))
}
