package pebble

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bespokesearch/bespoke/internal/store"
	"github.com/bespokesearch/bespoke/internal/store/storetest"
)

func open(t testing.TB) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "store"), Options{CacheSize: 8 << 20})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return open(t) })
}

func TestReopenKeepsData(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	s, err := Open(dir, Options{Sync: true, Zstd: true})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	ctx := context.Background()
	if err := s.Put(ctx, []byte("k"), []byte("v")); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if err := s.Flush(); err != nil { // an sstable written with Zstandard
		t.Fatalf("Flush: %v", err)
	}
	if n, err := s.DiskUsage(); err != nil || n == 0 {
		t.Fatalf("DiskUsage = %d, %v", n, err)
	}
	if err := s.DeletePrefix(ctx, []byte("x")); err != nil {
		t.Fatalf("DeletePrefix: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	s, err = Open(dir, Options{})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	v, err := s.Get(ctx, []byte("k"))
	if err != nil || string(v) != "v" {
		t.Fatalf("Get after reopen = %q, %v", v, err)
	}
}

func TestOpenErrors(t *testing.T) {
	if _, err := Open("", Options{}); err == nil {
		t.Fatal("Open(\"\") succeeded")
	}
	f := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(f, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(f, Options{}); err == nil || !strings.Contains(err.Error(), f) {
		t.Fatalf("Open(a regular file) = %v, want an error naming the path", err)
	}
}

func TestClosedNotPanicking(t *testing.T) {
	s := open(t)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DiskUsage(); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("DiskUsage after Close = %v", err)
	}
	if err := s.Flush(); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("Flush after Close = %v", err)
	}
}

func profileValue(rng *rand.Rand, buf []byte) []byte {
	n := 150 + rng.IntN(101) // 150–250 B, the size of an encoded profile
	buf = buf[:0]
	for len(buf) < n {
		// Profiles are mostly small varints and ids: give the compressor realistic, not random, bytes.
		buf = append(buf, byte(rng.IntN(64)), byte(rng.IntN(8)), 'a'+byte(rng.IntN(26)))
	}
	return buf[:n]
}

func profileKey(buf []byte, i int) []byte {
	buf = append(buf[:0], "p/1/c"...)
	return strconv.AppendInt(buf, int64(i), 10)
}

// BenchmarkGetHit reads random keys of 1e5 × 300 B values whose blocks are cached.
func BenchmarkGetHit(b *testing.B) {
	const n = 100_000
	s, err := Open(filepath.Join(b.TempDir(), "store"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 1))
	val := make([]byte, 300)
	batch := make([]store.KV, 0, 1000)
	for i := 0; i < n; i++ {
		for j := range val {
			val[j] = byte(rng.UintN(256))
		}
		batch = append(batch, store.KV{Key: profileKey(nil, i), Value: append([]byte(nil), val...)})
		if len(batch) == cap(batch) {
			if err := s.PutBatch(ctx, batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	if err := s.Flush(); err != nil {
		b.Fatal(err)
	}
	keys := make([][]byte, 4096)
	for i := range keys {
		keys[i] = profileKey(nil, rng.IntN(n))
	}
	for _, k := range keys { // warm the block cache
		if _, err := s.Get(ctx, k); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := s.Get(ctx, keys[i&4095]); err != nil {
			b.Fatal(err)
		}
	}
}

// TestMemoryFigure measures on-disk size and RSS for N profile-sized values. It is skipped
// unless BESPOKE_STORE_MEMTEST=N is set, e.g.
//
//	BESPOKE_STORE_MEMTEST=1000000 go test -run TestMemoryFigure -v ./internal/store/pebble/
//
// BESPOKE_STORE_ZSTD=1 switches to Zstandard blocks; BESPOKE_STORE_CACHE_MB sets the block cache.
func TestMemoryFigure(t *testing.T) {
	nStr := os.Getenv("BESPOKE_STORE_MEMTEST")
	if nStr == "" {
		t.Skip("set BESPOKE_STORE_MEMTEST=<number of profiles> to measure disk and memory per profile")
	}
	n, err := strconv.Atoi(nStr)
	if err != nil || n <= 0 {
		t.Fatalf("BESPOKE_STORE_MEMTEST=%q is not a positive number", nStr)
	}
	rssBefore := readStatusKiB(t, "VmRSS")
	opts := Options{Zstd: os.Getenv("BESPOKE_STORE_ZSTD") != ""}
	if mb, err := strconv.Atoi(os.Getenv("BESPOKE_STORE_CACHE_MB")); err == nil {
		opts.CacheSize = int64(mb) << 20
	}
	t.Logf("options: %+v", opts)
	s, err := Open(filepath.Join(t.TempDir(), "store"), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(7, 7))
	start := time.Now()
	var rawBytes int64
	batch := make([]store.KV, 0, 1000)
	for i := 0; i < n; i++ {
		k := profileKey(nil, i)
		v := profileValue(rng, make([]byte, 0, 256))
		rawBytes += int64(len(k) + len(v))
		batch = append(batch, store.KV{Key: k, Value: v})
		if len(batch) == cap(batch) || i == n-1 {
			if err := s.PutBatch(ctx, batch); err != nil {
				t.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	load := time.Since(start)
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	// Read a random sample to bring the serving working set (block cache) in.
	start = time.Now()
	reads := min(n, 200_000)
	for i := 0; i < reads; i++ {
		if _, err := s.Get(ctx, profileKey(nil, rng.IntN(n))); err != nil {
			t.Fatal(err)
		}
	}
	readDur := time.Since(start)
	disk, err := s.DiskUsage()
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rss := readStatusKiB(t, "VmRSS")
	hwm := readStatusKiB(t, "VmHWM")
	perM := func(bytes float64) float64 { return bytes / float64(n) * 1e6 / (1 << 30) }
	t.Logf("profiles: %d, raw key+value bytes: %.1f MiB (%.0f B/profile)", n, float64(rawBytes)/(1<<20), float64(rawBytes)/float64(n))
	t.Logf("load: %v (%.0f puts/s); %d random gets: %v (%.1f µs/get)", load.Round(time.Millisecond), float64(n)/load.Seconds(), reads, readDur.Round(time.Millisecond), float64(readDur.Microseconds())/float64(reads))
	t.Logf("on disk: %.1f MiB = %.3f GiB per 1M profiles", float64(disk)/(1<<20), perM(float64(disk)))
	t.Logf("RSS: %.1f MiB (before open %.1f MiB, peak %.1f MiB); Go heap in use %.1f MiB; RSS growth = %.3f GiB per 1M profiles",
		float64(rss)/1024, float64(rssBefore)/1024, float64(hwm)/1024, float64(ms.HeapInuse)/(1<<20), perM(float64(rss-rssBefore)*1024))
}

func readStatusKiB(t *testing.T, field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skipf("cannot read /proc/self/status: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			var kib int64
			if _, err := fmt.Sscanf(strings.TrimSpace(rest), "%d kB", &kib); err != nil {
				t.Fatalf("cannot parse %q: %v", line, err)
			}
			return kib
		}
	}
	t.Fatalf("no %s in /proc/self/status", field)
	return 0
}
