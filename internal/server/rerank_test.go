package server

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"testing"
)

// sameInput reports whether two decoded requests are equal (NaN scores are equal).
func sameInput(a, b *rerankInput) bool {
	if a.customerID != b.customerID || a.anonymousID != b.anonymousID || a.query != b.query ||
		len(a.ids) != len(b.ids) || len(a.scores) != len(b.scores) {
		return false
	}
	for i := range a.ids {
		x, y := a.scores[i], b.scores[i]
		if a.ids[i] != b.ids[i] || (x != y && !(math.IsNaN(x) && math.IsNaN(y))) {
			return false
		}
	}
	return true
}

var rerankBodies = []string{
	`{"customer_id":"c1","query":"black boots","items":[{"product_id":"p1","score":2.5},{"product_id":"p2","score":-1e3}]}`,
	` { "anonymous_id" : "a-9" , "items" : [ { "score" : null , "product_id" : 12345 } ] , "query" : "" } `,
	`{"items":[{"product_id":"p1"},{"product_id":"p2","score":0}]}`,
	"{\"items\":[{\"product_id\":\"caf\u00e9 \u65e5\",\"score\":1E-7}],\"query\":\"bottes d'\u00e9t\u00e9\"}",
	`{"query":"caf\u00e9","items":[{"product_id":"p1"}]}`, // an escape: the standard decoder
	`{"items":[{"product_id":-0.5e+2,"score":-0}]}`,
	// left to the standard decoder:
	`{"items":[]}`, `{}`, `{"items":[{"score":1}]}`, `{"items":[{"product_id":""}]}`, `{"items":[{"product_id":null}]}`,
	`{"Customer_ID":"c1","items":[{"product_id":"p1"}]}`, `{"query":"a\"b","items":[{"product_id":"p1"}]}`,
	`{"items":[{"product_id":"p1","score":1e400}]}`, `{"items":[{"product_id":"p1","extra":[1,{}]}]}`,
	`{"query":"q","query":"r","items":[{"product_id":"p1"}]}`, `{"items":[{"product_id":"p1"}]} x`,
	`{"items":[{"product_id":"p1","score":01}]}`, `{"items":[{"product_id":"p1","score":1.}]}`,
	`{"items":[{"product_id":"bad` + "\xff" + `"}]}`, `{"items":[{"product_id":"p1"},]}`, `[1]`, ``, `null`,
	`{"items":[{"product_id":"p1","score":"3"}]}`, `{"customer_id":7,"items":[{"product_id":"p1"}]}`,
}

func TestRerankFastParseAgreesWithEncodingJSON(t *testing.T) {
	fastOK := 0
	for _, body := range rerankBodies {
		var fast, std rerankInput
		ok := fast.parseFast([]byte(body))
		fe := std.parseStd([]byte(body))
		if ok {
			fastOK++
			if fe != nil {
				t.Errorf("fast path accepted %s, encoding/json refused: %s", body, fe.Reason)
			} else if !sameInput(&fast, &std) {
				t.Errorf("%s: fast %+v, encoding/json %+v", body, fast, std)
			}
		}
	}
	if fastOK != 5 {
		t.Fatalf("the fast path took %d of the 5 bodies of the usual shape", fastOK)
	}
	// The load generator's shape and the limit.
	var b strings.Builder
	b.WriteString(`{"customer_id":"c42","query":"running shoes","items":[`)
	for i := range maxRerank {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"product_id":"p` + strconv.Itoa(i) + `","score":` + strconv.FormatFloat(float64(i)/7, 'g', -1, 64) + `}`)
	}
	var in rerankInput
	if !in.parseFast([]byte(b.String()+"]}")) || len(in.ids) != maxRerank || in.ids[999] != "p999" || in.scores[7] != 1 {
		t.Fatalf("1000 items: %d ids", len(in.ids))
	}
	if in.parseFast([]byte(b.String() + `,{"product_id":"one too many"}]}`)) {
		t.Fatal("the fast path must leave 1001 items to the standard decoder (which refuses them)")
	}
	if fe := in.parseStd([]byte(b.String() + `,{"product_id":"one too many"}]}`)); fe == nil || fe.Field != "items" {
		t.Fatalf("1001 items: %+v", fe)
	}
}

func FuzzRerankParse(f *testing.F) {
	for _, body := range rerankBodies {
		f.Add([]byte(body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var fast, std rerankInput
		if !fast.parseFast(body) {
			return
		}
		if fe := std.parseStd(body); fe != nil {
			t.Fatalf("fast path accepted %q, encoding/json refused: %s", body, fe.Reason)
		}
		if !sameInput(&fast, &std) {
			t.Fatalf("%q: fast %+v, encoding/json %+v", body, fast, std)
		}
		if !json.Valid(body) {
			t.Fatalf("fast path accepted invalid JSON %q", body)
		}
	})
}

func TestSearchAnswersAnEmptyListNotNull(t *testing.T) {
	_, ts := newTestServer(t)
	for range 2 { // the second request reuses pooled buffers
		code, m := do(t, "GET", ts.URL+"/v1/search?q=zzzqqqxxx", "", "")
		if code != 200 {
			t.Fatalf("search: %d %v", code, m)
		}
		if list, ok := m["results"].([]any); !ok || len(list) != 0 {
			t.Fatalf("no match must answer \"results\":[], got %#v", m["results"])
		}
	}
}
