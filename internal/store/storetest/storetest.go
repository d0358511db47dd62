package storetest

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bespokesearch/bespoke/internal/store"
)

// Run runs the conformance suite as subtests of t. Each subtest calls newStore once.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"GetPutOverwrite", testGetPutOverwrite},
		{"NotFound", testNotFound},
		{"BinaryKeysAndValues", testBinary},
		{"EmptyValue", testEmptyValue},
		{"ValueNotRetained", testValueNotRetained},
		{"MultiGet", testMultiGet},
		{"PutBatch", testPutBatch},
		{"Delete", testDelete},
		{"DeletePrefix", testDeletePrefix},
		{"DeletePrefixBinaryAndPatternBytes", testDeletePrefixBinary},
		{"DeletePrefixMany", testDeletePrefixMany},
		{"InvalidKeys", testInvalidKeys},
		{"CanceledContext", testCanceledContext},
		{"LargeValue", testLargeValue},
		{"Concurrent", testConcurrent},
		{"Closed", testClosed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			t.Cleanup(func() { _ = s.Close() })
			tc.fn(t, s)
		})
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func mustPut(t *testing.T, s store.Store, k, v string) {
	t.Helper()
	if err := s.Put(ctxT(t), []byte(k), []byte(v)); err != nil {
		t.Fatalf("Put(%q): %v", k, err)
	}
}

func wantValue(t *testing.T, s store.Store, k []byte, want []byte) {
	t.Helper()
	got, err := s.Get(ctxT(t), k)
	if err != nil {
		t.Fatalf("Get(%q): %v", k, err)
	}
	if got == nil {
		t.Fatalf("Get(%q) returned a nil slice for a present key", k)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("Get(%q) = %q, want %q", k, trunc(got), trunc(want))
	}
}

func wantAbsent(t *testing.T, s store.Store, k []byte) {
	t.Helper()
	got, err := s.Get(ctxT(t), k)
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get(%q) = %q, %v; want ErrNotFound", k, trunc(got), err)
	}
}

func trunc(b []byte) []byte {
	if len(b) > 64 {
		return append(append([]byte(nil), b[:64]...), "..."...)
	}
	return b
}

func testGetPutOverwrite(t *testing.T, s store.Store) {
	mustPut(t, s, "p/1/alice", "v1")
	wantValue(t, s, []byte("p/1/alice"), []byte("v1"))
	mustPut(t, s, "p/1/alice", "version-two-longer")
	wantValue(t, s, []byte("p/1/alice"), []byte("version-two-longer"))
	mustPut(t, s, "p/1/alice", "3")
	wantValue(t, s, []byte("p/1/alice"), []byte("3"))
	// A sibling key is independent.
	mustPut(t, s, "p/1/alicf", "other")
	wantValue(t, s, []byte("p/1/alice"), []byte("3"))
	wantValue(t, s, []byte("p/1/alicf"), []byte("other"))
}

func testNotFound(t *testing.T, s store.Store) {
	wantAbsent(t, s, []byte("never-written"))
	mustPut(t, s, "ab", "x")
	wantAbsent(t, s, []byte("a"))
	wantAbsent(t, s, []byte("abc"))
	// Reading an absent key twice (a negative cache may be involved) and then writing it.
	wantAbsent(t, s, []byte("later"))
	mustPut(t, s, "later", "now")
	wantValue(t, s, []byte("later"), []byte("now"))
}

func testBinary(t *testing.T, s store.Store) {
	rng := rand.New(rand.NewPCG(1, 2))
	keys := [][]byte{
		{0x00},
		{0x00, 0x00},
		{0xff},
		{0xff, 0xff, 0xff},
		{'a', 0x00, 'b'},
		{'\r', '\n', ' ', '\t'},
		[]byte("ключ/ü/🙂"),
		[]byte(strings.Repeat("k", store.MaxKeyLen)),
	}
	for i := 0; i < 16; i++ {
		k := make([]byte, 1+rng.IntN(40))
		for j := range k {
			k[j] = byte(rng.UintN(256))
		}
		keys = append(keys, k)
	}
	seen := map[string]bool{}
	vals := map[string][]byte{}
	for i, k := range keys {
		if seen[string(k)] {
			continue
		}
		seen[string(k)] = true
		v := make([]byte, 1+rng.IntN(300))
		for j := range v {
			v[j] = byte(rng.UintN(256))
		}
		v[0] = 0x00 // values starting and ending with zero bytes
		v[len(v)-1] = 0x00
		if i == 0 {
			v = []byte{0x00}
		}
		if err := s.Put(ctxT(t), k, v); err != nil {
			t.Fatalf("Put(%x): %v", k, err)
		}
		vals[string(k)] = v
	}
	for k, v := range vals {
		wantValue(t, s, []byte(k), v)
	}
	// {0x00} and {0x00,0x00} are distinct keys.
	wantValue(t, s, []byte{0x00}, vals["\x00"])
	if bytes.Equal(vals["\x00"], vals["\x00\x00"]) {
		t.Fatalf("test setup: values of 0x00 and 0x0000 should differ")
	}
}

