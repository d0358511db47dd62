package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"time"

	"github.com/bespokesearch/bespoke/internal/catalog"
	"github.com/bespokesearch/bespoke/internal/profile"
	"github.com/bespokesearch/bespoke/internal/store"
)

// CatalogItems reads a world's catalog.jsonl as the items profiles are built from.
func CatalogItems(world string) ([]profile.Item, error) {
	var items []profile.Item
	err := eachLine(filepath.Join(world, "catalog.jsonl"), func(line []byte) error {
		var p catalog.Product
		if err := json.Unmarshal(line, &p); err != nil {
			return err
		}
		items = append(items, profile.ItemOf(&p))
		return nil
	})
	return items, err
}

// FillProfiles writes n customer profiles under the server's keys "pu/c0".."pu/c<n-1>",
// each built by applying 5 to 60 interactions (views, clicks, carts, purchases, a few
// returns) over the last 90 days, concentrated on a small personal pool of items so that
// affinities look like a real shopper's. It writes in batches of 1,000.
func FillProfiles(ctx context.Context, st store.Store, items []profile.Item, n int, seed uint64) (bytes int64, err error) {
	if len(items) == 0 {
		return 0, errors.New("cannot fill profiles: no catalog items")
	}
	now := time.Now().Unix()
	batch := make([]store.KV, 0, 1000)
	pool := make([]profile.Item, 12)
	for i := range n {
		r := rand.New(rand.NewPCG(seed, uint64(i)))
		for k := range pool {
			pool[k] = items[r.IntN(len(items))]
		}
		p := new(profile.Profile)
		m := 5 + r.IntN(56)
		t := now - 90*86400
		for range m {
			t += int64(r.IntN(90*86400/m + 1))
			it := pool[r.IntN(len(pool))]
			if r.Float64() < 0.3 {
				it = items[r.IntN(len(items))]
			}
			kind := profile.Viewed
			switch x := r.Float64(); {
			case x < 0.45:
			case x < 0.8:
				kind = profile.Clicked
			case x < 0.92:
				kind = profile.AddedToCart
			case x < 0.98:
				kind = profile.Purchased
			default:
				kind = profile.ReturnedForSize
			}
			p.Apply(kind, it, t)
			if kind == profile.Purchased && it.SizeSystem != 0 {
				p.ObserveSize(it.SizeSystem, float32(7+r.IntN(8)), 0)
			}
		}
		v, err := p.MarshalBinary()
		if err != nil {
			return bytes, fmt.Errorf("cannot encode profile %d: %w", i, err)
		}
		bytes += int64(len(v))
		batch = append(batch, store.KV{Key: []byte("pu/c" + strconv.Itoa(i)), Value: v})
		if len(batch) == cap(batch) || i == n-1 {
			if err := st.PutBatch(ctx, batch); err != nil {
				return bytes, fmt.Errorf("cannot write profiles up to %d: %w", i, err)
			}
			batch = batch[:0]
		}
	}
	return bytes, nil
}
