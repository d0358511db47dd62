package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bespokesearch/bespoke/internal/profile"
	"github.com/bespokesearch/bespoke/internal/store"
	"github.com/bespokesearch/bespoke/internal/store/cache"
	"github.com/bespokesearch/bespoke/internal/store/redis"
)

const redisAddr = "127.0.0.1:6379"

func needRedis(t *testing.T) {
	t.Helper()
	c, err := net.DialTimeout("tcp", redisAddr, 300*time.Millisecond)
	if err != nil {
		t.Skipf("redis is not running at %s: %v", redisAddr, err)
	}
	c.Close()
}

func uniqueNamespace(t *testing.T) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	ns := "bespoke-test-" + hex.EncodeToString(b[:]) + ":"
	t.Cleanup(func() {
		st, err := redis.Open(redis.Options{Addr: redisAddr, Namespace: ns, ClientCacheTTL: -1})
		if err == nil {
			_ = st.DeletePrefix(context.Background(), []byte("p"))
			_ = st.DeletePrefix(context.Background(), []byte("e"))
			st.Close()
		}
	})
	return ns
}

// putProfiles writes a small real profile for each customer id straight into Redis.
func putProfiles(t *testing.T, ns string, ids ...string) {
	t.Helper()
	st, err := redis.Open(redis.Options{Addr: redisAddr, Namespace: ns, ClientCacheTTL: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, id := range ids {
		p := new(profile.Profile)
		p.Apply(profile.Purchased, profile.Item{ID: "p3", Brand: "Alpine", Category: "boots", Color: "black", Price: 180}, time.Now().Unix())
		b, err := p.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Put(context.Background(), customerKey(id), b); err != nil {
			t.Fatal(err)
		}
	}
}

func newBackendServer(t *testing.T, storeURL string) *httptest.Server {
	t.Helper()
	s, err := New(context.Background(), Config{
		DataDir: t.TempDir(), AdminToken: testAdmin, WriteKeys: []string{testWriteKey}, StoreURL: storeURL,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), SearchDeadline: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(func() { ts.Close(); s.Close() })
	if code, m := do(t, "PUT", ts.URL+"/v1/products", "Bearer "+testAdmin, testCatalog); code != 200 {
		t.Fatalf("PUT products: %d %v", code, m)
	}
	return ts
}

// personalized runs one search for customer and returns its status and personalized flag.
func personalized(t *testing.T, ts *httptest.Server, customer string) (int, bool) {
	t.Helper()
	code, m := do(t, "GET", ts.URL+"/v1/search?q=running&customer_id="+customer, "", "")
	return code, m["personalized"] == true
}

func TestOpenBackendURLs(t *testing.T) {
	o, err := redisOptions("redis://u:pw@10.0.0.1:6380/3?namespace=shop:")
	if err != nil || o.Addr != "10.0.0.1:6380" || o.DB != 3 || o.Username != "u" || o.Password != "pw" || o.Namespace != "shop:" {
		t.Fatalf("redis options: %+v %v", o, err)
	}
	if o, err := redisOptions("redis://127.0.0.1:6379"); err != nil || o.Namespace != "bespoke:" || o.DB != 0 {
		t.Fatalf("default namespace: %+v %v", o, err)
	}
	if _, err := redisOptions("redis://127.0.0.1:6379/x"); err == nil {
		t.Fatal("a non-numeric database must be refused")
	}
	table, d, region, err := dynamoOptions("dynamodb://profiles?endpoint=http://127.0.0.1:8000&region=eu-west-1")
	if err != nil || table != "profiles" || d.Endpoint != "http://127.0.0.1:8000" || region != "eu-west-1" || !d.CreateTable {
		t.Fatalf("dynamodb options: %q %+v %q %v", table, d, region, err)
	}
	if _, _, _, err := dynamoOptions("dynamodb://?endpoint=x"); err == nil {
		t.Fatal("a missing table must be refused")
	}
	if _, err := openBackend(context.Background(), Config{StoreURL: "mongodb://x", DataDir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "unknown --store") {
		t.Fatalf("unknown scheme: %v", err)
	}
}

func TestServeWithRedisStore(t *testing.T) {
	needRedis(t)
	ns := uniqueNamespace(t)
	putProfiles(t, ns, "alice")
	ts := newBackendServer(t, "redis://"+redisAddr+"?namespace="+ns)
	if code, p := personalized(t, ts, "alice"); code != 200 || !p {
		t.Fatalf("a customer with a profile in redis: %d personalized=%v", code, p)
	}
	if code, p := personalized(t, ts, "nobody"); code != 200 || p {
		t.Fatalf("a customer without a profile: %d personalized=%v", code, p)
	}
	// Opt-out writes through to redis and is honoured.
	if code, _ := post(t, ts.URL+"/v1/customers/alice/opt-out", ""); code != 200 {
		t.Fatalf("opt-out: %d", code)
	}
	if _, p := personalized(t, ts, "alice"); p {
		t.Fatal("an opted-out customer must get the non-personalized ranking")
	}
}

// proxy is a TCP proxy to Redis that the test can cut and restore.
type proxy struct {
	t      *testing.T
	addr   string
	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]bool
	closed bool
}

func newProxy(t *testing.T, addr string) *proxy {
	p := &proxy{t: t, addr: addr, conns: map[net.Conn]bool{}}
	t.Cleanup(p.cut)
	return p
}

func (p *proxy) start() {
	p.t.Helper()
	var ln net.Listener
	var err error
	for range 50 { // the port may linger briefly after a cut
		if ln, err = net.Listen("tcp", p.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		p.t.Fatalf("cannot listen on %s: %v", p.addr, err)
	}
	p.mu.Lock()
	p.ln, p.addr, p.closed = ln, ln.Addr().String(), false
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.DialTimeout("tcp", redisAddr, time.Second)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			if p.closed {
				p.mu.Unlock()
				c.Close()
				up.Close()
				return
			}
			p.conns[c], p.conns[up] = true, true
			p.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); up.Close(); c.Close() }()
			go func() { _, _ = io.Copy(c, up); up.Close(); c.Close() }()
		}
	}()
}

