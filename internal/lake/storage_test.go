package lake

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
)

// testStorage is the conformance suite every Storage must pass.
func testStorage(t *testing.T, st Storage) {
	ctx := context.Background()
	list := func(prefix string) []string {
		var keys []string
		if err := st.List(ctx, prefix, func(oi ObjectInfo) error {
			keys = append(keys, oi.Key)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return keys
	}

	t.Run("invisible until commit", func(t *testing.T) {
		p, err := st.Create(ctx, "a/b/one.bin")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Write([]byte("hello ")); err != nil {
			t.Fatal(err)
		}
		if keys := list(""); len(keys) != 0 {
			t.Fatalf("uncommitted object visible: %v", keys)
		}
		if _, err := st.Stat(ctx, "a/b/one.bin"); !errors.Is(err, ErrNotExist) {
			t.Fatalf("Stat of uncommitted object: %v, want ErrNotExist", err)
		}
		if _, err := p.Write([]byte("world")); err != nil {
			t.Fatal(err)
		}
		if err := p.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		b, err := ReadAll(ctx, st, "a/b/one.bin")
		if err != nil || string(b) != "hello world" {
			t.Fatalf("read back %q, %v", b, err)
		}
		if _, err := p.Write([]byte("x")); err == nil {
			t.Fatal("write after commit accepted")
		}
	})
	t.Run("abort leaves nothing", func(t *testing.T) {
		p, err := st.Create(ctx, "a/aborted.bin")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = p.Write([]byte("zzz"))
		if err := p.Abort(); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Stat(ctx, "a/aborted.bin"); !errors.Is(err, ErrNotExist) {
			t.Fatalf("aborted object: %v", err)
		}
	})
	t.Run("list prefix and order", func(t *testing.T) {
		for _, k := range []string{"a/c.bin", "ab/x.bin", "a/b/zz.bin", "b/1.bin"} {
			if err := WriteObject(ctx, st, k, []byte(k)); err != nil {
				t.Fatal(err)
			}
		}
		got := list("a/")
		want := []string{"a/b/one.bin", "a/b/zz.bin", "a/c.bin"}
		if len(got) != len(want) {
			t.Fatalf("List(a/) = %v, want %v", got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("List(a/) = %v, want %v", got, want)
			}
		}
		if n := len(list("")); n != 5 {
			t.Fatalf("List() = %d objects, want 5", n)
		}
	})
	t.Run("random access and large objects", func(t *testing.T) {
		data := make([]byte, 6<<20+123) // more than one 5 MiB part on S3
		block := make([]byte, 4096)
		r := rand.New(rand.NewPCG(1, 2))
		for i := 0; i < len(block); i += 8 {
			binary.LittleEndian.PutUint64(block[i:], r.Uint64())
		}
		for off := 0; off < len(data); off += len(block) {
			copy(data[off:], block)
			binary.LittleEndian.PutUint64(data[off:min(off+8, len(data)-8)], uint64(off)) // every block differs
		}
		p, err := st.Create(ctx, "big/one.bin")
		if err != nil {
			t.Fatal(err)
		}
		for off := 0; off < len(data); off += 1 << 20 {
			if _, err := p.Write(data[off:min(off+1<<20, len(data))]); err != nil {
				t.Fatal(err)
			}
		}
		if err := p.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		o, err := st.Open(ctx, "big/one.bin")
		if err != nil {
			t.Fatal(err)
		}
		defer o.Close()
		if o.Size() != int64(len(data)) {
			t.Fatalf("size %d, want %d", o.Size(), len(data))
		}
		for _, off := range []int64{0, 5<<20 - 3, int64(len(data)) - 100, int64(len(data)) - 70000} {
			buf := make([]byte, 100)
			n, err := o.ReadAt(buf, off)
			if err != nil && !errors.Is(err, io.EOF) {
				t.Fatal(err)
			}
			if !bytes.Equal(buf[:n], data[off:off+int64(n)]) || n != 100 {
				t.Fatalf("ReadAt(%d) returned wrong bytes (n=%d)", off, n)
			}
		}
		if _, err := o.ReadAt(make([]byte, 10), int64(len(data))); !errors.Is(err, io.EOF) {
			t.Fatalf("ReadAt past the end: %v, want EOF", err)
		}
	})
	t.Run("delete", func(t *testing.T) {
		if err := st.Delete(ctx, "b/1.bin"); err != nil {
			t.Fatal(err)
		}
		if err := st.Delete(ctx, "b/1.bin"); err != nil {
			t.Fatalf("deleting a missing object: %v", err)
		}
		if _, err := st.Open(ctx, "b/1.bin"); !errors.Is(err, ErrNotExist) {
			t.Fatalf("Open of deleted object: %v", err)
		}
	})
	t.Run("bad keys", func(t *testing.T) {
		for _, k := range []string{"", "/abs", "a/../b", "a//b", "_tmp/x", "dir/"} {
			if _, err := st.Create(ctx, k); err == nil {
				t.Errorf("Create(%q) accepted a bad key", k)
			}
		}
	})
}

func TestFSStorage(t *testing.T) { testStorage(t, newFS(t)) }

func TestS3Storage(t *testing.T) {
	testStorage(t, startS3rver(t, "conformance"))
}