func testEmptyValue(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	if err := s.Put(ctx, []byte("empty"), nil); err != nil {
		t.Fatalf("Put(empty, nil): %v", err)
	}
	wantValue(t, s, []byte("empty"), []byte{})
	if err := s.Put(ctx, []byte("empty2"), []byte{}); err != nil {
		t.Fatalf("Put(empty2, []byte{}): %v", err)
	}
	wantValue(t, s, []byte("empty2"), []byte{})
	got, err := s.MultiGet(ctx, [][]byte{[]byte("empty"), []byte("absent"), []byte("empty2")})
	if err != nil {
		t.Fatalf("MultiGet: %v", err)
	}
	if got[0] == nil || len(got[0]) != 0 || got[1] != nil || got[2] == nil || len(got[2]) != 0 {
		t.Fatalf("MultiGet(empty, absent, empty2) = %#v, want [[] nil []]", got)
	}
	// Empty replaced by non-empty and back.
	mustPut(t, s, "empty", "full")
	wantValue(t, s, []byte("empty"), []byte("full"))
	if err := s.Put(ctx, []byte("empty"), nil); err != nil {
		t.Fatalf("Put: %v", err)
	}
	wantValue(t, s, []byte("empty"), []byte{})
}

func testValueNotRetained(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	k := []byte("retain/k")
	v := []byte("original")
	if err := s.Put(ctx, k, v); err != nil {
		t.Fatalf("Put: %v", err)
	}
	copy(v, "XXXXXXXX")
	copy(k, "XXXXXXXX")
	wantValue(t, s, []byte("retain/k"), []byte("original"))
	kvs := []store.KV{{Key: []byte("retain/b"), Value: []byte("batchval")}}
	if err := s.PutBatch(ctx, kvs); err != nil {
		t.Fatalf("PutBatch: %v", err)
	}
	copy(kvs[0].Value, "YYYYYYYY")
	copy(kvs[0].Key, "YYYYYYYY")
	wantValue(t, s, []byte("retain/b"), []byte("batchval"))
}

func testMultiGet(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	got, err := s.MultiGet(ctx, nil)
	if err != nil || len(got) != 0 {
		t.Fatalf("MultiGet(nil) = %q, %v; want empty, nil", got, err)
	}
	for i := 0; i < 150; i += 2 { // more than one DynamoDB BatchGetItem (100 keys)
		mustPut(t, s, fmt.Sprintf("mg/%03d", i), fmt.Sprintf("value-%d", i))
	}
	var keys [][]byte
	for i := 149; i >= 0; i-- { // reverse order, half absent
		keys = append(keys, []byte(fmt.Sprintf("mg/%03d", i)))
	}
	keys = append(keys, []byte("mg/010"), []byte("mg/011"), []byte("mg/010")) // duplicates
	got, err = s.MultiGet(ctx, keys)
	if err != nil {
		t.Fatalf("MultiGet: %v", err)
	}
	if len(got) != len(keys) {
		t.Fatalf("MultiGet returned %d values for %d keys", len(got), len(keys))
	}
	for i, k := range keys {
		var n int
		if _, err := fmt.Sscanf(string(k), "mg/%03d", &n); err != nil {
			t.Fatalf("bad test key %q", k)
		}
		if n%2 == 1 {
			if got[i] != nil {
				t.Fatalf("MultiGet[%d] (%q) = %q, want nil (absent)", i, k, got[i])
			}
			continue
		}
		if want := fmt.Sprintf("value-%d", n); string(got[i]) != want {
			t.Fatalf("MultiGet[%d] (%q) = %q, want %q", i, k, got[i], want)
		}
	}
	// All absent.
	got, err = s.MultiGet(ctx, [][]byte{[]byte("nope1"), []byte("nope2")})
	if err != nil || len(got) != 2 || got[0] != nil || got[1] != nil {
		t.Fatalf("MultiGet(absent, absent) = %q, %v", got, err)
	}
	// An invalid key in the list is an error, not a panic.
	if _, err := s.MultiGet(ctx, [][]byte{[]byte("mg/000"), nil}); !errors.Is(err, store.ErrInvalidKey) {
		t.Fatalf("MultiGet with an empty key = %v, want ErrInvalidKey", err)
	}
}

