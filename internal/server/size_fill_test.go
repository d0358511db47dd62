package server

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/bespokesearch/bespoke/internal/size"
	"github.com/bespokesearch/bespoke/internal/store"
	"github.com/bespokesearch/bespoke/internal/store/pebble"
)

// TestFillSizeProfilesTool writes n size profiles under the server's keys
// "su/c0".."su/c<n-1>" (the customer ids `bespoke bench --customers n` draws), each a
// US shoe, an alpha and a numeric true size drawn around realistic means, a tenth of
// them with a second wearer, into the Pebble store of a data directory, so that
// /v1/size can be measured against a filled store:
//
//	BESPOKE_FILL_DATA=/tmp/data BESPOKE_FILL_N=1000000 go test -run TestFillSizeProfilesTool -v ./internal/server
//
// Run it before `bespoke serve --data /tmp/data` (Pebble is single-process).
func TestFillSizeProfilesTool(t *testing.T) {
	data := os.Getenv("BESPOKE_FILL_DATA")
	if data == "" {
		t.Skip("set BESPOKE_FILL_DATA (and BESPOKE_FILL_N) to fill a data directory with size profiles")
	}
	n, err := strconv.Atoi(os.Getenv("BESPOKE_FILL_N"))
	if err != nil || n <= 0 {
		n = 1_000_000
	}
	st, err := pebble.Open(filepath.Join(data, "store"), pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	batch := make([]store.KV, 0, 1000)
	var bytes int
	for i := range n {
		r := rand.New(rand.NewPCG(7, uint64(i)))
		men := r.IntN(2) == 1
		shoe, alpha, waist := 6.5+0.8*r.NormFloat64(), 2.5+r.NormFloat64(), 28+3*r.NormFloat64()
		g := uint8(1)
		if men {
			shoe, alpha, waist, g = 10.5+0.9*r.NormFloat64(), 3.5+r.NormFloat64(), 33+3*r.NormFloat64(), 2
		}
		p := size.Profile{Sizes: []size.TrueSize{
			{System: size.SystemUSShoe, Gender: g, Mean: float32(shoe), SD: 0.3, N: uint16(1 + r.IntN(20)), LastDay: 20000, Usual: float32(shoe), HasUsual: true},
			{System: size.SystemAlpha, Gender: g, Mean: float32(alpha), SD: 0.4, N: uint16(1 + r.IntN(20)), LastDay: 20000},
			{System: size.SystemNumeric, Gender: g, Mean: float32(waist), SD: 0.8, N: uint16(r.IntN(5)), LastDay: 20000},
		}}
		if r.Float64() < 0.1 {
			p.Sizes = append(p.Sizes, size.TrueSize{System: size.SystemUSShoe, Wearer: 1, Gender: 3 - g, Mean: float32(shoe - 2), SD: 0.4, N: 3, LastDay: 19990})
		}
		b, err := p.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		bytes += len(b)
		batch = append(batch, store.KV{Key: sizeKey("c" + strconv.Itoa(i)), Value: b})
		if len(batch) == cap(batch) || i == n-1 {
			if err := st.PutBatch(context.Background(), batch); err != nil {
				t.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d size profiles in %s: %d value bytes (%.1f B/profile)", n, time.Since(start).Round(time.Millisecond), bytes, float64(bytes)/float64(n))
}