// cut closes the listener and every proxied connection.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

func TestRedisDownMidLoadDegradesAndRecovers(t *testing.T) {
	needRedis(t)
	ns := uniqueNamespace(t)
	ids := make([]string, 300)
	for i := range ids {
		ids[i] = "cust" + hex.EncodeToString([]byte{byte(i >> 8), byte(i)})
	}
	putProfiles(t, ns, ids...)
	px := newProxy(t, "127.0.0.1:0")
	px.start()
	ts := newBackendServer(t, "redis://"+px.addr+"?namespace="+ns)

	// A steady load from 4 clients; every answer must be a 200, whatever happens to Redis.
	// Each search asks for a customer not asked before, so that no cache can answer for Redis.
	var next atomic.Int64
	var non200 atomic.Int64
	var phase atomic.Int32 // 0 up, 1 down, 2 recovering
	var pers [3]atomic.Int64
	var total [3]atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				i := int(next.Add(1)-1) % len(ids)
				ph := phase.Load()
				code, p := personalized(t, ts, ids[i])
				if code != 200 {
					non200.Add(1)
				}
				total[ph].Add(1)
				if p {
					pers[ph].Add(1)
				}
				time.Sleep(2 * time.Millisecond)
			}
		})
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				close(stop)
				wg.Wait()
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitFor("personalized answers while redis is up", func() bool { return pers[0].Load() >= 5 })
	px.cut()
	phase.Store(1)
	// Give the client time to notice, then count only answers from the outage itself.
	time.Sleep(300 * time.Millisecond)
	downStart := pers[1].Load()
	totalStart := total[1].Load()
	waitFor("answers during the outage", func() bool { return total[1].Load()-totalStart >= 40 })
	if got := pers[1].Load() - downStart; got != 0 {
		t.Errorf("%d answers were personalized while redis was unreachable for customers never read before", got)
	}
	px.start()
	phase.Store(2)
	recoverStart := time.Now()
	waitFor("personalized answers after redis came back", func() bool { return pers[2].Load() >= 5 })
	t.Logf("redis back → personalized again after %v", time.Since(recoverStart).Round(time.Millisecond))
	close(stop)
	wg.Wait()
	if n := non200.Load(); n != 0 {
		t.Fatalf("%d searches were not answered 200 during the redis outage", n)
	}
	t.Logf("up: %d/%d personalized; down: %d answers; after recovery: %d/%d personalized",
		pers[0].Load(), total[0].Load(), total[1].Load(), pers[2].Load(), total[2].Load())
}