func testPutBatch(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	if err := s.PutBatch(ctx, nil); err != nil {
		t.Fatalf("PutBatch(nil): %v", err)
	}
	mustPut(t, s, "pb/old", "before")
	var kvs []store.KV
	for i := 0; i < 60; i++ { // more than one DynamoDB BatchWriteItem (25 items)
		kvs = append(kvs, store.KV{Key: []byte(fmt.Sprintf("pb/%02d", i)), Value: []byte(fmt.Sprintf("batch-%d", i))})
	}
	kvs = append(kvs,
		store.KV{Key: []byte("pb/old"), Value: []byte("after")},
		store.KV{Key: []byte("pb/dup"), Value: []byte("first")},
		store.KV{Key: []byte("pb/empty"), Value: nil},
		store.KV{Key: []byte("pb/dup"), Value: []byte("second")},
	)
	if err := s.PutBatch(ctx, kvs); err != nil {
		t.Fatalf("PutBatch: %v", err)
	}
	for i := 0; i < 60; i++ {
		wantValue(t, s, []byte(fmt.Sprintf("pb/%02d", i)), []byte(fmt.Sprintf("batch-%d", i)))
	}
	wantValue(t, s, []byte("pb/old"), []byte("after"))
	wantValue(t, s, []byte("pb/dup"), []byte("second"))
	wantValue(t, s, []byte("pb/empty"), []byte{})
	if err := s.PutBatch(ctx, []store.KV{{Key: []byte("pb/ok"), Value: []byte("x")}, {Key: nil, Value: []byte("y")}}); !errors.Is(err, store.ErrInvalidKey) {
		t.Fatalf("PutBatch with an empty key = %v, want ErrInvalidKey", err)
	}
}

func testDelete(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	mustPut(t, s, "d/a", "1")
	mustPut(t, s, "d/b", "2")
	wantValue(t, s, []byte("d/a"), []byte("1")) // possibly cached now
	if err := s.Delete(ctx, []byte("d/a")); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	wantAbsent(t, s, []byte("d/a"))
	wantValue(t, s, []byte("d/b"), []byte("2"))
	if err := s.Delete(ctx, []byte("d/a")); err != nil {
		t.Fatalf("Delete of an absent key: %v", err)
	}
	if err := s.Delete(ctx, []byte("d/never")); err != nil {
		t.Fatalf("Delete of a never-written key: %v", err)
	}
	mustPut(t, s, "d/a", "again")
	wantValue(t, s, []byte("d/a"), []byte("again"))
}

func testDeletePrefix(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	keep := map[string]string{
		"p/1":         "exact tag without slash",
		"p/10/alice":  "other version",
		"p/2/alice":   "other version",
		"rt/alice":    "real time",
		"q/1/alice":   "other tag",
		"p/0/alice":   "before the range",
		"p/1.5/alice": "sorts between",
	}
	drop := []string{"p/1/", "p/1/alice", "p/1/bob", "p/1/carol/x", "p/1/\xff\xff"}
	for k, v := range keep {
		mustPut(t, s, k, v)
	}
	for _, k := range drop {
		mustPut(t, s, k, "gone")
	}
	// Read everything once, so that a cache in front holds the keys.
	for k, v := range keep {
		wantValue(t, s, []byte(k), []byte(v))
	}
	for _, k := range drop {
		wantValue(t, s, []byte(k), []byte("gone"))
	}
	if err := s.DeletePrefix(ctx, []byte("p/1/")); err != nil {
		t.Fatalf("DeletePrefix: %v", err)
	}
	for _, k := range drop {
		wantAbsent(t, s, []byte(k))
	}
	for k, v := range keep {
		wantValue(t, s, []byte(k), []byte(v))
	}
	got, err := s.MultiGet(ctx, [][]byte{[]byte("p/1/alice"), []byte("p/10/alice")})
	if err != nil || got[0] != nil || string(got[1]) != "other version" {
		t.Fatalf("MultiGet after DeletePrefix = %q, %v", got, err)
	}
	// A prefix that matches nothing.
	if err := s.DeletePrefix(ctx, []byte("zzz/")); err != nil {
		t.Fatalf("DeletePrefix(no match): %v", err)
	}
	// Keys can be written again under the dropped prefix.
	mustPut(t, s, "p/1/alice", "back")
	wantValue(t, s, []byte("p/1/alice"), []byte("back"))
	if err := s.DeletePrefix(ctx, nil); !errors.Is(err, store.ErrInvalidKey) {
		t.Fatalf("DeletePrefix(empty) = %v, want ErrInvalidKey", err)
	}
	wantValue(t, s, []byte("rt/alice"), []byte("real time"))
}

