package train

import (
	"encoding/json"
	"testing"

	"github.com/bespokesearch/bespoke/internal/event"
)

// viaJSON is the reference: what encoding/json makes of the list.
func viaJSON(s string) ([]productRef, error) {
	var refs []event.ProductRef
	if err := json.Unmarshal([]byte(s), &refs); err != nil {
		return nil, err
	}
	out := []productRef{}
	for _, r := range refs {
		out = append(out, productRef{ID: string(r.ProductID), Position: r.Position, Size: string(r.Size)})
	}
	return out, nil
}

func sameRefs(a, b []productRef) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

var productSeeds = []string{
	`[{"product_id":"P011247","position":1},{"product_id":"P014688","position":2}]`,
	`[{"product_id":"P014796","size":"8","price":70.99,"quantity":1}]`,
	` [ { "position" : 3 , "product_id" : 12345 , "size" : 9.5 } ] `,
	`[]`, `null`, `[null,{}]`, `[{"product_id":null,"size":null,"price":null,"quantity":null,"position":null}]`,
	`[{"product_id":"a\"b","position":1}]`, `[{"Product_ID":"x"}]`, `[{"product_id":"x","position":1.5}]`,
	`[{"product_id":"x","position":1e2}]`, `[{"product_id":"x","extra":[1,{"a":2}]}]`, `[{"product_id":"x","product_id":"y"}]`,
	`[{"product_id":"\xff"}]`, `[{"product_id":"é","size":"M"}]`, `[{"product_id":"x","position":-0}]`,
	`[{"product_id":"x","position":01}]`, `[{"product_id":"x"},]`, `[{"product_id":"x"}] x`, `[{"product_id":true}]`,
	`[{"product_id":"x","price":"1"}]`, `[{"product_id":"x","quantity":2.5}]`, `[{"product_id":-1.5e+3}]`,
}

func TestParseProductsMatchesEncodingJSON(t *testing.T) {
	for _, s := range productSeeds {
		got, err := parseProducts(s, nil)
		want, werr := viaJSON(s)
		if (err == nil) != (werr == nil) || (err == nil && !sameRefs(got, want)) {
			t.Errorf("%q: got %v, %v; encoding/json %v, %v", s, got, err, want, werr)
		}
	}
	// The lake's canonical form takes the fast path.
	for _, s := range productSeeds[:3] {
		if _, err := fastProducts(s, nil); err != nil {
			t.Errorf("%q: fast parser refused the canonical form: %v", s, err)
		}
	}
	got, _ := fastProducts(productSeeds[2], nil)
	if len(got) != 1 || got[0] != (productRef{ID: "12345", Position: 3, Size: "9.5"}) {
		t.Errorf("numbers as ids and sizes keep their text: %+v", got)
	}
}

func FuzzParseProducts(f *testing.F) {
	for _, s := range productSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, werr := viaJSON(s)
		if fast, err := fastProducts(s, nil); err == nil {
			if werr != nil || !sameRefs(fast, want) {
				t.Fatalf("%q: fast parser says %v; encoding/json %v, %v", s, fast, want, werr)
			}
		}
		got, err := parseProducts(s, nil)
		if (err == nil) != (werr == nil) || (err == nil && !sameRefs(got, want)) {
			t.Fatalf("%q: got %v, %v; encoding/json %v, %v", s, got, err, want, werr)
		}
	})
}

func BenchmarkParseProducts(b *testing.B) {
	s := `[`
	for i := 1; i <= 48; i++ {
		if i > 1 {
			s += ","
		}
		s += `{"product_id":"P0112` + string(rune('0'+i%10)) + `7","position":` + json.Number(string(rune('0'+i%10))).String() + `}`
	}
	s += `]`
	b.ReportAllocs()
	var buf []productRef
	for b.Loop() {
		buf, _ = parseProducts(s, buf)
	}
}

func BenchmarkParseProductsEncodingJSON(b *testing.B) {
	s := `[`
	for i := 1; i <= 48; i++ {
		if i > 1 {
			s += ","
		}
		s += `{"product_id":"P0112` + string(rune('0'+i%10)) + `7","position":` + json.Number(string(rune('0'+i%10))).String() + `}`
	}
	s += `]`
	b.ReportAllocs()
	for b.Loop() {
		var refs []event.ProductRef
		_ = json.Unmarshal([]byte(s), &refs)
	}
}
