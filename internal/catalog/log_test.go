package catalog

import (
	"os"
	"path/filepath"
	"testing"
)

func TestLogPersistsAcrossReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "catalog", "products.log")
	l, err := OpenLog(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Upsert([]Product{{ProductID: "a", Name: "A"}, {ProductID: "b", Name: "B"}}); err != nil {
		t.Fatal(err)
	}
	if err := l.Upsert([]Product{{ProductID: "a", Name: "A2", Price: 3}}); err != nil {
		t.Fatal(err)
	}
	if n, err := l.Delete("b", "zzz"); err != nil || n != 1 {
		t.Fatalf("delete: %d %v", n, err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	// A torn last line (crash mid-write of an unacknowledged update) is ignored.
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"put":{"product_id":"c","na`)
	f.Close()

	l2, err := OpenLog(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	if l2.Len() != 1 {
		t.Fatalf("len = %d, want 1", l2.Len())
	}
	p, ok := l2.Get("a")
	if !ok || p.Name != "A2" || p.Price != 3 {
		t.Fatalf("a = %+v %v", p, ok)
	}
	if _, ok := l2.Get("b"); ok {
		t.Fatal("deleted product came back")
	}
}

func TestLogAppendsCleanlyAfterTornLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "products.log")
	os.WriteFile(path, []byte(`{"put":{"product_id":"a","name":"A"}}`+"\n"+`{"put":{"product_id":"b"`), 0o644)
	l, err := OpenLog(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Upsert([]Product{{ProductID: "c", Name: "C"}}); err != nil {
		t.Fatal(err)
	}
	l.Close()
	l2, err := OpenLog(path)
	if err != nil {
		t.Fatalf("log damaged by an append after a torn line: %v", err)
	}
	defer l2.Close()
	if l2.Len() != 2 {
		t.Fatalf("len = %d, want 2 (a and c)", l2.Len())
	}
}