func testDeletePrefixBinary(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	// Bytes that are special in glob patterns (Redis SCAN MATCH) and in ranges (0xff).
	prefix := []byte("x*?[a-z]\\\x00\xff")
	inside := [][]byte{
		append(append([]byte{}, prefix...), 'k'),
		append(append([]byte{}, prefix...), 0xff, 0xff),
		append([]byte{}, prefix...),
	}
	outside := [][]byte{
		[]byte("xa?[a-z]\\\x00\xffk"),    // '*' literal must not match 'a'
		[]byte("x*?[a-z]\\\x00\xfe"),     // last byte differs
		[]byte("x*a[a-z]\\\x00\xffk"),    // '?' literal must not match 'a'
		[]byte("x*?b\\\x00\xffk"),        // '[a-z]' literal must not match 'b'
		[]byte("x*?[a-z]\\\x00"),         // shorter
		{0xff, 0xff, 0xff, 0xff, 0xff},   // all 0xff
		[]byte("x*?[a-z]\\\x01\xff"),     // after
		[]byte("x*?[a-z]\\\x00\xff"[:8]), // shorter still
	}
	for _, k := range inside {
		if err := s.Put(ctx, k, []byte("in")); err != nil {
			t.Fatalf("Put(%x): %v", k, err)
		}
	}
	for _, k := range outside {
		if err := s.Put(ctx, k, []byte("out")); err != nil {
			t.Fatalf("Put(%x): %v", k, err)
		}
	}
	if err := s.DeletePrefix(ctx, prefix); err != nil {
		t.Fatalf("DeletePrefix(%x): %v", prefix, err)
	}
	for _, k := range inside {
		wantAbsent(t, s, k)
	}
	for _, k := range outside {
		wantValue(t, s, k, []byte("out"))
	}
	// An all-0xff prefix has no upper bound in key order.
	if err := s.DeletePrefix(ctx, []byte{0xff, 0xff}); err != nil {
		t.Fatalf("DeletePrefix(ffff): %v", err)
	}
	wantAbsent(t, s, []byte{0xff, 0xff, 0xff, 0xff, 0xff})
	wantValue(t, s, outside[0], []byte("out"))
}

func testDeletePrefixMany(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	const n = 600 // several Redis SCAN/UNLINK rounds and DynamoDB batch deletes
	kvs := make([]store.KV, 0, 2*n)
	for i := 0; i < n; i++ {
		kvs = append(kvs,
			store.KV{Key: []byte(fmt.Sprintf("v/7/%05d", i)), Value: []byte("old")},
			store.KV{Key: []byte(fmt.Sprintf("v/8/%05d", i)), Value: []byte("new")})
	}
	if err := s.PutBatch(ctx, kvs); err != nil {
		t.Fatalf("PutBatch: %v", err)
	}
	if err := s.DeletePrefix(ctx, []byte("v/7/")); err != nil {
		t.Fatalf("DeletePrefix: %v", err)
	}
	keys := make([][]byte, 0, 2*n)
	for i := 0; i < n; i++ {
		keys = append(keys, []byte(fmt.Sprintf("v/7/%05d", i)), []byte(fmt.Sprintf("v/8/%05d", i)))
	}
	got, err := s.MultiGet(ctx, keys)
	if err != nil {
		t.Fatalf("MultiGet: %v", err)
	}
	for i := range keys {
		if i%2 == 0 && got[i] != nil {
			t.Fatalf("%q survived DeletePrefix", keys[i])
		}
		if i%2 == 1 && string(got[i]) != "new" {
			t.Fatalf("%q = %q after deleting another prefix, want \"new\"", keys[i], got[i])
		}
	}
}