func TestRedisDownAtStartupRecovers(t *testing.T) {
	needRedis(t)
	ns := uniqueNamespace(t)
	putProfiles(t, ns, "bob", "carol")
	// Reserve a free port, and leave nothing listening on it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ts := newBackendServer(t, "redis://"+addr+"?namespace="+ns)
	if code, p := personalized(t, ts, "bob"); code != 200 || p {
		t.Fatalf("with redis unreachable the search must answer 200 non-personalized: %d personalized=%v", code, p)
	}
	px := newProxy(t, addr)
	px.start()
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, p := personalized(t, ts, "carol")
		if code != 200 {
			t.Fatalf("search answered %d", code)
		}
		if p {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the server did not connect to redis within 10 s of it becoming reachable")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestRetryingStoreClosesCleanly(t *testing.T) {
	fail := errors.New("down")
	var calls atomic.Int32
	r := newRetryingStore(func() (store.Store, error) { calls.Add(1); return nil, fail }, 5*time.Millisecond)
	time.Sleep(30 * time.Millisecond)
	if _, err := r.Get(context.Background(), []byte("k")); !errors.Is(err, errBackendDown) || !strings.Contains(err.Error(), "down") {
		t.Fatalf("get before connecting: %v", err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if calls.Load() == 0 {
		t.Fatal("the store never tried to connect")
	}
}

func FuzzStoreURL(f *testing.F) {
	f.Add("redis://u:p@127.0.0.1:6379/2?namespace=x:")
	f.Add("dynamodb://t?endpoint=http://127.0.0.1:8000&region=r")
	f.Add("redis://%zz")
	f.Fuzz(func(t *testing.T, u string) {
		if o, err := redisOptions("redis://" + u); err == nil && (o.Addr == "" || o.DB < 0) {
			t.Fatalf("redis options accepted without an address or with a negative db: %+v", o)
		}
		if table, _, _, err := dynamoOptions("dynamodb://" + u); err == nil && table == "" {
			t.Fatal("dynamodb options accepted without a table")
		}
	})
}

// TestInProcessCacheSeesOtherRedisWriters: a profile that another client (another
// server, the updater on another node) rewrites in Redis is dropped from this server's
// in-process cache by Redis's invalidation message, well before the cache's TTL.
func TestInProcessCacheSeesOtherRedisWriters(t *testing.T) {
	needRedis(t)
	ns := uniqueNamespace(t)
	putProfiles(t, ns, "bob")
	s, err := New(context.Background(), Config{
		DataDir: t.TempDir(), AdminToken: testAdmin, WriteKeys: []string{testWriteKey}, StoreURL: "redis://" + redisAddr + "?namespace=" + ns,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), SearchDeadline: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(func() { ts.Close(); s.Close() })
	if code, m := do(t, "PUT", ts.URL+"/v1/products", "Bearer "+testAdmin, testCatalog); code != 200 {
		t.Fatalf("PUT products: %d %v", code, m)
	}
	if code, p := personalized(t, ts, "bob"); code != 200 || !p {
		t.Fatalf("bob has a profile in redis: %d personalized=%v", code, p)
	}
	c, ok := s.profiles.(*cache.Cache)
	if !ok {
		t.Fatalf("profiles are read through %T, not the in-process cache", s.profiles)
	}
	if c.Stats().Entries == 0 {
		t.Fatal("bob's profile was not cached in process")
	}
	// Another client opts bob out by rewriting his profile directly in Redis.
	other, err := redis.Open(redis.Options{Addr: redisAddr, Namespace: ns, ClientCacheTTL: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	b, err := other.Get(context.Background(), customerKey("bob"))
	if err != nil {
		t.Fatal(err)
	}
	var p profile.Profile
	if err := p.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	p.OptedOut = true
	if b, err = p.MarshalBinary(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := other.Put(context.Background(), customerKey("bob"), b); err != nil {
		t.Fatal(err)
	}
	for {
		_, pers := personalized(t, ts, "bob")
		if !pers {
			break
		}
		if time.Since(start) > 2*time.Second { // the in-process TTL is a minute
			t.Fatal("2 s after another client opted bob out in redis, the server still personalizes from its cache")
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Logf("another client's write reached the in-process cache after %v", time.Since(start).Round(time.Microsecond))
}
