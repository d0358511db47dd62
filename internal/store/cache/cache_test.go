package cache

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/bespokesearch/bespoke/internal/store"
	"github.com/bespokesearch/bespoke/internal/store/pebble"
	"github.com/bespokesearch/bespoke/internal/store/storetest"
)

func openPebble(t testing.TB) *pebble.Store {
	t.Helper()
	s, err := pebble.Open(filepath.Join(t.TempDir(), "store"), pebble.Options{CacheSize: 8 << 20})
	if err != nil {
		t.Fatalf("pebble.Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func newCache(t testing.TB, backend store.Store, opts Options) *Cache {
	t.Helper()
	c, err := New(backend, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestConformanceOverPebble(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return newCache(t, openPebble(t), Options{}) })
}

func TestConformanceOverPebbleTinyCache(t *testing.T) {
	// A cache much smaller than the data: eviction runs all the time, results must not change.
	storetest.Run(t, func(t *testing.T) store.Store {
		return newCache(t, openPebble(t), Options{MaxBytes: 4 << 10, NegativeTTL: -1})
	})
}

func TestNewErrors(t *testing.T) {
	if _, err := New(nil, Options{}); err == nil {
		t.Error("New(nil backend) succeeded")
	}
	if _, err := New(openPebble(t), Options{MaxBytes: -1}); err == nil {
		t.Error("New(MaxBytes -1) succeeded")
	}
}

var ctx = context.Background()

func get(t *testing.T, s store.Store, k string) (string, bool) {
	t.Helper()
	v, err := s.Get(ctx, []byte(k))
	if errors.Is(err, store.ErrNotFound) {
		return "", false
	}
	if err != nil {
		t.Fatalf("Get(%q): %v", k, err)
	}
	return string(v), true
}

func put(t *testing.T, s store.Store, k, v string) {
	t.Helper()
	if err := s.Put(ctx, []byte(k), []byte(v)); err != nil {
		t.Fatalf("Put(%q): %v", k, err)
	}
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestServesFromCacheUntilInvalidated(t *testing.T) {
	be := openPebble(t)
	c := newCache(t, be, Options{})
	put(t, c, "p/1/alice", "v1")
	if v, _ := get(t, c, "p/1/alice"); v != "v1" {
		t.Fatalf("Get = %q", v)
	}
	put(t, be, "p/1/alice", "v2") // a write the cache does not see
	if v, _ := get(t, c, "p/1/alice"); v != "v1" {
		t.Fatalf("Get after a backend-only write = %q, want the cached v1", v)
	}
	st := c.Stats()
	if st.Hits == 0 || st.Entries == 0 {
		t.Fatalf("Stats after a hit = %+v", st)
	}
	c.Invalidate([]byte("p/1/alice"))
	if v, _ := get(t, c, "p/1/alice"); v != "v2" {
		t.Fatalf("Get after Invalidate = %q, want v2", v)
	}
	// InvalidatePrefix.
	put(t, be, "p/1/alice", "v3")
	put(t, c, "q/1/alice", "q1")
	get(t, c, "q/1/alice")
	put(t, be, "q/1/alice", "q2")
	c.InvalidatePrefix([]byte("p/1/"))
	if v, _ := get(t, c, "p/1/alice"); v != "v3" {
		t.Fatalf("Get after InvalidatePrefix = %q, want v3", v)
	}
	if v, _ := get(t, c, "q/1/alice"); v != "q1" {
		t.Fatalf("InvalidatePrefix(p/1/) dropped q/1/alice: %q", v)
	}
	c.InvalidateAll()
	if v, _ := get(t, c, "q/1/alice"); v != "q2" {
		t.Fatalf("Get after InvalidateAll = %q, want q2", v)
	}
}

func TestNegativeCaching(t *testing.T) {
	be := openPebble(t)
	c := newCache(t, be, Options{NegativeTTL: 150 * time.Millisecond})
	if _, ok := get(t, c, "rt/new"); ok {
		t.Fatal("absent key found")
	}
	vs, err := c.MultiGet(ctx, [][]byte{[]byte("rt/new2")})
	if err != nil || vs[0] != nil {
		t.Fatalf("MultiGet = %q, %v", vs, err)
	}
	put(t, be, "rt/new", "x")
	put(t, be, "rt/new2", "y")
	start := time.Now()
	if _, ok := get(t, c, "rt/new"); ok && time.Since(start) < 100*time.Millisecond {
		t.Fatal("not-found answer was not cached")
	}
	eventually(t, 2*time.Second, "negative entry expires", func() bool { v, ok := get(t, c, "rt/new"); return ok && v == "x" })
	eventually(t, 2*time.Second, "negative entry from MultiGet expires", func() bool { v, ok := get(t, c, "rt/new2"); return ok && v == "y" })
	// A write through the cache ends the negative entry at once.
	if _, ok := get(t, c, "rt/other"); ok {
		t.Fatal("absent key found")
	}
	put(t, c, "rt/other", "z")
	if v, ok := get(t, c, "rt/other"); !ok || v != "z" {
		t.Fatalf("Get after Put through the cache = %q, %v", v, ok)
	}
}

func TestNegativeCachingDisabled(t *testing.T) {
	be := openPebble(t)
	c := newCache(t, be, Options{NegativeTTL: -1})
	if _, ok := get(t, c, "k"); ok {
		t.Fatal("absent key found")
	}
	if vs, err := c.MultiGet(ctx, [][]byte{[]byte("k2")}); err != nil || vs[0] != nil {
		t.Fatalf("MultiGet = %q, %v", vs, err)
	}
	put(t, be, "k", "x")
	put(t, be, "k2", "y")
	if v, ok := get(t, c, "k"); !ok || v != "x" {
		t.Fatalf("Get = %q, %v; want x (nothing cached for absent keys)", v, ok)
	}
	if vs, err := c.MultiGet(ctx, [][]byte{[]byte("k2")}); err != nil || string(vs[0]) != "y" {
		t.Fatalf("MultiGet = %q, %v", vs, err)
	}
}

func TestTTL(t *testing.T) {
	be := openPebble(t)
	c := newCache(t, be, Options{TTL: 100 * time.Millisecond})
	put(t, c, "k", "old")
	get(t, c, "k")
	put(t, be, "k", "new")
	eventually(t, 2*time.Second, "entry expires after TTL", func() bool { v, _ := get(t, c, "k"); return v == "new" })
}

func TestWeightBound(t *testing.T) {
	be := openPebble(t)
	const maxBytes = 64 << 10
	c := newCache(t, be, Options{MaxBytes: maxBytes})
	val := make([]byte, 1000)
	for i := 0; i < 500; i++ {
		k := "w/" + strconv.Itoa(i)
		if err := c.Put(ctx, []byte(k), val); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Get(ctx, []byte(k)); err != nil {
			t.Fatal(err)
		}
	}
	c.c.CleanUp()
	st := c.Stats()
	if st.WeightBytes > maxBytes || st.Entries == 0 || st.Entries > maxBytes/1000 {
		t.Fatalf("cache of %d bytes holds %d entries weighing %d bytes", maxBytes, st.Entries, st.WeightBytes)
	}
}

func TestMultiGetMixesHitsAndMisses(t *testing.T) {
	be := openPebble(t)
	c := newCache(t, be, Options{})
	put(t, c, "a", "1")
	put(t, c, "b", "2")
	get(t, c, "a") // cached
	put(t, be, "a", "1-backend")
	vs, err := c.MultiGet(ctx, [][]byte{[]byte("b"), []byte("a"), []byte("zz"), []byte("b")})
	if err != nil {
		t.Fatal(err)
	}
	if string(vs[0]) != "2" || string(vs[1]) != "1" || vs[2] != nil || string(vs[3]) != "2" {
		t.Fatalf("MultiGet = %q, want [2 1(cached) nil 2]", vs)
	}
	// b is cached now too.
	put(t, be, "b", "2-backend")
	if v, _ := get(t, c, "b"); v != "2" {
		t.Fatalf("Get(b) = %q, want the value cached by MultiGet", v)
	}
}

// gate is a backend that can hold a Get after it has read the backend, to force the race
// between a load and a write.
type gate struct {
	store.Store
	mu      sync.Mutex
	armed   bool
	reached chan struct{}
	release chan struct{}
}

func (g *gate) arm() {
	g.mu.Lock()
	g.armed = true
	g.reached = make(chan struct{})
	g.release = make(chan struct{})
	g.mu.Unlock()
}

func (g *gate) Get(ctx context.Context, key []byte) ([]byte, error) {
	v, err := g.Store.Get(ctx, key)
	g.mu.Lock()
	armed := g.armed
	g.armed = false
	reached, release := g.reached, g.release
	g.mu.Unlock()
	if armed {
		close(reached)
		<-release
	}
	return v, err
}

func TestLoadRacingPutDoesNotCacheStale(t *testing.T) {
	be := &gate{Store: openPebble(t)}
	c := newCache(t, be, Options{})
	put(t, c, "k", "old")
	be.arm()
	done := make(chan string)
	go func() { v, _ := c.Get(ctx, []byte("k")); done <- string(v) }()
	<-be.reached // the load has read "old" and is held
	put(t, c, "k", "new")
	close(be.release)
	if v := <-done; v != "new" && v != "old" {
		t.Fatalf("racing Get = %q", v)
	}
	if v, _ := get(t, c, "k"); v != "new" {
		t.Fatalf("Get after the racing Put = %q, want new (a stale load was cached)", v)
	}
}

func TestLoadRacingDeletePrefixDoesNotResurrect(t *testing.T) {
	for _, missing := range []bool{false, true} {
		t.Run(fmt.Sprintf("absentBefore=%v", missing), func(t *testing.T) {
			be := &gate{Store: openPebble(t)}
			c := newCache(t, be, Options{})
			if !missing {
				put(t, c, "p/1/alice", "old")
			}
			be.arm()
			done := make(chan struct{})
			go func() { _, _ = c.Get(ctx, []byte("p/1/alice")); close(done) }()
			<-be.reached
			if missing {
				put(t, be, "p/1/alice", "written-after-the-read")
			}
			if err := c.DeletePrefix(ctx, []byte("p/1/")); err != nil {
				t.Fatal(err)
			}
			close(be.release)
			<-done
			if v, ok := get(t, c, "p/1/alice"); ok {
				t.Fatalf("Get after DeletePrefix = %q: an in-flight load resurrected a deleted key", v)
			}
		})
	}
}

func TestClosedCacheDoesNotServeHits(t *testing.T) {
	c := newCache(t, openPebble(t), Options{})
	put(t, c, "k", "v")
	get(t, c, "k")
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(ctx, []byte("k")); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("Get of a cached key after Close = %v, want ErrClosed", err)
	}
}

func TestConcurrentInvalidation(t *testing.T) {
	// Readers, writers and prefix deletes at once; afterwards the cache must agree with the
	// backend for every key.
	be := openPebble(t)
	c := newCache(t, be, Options{})
	const keys = 32
	var wg sync.WaitGroup
	for w := 0; w < 3; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 9))
			for i := 0; i < 300; i++ {
				k := fmt.Sprintf("c/%d/%d", rng.IntN(4), rng.IntN(keys))
				switch rng.IntN(10) {
				case 0:
					_ = c.DeletePrefix(ctx, []byte(fmt.Sprintf("c/%d/", rng.IntN(4))))
				case 1, 2:
					_ = c.Put(ctx, []byte(k), []byte(fmt.Sprintf("%d-%d", w, i)))
				case 3:
					_ = c.Delete(ctx, []byte(k))
				default:
					_, _ = c.Get(ctx, []byte(k))
				}
			}
		}(w)
	}
	wg.Wait()
	for p := 0; p < 4; p++ {
		for k := 0; k < keys; k++ {
			key := []byte(fmt.Sprintf("c/%d/%d", p, k))
			want, werr := be.Get(ctx, key)
			got, gerr := c.Get(ctx, key)
			if string(want) != string(got) || errors.Is(werr, store.ErrNotFound) != errors.Is(gerr, store.ErrNotFound) {
				t.Fatalf("%s: cache says %q (%v), backend says %q (%v)", key, got, gerr, want, werr)
			}
		}
	}
}

func BenchmarkGetHit(b *testing.B) {
	be := openPebble(b)
	c := newCache(b, be, Options{MaxBytes: 256 << 20})
	const n = 100_000
	val := make([]byte, 300)
	batch := make([]store.KV, 0, 1000)
	keys := make([][]byte, n)
	for i := 0; i < n; i++ {
		keys[i] = []byte("p/1/c" + strconv.Itoa(i))
		batch = append(batch, store.KV{Key: keys[i], Value: val})
		if len(batch) == cap(batch) {
			if err := c.PutBatch(ctx, batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	for _, k := range keys {
		if _, err := c.Get(ctx, k); err != nil {
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
		if _, err := c.Get(ctx, keys[order[i&4095]]); err != nil {
			b.Fatal(err)
		}
	}
}
