package catalog

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
)

func readAll(t *testing.T, in string, opt ReadOptions) ([]Product, []*LineError) {
	t.Helper()
	var ps []Product
	var bad []*LineError
	err := Read(strings.NewReader(in), opt, func(p Product) error { ps = append(ps, p); return nil },
		func(e *LineError) error { bad = append(bad, e); return nil })
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return ps, bad
}

func TestReadJSONLines(t *testing.T) {
	in := `{"product_id":"p1","name":"Trail Runner","brand":"Acme","price":"89.5","sizes":[{"size":"9","in_stock":true},{"size":9.5,"in_stock":false}]}
{"product_id":42,"category":"boots"}

{"product_id":"p3","name":"Tee","sizes":["S","M","L"],"attributes":{"fit":"slim"}}
{"name":"no id"}
{"product_id":"p5","price":"cheap"}
`
	ps, bad := readAll(t, in, ReadOptions{})
	if len(ps) != 3 || len(bad) != 2 {
		t.Fatalf("got %d products, %d bad: %v", len(ps), len(bad), bad)
	}
	if ps[0].Price != 89.5 || ps[0].SizeSystem != SizeUSShoe || ps[0].InStock("9.5") || !ps[0].InStock("9") {
		t.Errorf("p1 = %+v", ps[0])
	}
	if ps[1].ProductID != "42" || ps[1].Name != "boots" {
		t.Errorf("an id and a category alone must load with a derived name: %+v", ps[1])
	}
	if ps[2].SizeSystem != SizeAlpha || !ps[2].InStock("M") || ps[2].Attributes["fit"] != "slim" {
		t.Errorf("p3 = %+v", ps[2])
	}
	if bad[0].Line != 5 || bad[0].Field != "product_id" {
		t.Errorf("bad[0] = %v", bad[0])
	}
	if bad[1].Line != 6 || !strings.Contains(bad[1].Error(), "price") {
		t.Errorf("bad[1] = %v", bad[1])
	}
}

func TestReadJSONArray(t *testing.T) {
	ps, bad := readAll(t, ` [{"product_id":"a","name":"A"},{"product_id":"b","category":"jeans","sizes":["32","34"]}]`, ReadOptions{})
	if len(ps) != 2 || len(bad) != 0 || ps[1].SizeSystem != SizeNumeric {
		t.Fatalf("got %+v %v", ps, bad)
	}
}

func TestReadCSV(t *testing.T) {
	in := "product_id,name,brand,price,sizes,heel_height\n" +
		"s1,Runner,Acme,$59.90,9;9.5!;10,\n" +
		"s2,Pump,Bella,120,\"[{\"\"size\"\":\"\"7\"\",\"\"in_stock\"\":false}]\",3in\n" +
		",Nameless,,,,\n" +
		"s4,Bad price,,abc,,\n"
	ps, bad := readAll(t, in, ReadOptions{})
	if len(ps) != 2 || len(bad) != 2 {
		t.Fatalf("got %+v bad %v", ps, bad)
	}
	if ps[0].Price != 59.9 || len(ps[0].Sizes) != 3 || ps[0].Sizes[1].InStock || !ps[0].Sizes[2].InStock {
		t.Errorf("s1 = %+v", ps[0])
	}
	if ps[1].Sizes[0].InStock || ps[1].Attributes["heel_height"] != "3in" {
		t.Errorf("s2 = %+v", ps[1])
	}
	if bad[0].Line != 4 || bad[0].Field != "product_id" || bad[1].Line != 5 || bad[1].Field != "price" {
		t.Errorf("bad = %v %v", bad[0], bad[1])
	}
}

func TestReadCSVColumnMapping(t *testing.T) {
	in := `"upc","name","manufacturer","short_description","long_description"
"096009010836","Fists of Bruce Lee - Dolby - DVD", , , 
"067003016025","Summerbreeze - CD","Nettwerk", ,"A summer album"
`
	ps, bad := readAll(t, in, ReadOptions{Columns: map[string]string{"product_id": "upc", "brand": "manufacturer", "description": "long_description"}})
	if len(ps) != 2 || len(bad) != 0 {
		t.Fatalf("got %+v bad %v", ps, bad)
	}
	if ps[1].ProductID != "067003016025" || ps[1].Brand != "Nettwerk" || ps[1].Description != "A summer album" {
		t.Errorf("got %+v", ps[1])
	}
	if err := Read(strings.NewReader("sku,title\n1,x\n"), ReadOptions{}, func(Product) error { return nil }, func(*LineError) error { return nil }); err == nil || !strings.Contains(err.Error(), "product_id") {
		t.Errorf("a CSV without an id column must say so, got %v", err)
	}
}

func TestReadStopsOnCallbackError(t *testing.T) {
	stop := errors.New("stop")
	n := 0
	err := Read(strings.NewReader("{\"product_id\":\"a\"}\n{\"product_id\":\"b\"}\n"), ReadOptions{}, func(Product) error { n++; return stop }, nil)
	if !errors.Is(err, stop) || n != 1 {
		t.Fatalf("err=%v n=%d", err, n)
	}
}

func TestRealBestBuyCatalog(t *testing.T) {
	const path = "../../../shared/data/retrotech-bestbuy-products/products.tgz"
	if _, err := os.Stat(path); err != nil {
		t.Skip("the RetroTech catalog is not at ../shared/data (only present beside the repository): ", err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var n, bad int
	err = Read(f, ReadOptions{Columns: map[string]string{"product_id": "upc", "brand": "manufacturer", "description": "long_description"}},
		func(p Product) error { n++; return nil }, func(*LineError) error { bad++; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if n < 45000 || bad > n/100 {
		t.Fatalf("loaded %d products, %d bad", n, bad)
	}
	t.Logf("loaded %d real products, %d rejected", n, bad)
}

func FuzzRead(f *testing.F) {
	f.Add([]byte(`{"product_id":"p1","sizes":[{"size":"9","in_stock":true}]}`))
	f.Add([]byte("product_id,sizes\np,9;9.5!\n"))
	f.Add([]byte(`[{"product_id":1}]`))
	f.Fuzz(func(t *testing.T, in []byte) {
		_ = Read(bytes.NewReader(in), ReadOptions{}, func(p Product) error {
			if p.ProductID == "" || p.Name == "" {
				t.Fatalf("accepted a product without id or name: %+v", p)
			}
			return nil
		}, func(*LineError) error { return nil })
	})
}

func TestSizeValue(t *testing.T) {
	for _, c := range []struct {
		system uint8
		label  string
		want   float32
		ok     bool
	}{
		{SystemUSShoe, "9.5", 9.5, true}, {SystemUSShoe, "10W", 10, true}, {SystemAlpha, "xl", 5, true},
		{SystemAlpha, "2XL", 6, true}, {SystemNumeric, "32", 32, true}, {SystemUSShoe, "big", 0, false},
		{SystemNone, "9", 0, false}, {SystemAlpha, "9", 0, false},
	} {
		got, ok := SizeValue(c.system, c.label)
		if got != c.want || ok != c.ok {
			t.Errorf("SizeValue(%d, %q) = %v %v, want %v %v", c.system, c.label, got, ok, c.want, c.ok)
		}
	}
}