func testInvalidKeys(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	long := []byte(strings.Repeat("x", store.MaxKeyLen+1))
	for _, k := range [][]byte{nil, {}, long} {
		if _, err := s.Get(ctx, k); !errors.Is(err, store.ErrInvalidKey) {
			t.Errorf("Get(len %d) = %v, want ErrInvalidKey", len(k), err)
		}
		if err := s.Put(ctx, k, []byte("v")); !errors.Is(err, store.ErrInvalidKey) {
			t.Errorf("Put(len %d) = %v, want ErrInvalidKey", len(k), err)
		}
		if err := s.Delete(ctx, k); !errors.Is(err, store.ErrInvalidKey) {
			t.Errorf("Delete(len %d) = %v, want ErrInvalidKey", len(k), err)
		}
		if err := s.DeletePrefix(ctx, k); !errors.Is(err, store.ErrInvalidKey) {
			t.Errorf("DeletePrefix(len %d) = %v, want ErrInvalidKey", len(k), err)
		}
	}
}

func testCanceledContext(t *testing.T, s store.Store) {
	mustPut(t, s, "c/k", "v")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Get(ctx, []byte("c/other")); !errors.Is(err, context.Canceled) {
		t.Errorf("Get with a canceled ctx = %v, want context.Canceled", err)
	}
	if err := s.Put(ctx, []byte("c/k"), []byte("changed")); !errors.Is(err, context.Canceled) {
		t.Errorf("Put with a canceled ctx = %v, want context.Canceled", err)
	}
	if err := s.PutBatch(ctx, []store.KV{{Key: []byte("c/k"), Value: []byte("changed")}}); !errors.Is(err, context.Canceled) {
		t.Errorf("PutBatch with a canceled ctx = %v, want context.Canceled", err)
	}
	if err := s.Delete(ctx, []byte("c/k")); !errors.Is(err, context.Canceled) {
		t.Errorf("Delete with a canceled ctx = %v, want context.Canceled", err)
	}
	if err := s.DeletePrefix(ctx, []byte("c/")); !errors.Is(err, context.Canceled) {
		t.Errorf("DeletePrefix with a canceled ctx = %v, want context.Canceled", err)
	}
	if _, err := s.MultiGet(ctx, [][]byte{[]byte("c/other")}); !errors.Is(err, context.Canceled) {
		t.Errorf("MultiGet with a canceled ctx = %v, want context.Canceled", err)
	}
	wantValue(t, s, []byte("c/k"), []byte("v"))
}

func testLargeValue(t *testing.T, s store.Store) {
	rng := rand.New(rand.NewPCG(3, 4))
	big := make([]byte, 256<<10)
	for i := range big {
		big[i] = byte(rng.UintN(256))
	}
	ctx := ctxT(t)
	if err := s.Put(ctx, []byte("big/1"), big); err != nil {
		t.Fatalf("Put(256 KiB): %v", err)
	}
	wantValue(t, s, []byte("big/1"), big)
	big2 := append([]byte(nil), big...)
	big2[len(big2)-1] ^= 0xff
	if err := s.PutBatch(ctx, []store.KV{{Key: []byte("big/2"), Value: big2}}); err != nil {
		t.Fatalf("PutBatch(256 KiB): %v", err)
	}
	got, err := s.MultiGet(ctx, [][]byte{[]byte("big/2"), []byte("big/1")})
	if err != nil {
		t.Fatalf("MultiGet: %v", err)
	}
	if !bytes.Equal(got[0], big2) || !bytes.Equal(got[1], big) {
		t.Fatalf("MultiGet of two 256 KiB values returned %d and %d bytes, or different content", len(got[0]), len(got[1]))
	}
}

