package pebble

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/bespokesearch/bespoke/internal/store"
)

// FuzzOpsAgainstModel applies a sequence of puts, deletes and prefix deletes decoded from the
// input to Pebble and to a map, and checks that both agree on every key touched.
func FuzzOpsAgainstModel(f *testing.F) {
	f.Add([]byte{0, 1, 'a', 1, 'x', 2, 1, 'a', 0, 2, 'a', 'b', 1, 'y', 3, 1, 'a'})
	f.Add([]byte{0, 2, 0xff, 0xff, 0, 3, 1, 0xff})
	s, err := Open(filepath.Join(f.TempDir(), "store"), Options{CacheSize: 1 << 20})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = s.Close() })
	var run int
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, in []byte) {
		run++
		ns := []byte("f/" + strconv.Itoa(run) + "/")
		model := map[string][]byte{}
		touched := map[string]bool{}
		next := func() (byte, bool) {
			if len(in) == 0 {
				return 0, false
			}
			b := in[0]
			in = in[1:]
			return b, true
		}
		field := func() ([]byte, bool) {
			n, ok := next()
			if !ok || int(n%8) > len(in) {
				return nil, false
			}
			b := in[:n%8]
			in = in[n%8:]
			return append(append([]byte{}, ns...), b...), true
		}
		for {
			op, ok := next()
			if !ok {
				break
			}
			k, ok := field()
			if !ok {
				break
			}
			touched[string(k)] = true
			switch op % 4 {
			case 0, 1:
				v, _ := field()
				if err := s.Put(ctx, k, v); err != nil {
					t.Fatal(err)
				}
				model[string(k)] = append([]byte{}, v...)
			case 2:
				if err := s.Delete(ctx, k); err != nil {
					t.Fatal(err)
				}
				delete(model, string(k))
			case 3:
				if err := s.DeletePrefix(ctx, k); err != nil {
					t.Fatal(err)
				}
				for mk := range model {
					if strings.HasPrefix(mk, string(k)) {
						delete(model, mk)
					}
				}
			}
		}
		for k := range touched {
			got, err := s.Get(ctx, []byte(k))
			want, ok := model[k]
			if !ok {
				if !errors.Is(err, store.ErrNotFound) {
					t.Fatalf("key %x: store has %x (%v), model has nothing", k, got, err)
				}
				continue
			}
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("key %x: store has %x (%v), model has %x", k, got, err, want)
			}
		}
	})
}
