package bench

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bespokesearch/bespoke/internal/profile"
	"github.com/bespokesearch/bespoke/internal/store/pebble"
)

func TestFillProfiles(t *testing.T) {
	st, err := pebble.Open(t.TempDir(), pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	items := []profile.Item{
		{ID: "p1", Brand: "Nimbus", Category: "running", Color: "black", Price: 120, SizeSystem: 1},
		{ID: "p2", Brand: "Zephyr", Category: "boots", Color: "white", Price: 60},
		{ID: "p3", Brand: "Alpine", Category: "jackets", Color: "red", Price: 180, SizeSystem: 2},
	}
	ctx := context.Background()
	n := 1500
	bytes, err := FillProfiles(ctx, st, items, n, 1)
	if err != nil {
		t.Fatal(err)
	}
	if bytes < int64(n)*10 {
		t.Fatalf("%d profiles took %d bytes: too small to be real profiles", n, bytes)
	}
	for _, i := range []int{0, 777, n - 1} {
		b, err := st.Get(ctx, []byte("pu/c"+strconv.Itoa(i)))
		if err != nil {
			t.Fatalf("profile %d: %v", i, err)
		}
		var p profile.Profile
		if err := p.UnmarshalBinary(b); err != nil {
			t.Fatalf("profile %d does not decode: %v", i, err)
		}
		if p.Events < 5 || len(p.Facets[profile.Brand]) == 0 || len(p.Recent) == 0 {
			t.Fatalf("profile %d is empty-ish: %+v", i, p)
		}
	}
	if _, err := st.Get(ctx, []byte("pu/c"+strconv.Itoa(n))); err == nil {
		t.Fatalf("profile %d should not exist", n)
	}
	if _, err := FillProfiles(ctx, st, nil, 1, 1); err == nil {
		t.Fatal("no items must be an error")
	}
}

// TestFillProfilesTool fills the online store of a data directory for load runs:
//
//	BESPOKE_FILL_DATA=/tmp/data BESPOKE_FILL_WORLD=/tmp/world BESPOKE_FILL_N=1000000 \
//	  go test -run TestFillProfilesTool -v -timeout 30m ./internal/bench
//
// Run it before `bespoke serve --data /tmp/data` (Pebble is single-process).
func TestFillProfilesTool(t *testing.T) {
	data, world := os.Getenv("BESPOKE_FILL_DATA"), os.Getenv("BESPOKE_FILL_WORLD")
	if data == "" || world == "" {
		t.Skip("set BESPOKE_FILL_DATA and BESPOKE_FILL_WORLD (and BESPOKE_FILL_N) to fill a data directory with profiles")
	}
	n, err := strconv.Atoi(os.Getenv("BESPOKE_FILL_N"))
	if err != nil || n <= 0 {
		n = 1_000_000
	}
	items, err := CatalogItems(world)
	if err != nil {
		t.Fatal(err)
	}
	st, err := pebble.Open(filepath.Join(data, "store"), pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	bytes, err := FillProfiles(context.Background(), st, items, n, 42)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Flush(); err != nil {
		t.Fatal(err)
	}
	disk, _ := st.DiskUsage()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d profiles from %d catalog items in %s: %d value bytes (%.0f B/profile), pebble disk %d bytes (%.1f MiB)",
		n, len(items), time.Since(start).Round(time.Millisecond), bytes, float64(bytes)/float64(n), disk, float64(disk)/(1<<20))
}

// TestStoreMemoryTool opens a filled store (see TestFillProfilesTool), reads every
// profile once in random order, and reports the process's resident memory before and after:
//
//	BESPOKE_FILL_DATA=/tmp/data BESPOKE_FILL_N=1000000 go test -run TestStoreMemoryTool -v ./internal/bench
func TestStoreMemoryTool(t *testing.T) {
	data := os.Getenv("BESPOKE_FILL_DATA")
	if data == "" || os.Getenv("BESPOKE_FILL_WORLD") != "" {
		t.Skip("set BESPOKE_FILL_DATA (alone) to measure the memory of a filled store")
	}
	n, err := strconv.Atoi(os.Getenv("BESPOKE_FILL_N"))
	if err != nil || n <= 0 {
		n = 1_000_000
	}
	before := rssKiB(t)
	st, err := pebble.Open(filepath.Join(data, "store"), pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	disk, _ := st.DiskUsage()
	ctx := context.Background()
	start := time.Now()
	r := rand.New(rand.NewPCG(1, 2))
	found := 0
	for _, i := range r.Perm(n) {
		if _, err := st.Get(ctx, []byte("pu/c"+strconv.Itoa(i))); err == nil {
			found++
		}
	}
	took := time.Since(start)
	after := rssKiB(t)
	if found != n {
		t.Fatalf("found %d of %d profiles", found, n)
	}
	t.Logf("%d profiles: disk %.1f MiB; RSS %.1f MiB before open, %.1f MiB after reading all (Δ %.1f MiB, pebble block cache %d MiB); %.2f µs/get",
		n, float64(disk)/(1<<20), float64(before)/1024, float64(after)/1024, float64(after-before)/1024, pebble.DefaultCacheSize>>20,
		float64(took.Microseconds())/float64(n))
}

func rssKiB(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb
		}
	}
	return 0
}