// testConcurrent runs writers and readers on a small key set. Every value names its key and
// carries a checksum, so a reader can tell a torn or misplaced value from a stale one.
func testConcurrent(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	const (
		keys    = 16
		writers = 4
		readers = 4
		rounds  = 60
	)
	encode := func(k int, n uint64) []byte {
		v := make([]byte, 0, 64)
		v = fmt.Appendf(v, "cc/%02d|", k)
		v = binary.BigEndian.AppendUint64(v, n)
		v = binary.BigEndian.AppendUint64(v, n*2654435761+uint64(k))
		return v
	}
	check := func(k int, v []byte) error {
		prefix := fmt.Sprintf("cc/%02d|", k)
		if len(v) != len(prefix)+16 || string(v[:len(prefix)]) != prefix {
			return fmt.Errorf("value %q does not belong to key %d", v, k)
		}
		n := binary.BigEndian.Uint64(v[len(prefix):])
		if binary.BigEndian.Uint64(v[len(prefix)+8:]) != n*2654435761+uint64(k) {
			return fmt.Errorf("torn value %x for key %d", v, k)
		}
		return nil
	}
	for k := 0; k < keys; k++ {
		if err := s.Put(ctx, []byte(fmt.Sprintf("cc/%02d", k)), encode(k, 0)); err != nil {
			t.Fatalf("Put: %v", err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, writers+readers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for r := 0; r < rounds; r++ {
				k := (w*7 + r) % keys
				var err error
				switch r % 4 {
				case 0:
					err = s.PutBatch(ctx, []store.KV{
						{Key: []byte(fmt.Sprintf("cc/%02d", k)), Value: encode(k, uint64(r))},
						{Key: []byte(fmt.Sprintf("cc/%02d", (k+1)%keys)), Value: encode((k+1)%keys, uint64(r))},
					})
				case 1:
					err = s.Delete(ctx, []byte(fmt.Sprintf("cc/%02d", k)))
				default:
					err = s.Put(ctx, []byte(fmt.Sprintf("cc/%02d", k)), encode(k, uint64(w*1000+r)))
				}
				if err != nil {
					errs <- fmt.Errorf("writer %d round %d: %w", w, r, err)
					return
				}
			}
		}(w)
	}
	for rd := 0; rd < readers; rd++ {
		wg.Add(1)
		go func(rd int) {
			defer wg.Done()
			for r := 0; r < rounds*2; r++ {
				k := (rd*5 + r) % keys
				if r%3 == 0 {
					ks := [][]byte{[]byte(fmt.Sprintf("cc/%02d", k)), []byte(fmt.Sprintf("cc/%02d", (k+3)%keys))}
					vs, err := s.MultiGet(ctx, ks)
					if err != nil {
						errs <- fmt.Errorf("reader %d MultiGet: %w", rd, err)
						return
					}
					for i, v := range vs {
						if v == nil {
							continue
						}
						kk := k
						if i == 1 {
							kk = (k + 3) % keys
						}
						if err := check(kk, v); err != nil {
							errs <- err
							return
						}
					}
					continue
				}
				v, err := s.Get(ctx, []byte(fmt.Sprintf("cc/%02d", k)))
				if errors.Is(err, store.ErrNotFound) {
					continue
				}
				if err != nil {
					errs <- fmt.Errorf("reader %d Get: %w", rd, err)
					return
				}
				if err := check(k, v); err != nil {
					errs <- err
					return
				}
			}
		}(rd)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// After the writers stop, a final write is what every reader sees.
	for k := 0; k < keys; k++ {
		key := []byte(fmt.Sprintf("cc/%02d", k))
		if err := s.Put(ctx, key, encode(k, 999999)); err != nil {
			t.Fatalf("Put: %v", err)
		}
		wantValue(t, s, key, encode(k, 999999))
	}
}

func testClosed(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	mustPut(t, s, "closed/k", "v")
	wantValue(t, s, []byte("closed/k"), []byte("v")) // possibly cached
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := s.Get(ctx, []byte("closed/k")); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Get after Close = %v, want ErrClosed", err)
	}
	if _, err := s.MultiGet(ctx, [][]byte{[]byte("closed/k")}); !errors.Is(err, store.ErrClosed) {
		t.Errorf("MultiGet after Close = %v, want ErrClosed", err)
	}
	if err := s.Put(ctx, []byte("closed/k"), []byte("x")); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Put after Close = %v, want ErrClosed", err)
	}
	if err := s.PutBatch(ctx, []store.KV{{Key: []byte("closed/k"), Value: []byte("x")}}); !errors.Is(err, store.ErrClosed) {
		t.Errorf("PutBatch after Close = %v, want ErrClosed", err)
	}
	if err := s.Delete(ctx, []byte("closed/k")); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Delete after Close = %v, want ErrClosed", err)
	}
	if err := s.DeletePrefix(ctx, []byte("closed/")); !errors.Is(err, store.ErrClosed) {
		t.Errorf("DeletePrefix after Close = %v, want ErrClosed", err)
	}
}
