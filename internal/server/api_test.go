package server

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/bespokesearch/bespoke/internal/jsonenc"
)

// stdJSON is what writeJSON (encoding/json without HTML escaping) writes for v.
func stdJSON(t testing.TB, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatalf("encoding/json: %v", err)
	}
	return buf.Bytes()
}

// awkward strings: escapes, control bytes, HTML characters, invalid UTF-8, U+2028/9.
var awkward = []string{"", "plain", `quo"te`, `back\slash`, "tab\tnew\nline\rcr", "\b\f\x00\x1f\x7f", "<a href='x'>&amp;</a>",
	"caf\u00e9 \u65e5\u672c \U0001F45F", "bad\xffutf8\xc3", "line\u2028sep\u2029", "\xed\xa0\x80", "\u0000"}

func randString(r *rand.Rand) string {
	if r.IntN(3) == 0 {
		return awkward[r.IntN(len(awkward))]
	}
	b := make([]byte, r.IntN(12))
	for i := range b {
		b[i] = byte(r.IntN(256))
	}
	return string(b)
}

func randFloat(r *rand.Rand) float64 {
	switch r.IntN(6) {
	case 0:
		return 0
	case 1:
		return math.Round(r.Float64()*1e6) / 1e4
	case 2:
		return r.NormFloat64() * 1e-7
	case 3:
		return r.NormFloat64() * 1e22
	default:
		return r.NormFloat64() * 100
	}
}

func TestSearchResponseEncodingMatchesEncodingJSON(t *testing.T) {
	// A field added to searchResult must be added to the hand-written encoder and here:
	// the sample below sets every field but the explanations (encoded by encoding/json).
	sample := searchResult{ProductID: "p", Score: 1, Name: "n", Brand: "b", Category: "c", Color: "k", Gender: "g",
		Price: 1, RecommendedSize: "9", InStockInSize: true, Team: "control"}
	sv := reflect.ValueOf(sample)
	for i := range sv.NumField() {
		if f := sv.Type().Field(i); f.Name != "Explain" && sv.Field(i).IsZero() {
			t.Fatalf("searchResult.%s is new: encode it in appendSearchResult and set it in this test", f.Name)
		}
	}
	if got, want := appendSearchResponse(nil, &searchResponse{Results: []searchResult{sample}}), stdJSON(t, searchResponse{Results: []searchResult{sample}}); !bytes.Equal(got, want) {
		t.Fatalf("full result:\n got %s\nwant %s", got, want)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for n := range 2000 {
		resp := searchResponse{SearchID: randString(r), Personalized: r.IntN(2) == 0, Arm: randString(r),
			ModelVersion: randString(r), TookMS: randFloat(r), Total: r.IntN(100000) - 5}
		if n%50 != 0 { // keep a nil list now and then: encoding/json writes null
			resp.Results = make([]searchResult, r.IntN(5))
		}
		for i := range resp.Results {
			resp.Results[i] = searchResult{ProductID: randString(r), Score: float32(randFloat(r)), Name: randString(r),
				Brand: randString(r), Category: randString(r), Color: randString(r), Gender: randString(r),
				Price: randFloat(r), RecommendedSize: randString(r), InStockInSize: r.IntN(2) == 0, Team: randString(r)}
		}
		want := stdJSON(t, resp)
		if got := appendSearchResponse(nil, &resp); !bytes.Equal(got, want) {
			t.Fatalf("search answer %d:\n got %s\nwant %s", n, got, want)
		}
	}
}

func TestRerankResponseEncodingMatchesEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for n := range 2000 {
		items := make([]rerankItem, r.IntN(6))
		for i := range items {
			items[i] = rerankItem{ProductID: randString(r), Score: float32(randFloat(r))}
		}
		version, pers, took := randString(r), r.IntN(2) == 0, randFloat(r)
		want := stdJSON(t, map[string]any{"personalized": pers, "model_version": version, "took_ms": took, "items": items})
		if got := appendRerankResponse(nil, items, version, pers, took); !bytes.Equal(got, want) {
			t.Fatalf("rerank answer %d:\n got %s\nwant %s", n, got, want)
		}
	}
}

func TestNonFiniteScoresStayValidJSON(t *testing.T) {
	items := []rerankItem{{ProductID: "a", Score: float32(math.NaN())}, {ProductID: "b", Score: float32(math.Inf(-1))}}
	b := appendRerankResponse(nil, items, "v", false, math.Inf(1))
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("not JSON: %s: %v", b, err)
	}
	if m["took_ms"] != 0.0 || m["items"].([]any)[0].(map[string]any)["score"] != 0.0 {
		t.Fatalf("non-finite numbers must be written as 0: %s", b)
	}
}

func TestWriteJSONBytesSetsLength(t *testing.T) {
	rec := httptest.NewRecorder()
	body := []byte(`{"a":1}` + "\n" + strings.Repeat(" ", 5000))
	writeJSONBytes(rec, 200, body)
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/json" || rec.Header().Get("Content-Length") != "5008" {
		t.Fatalf("got %d %v", rec.Code, rec.Header())
	}
	if !bytes.Equal(rec.Body.Bytes(), body) {
		t.Fatal("body changed")
	}
}

// FuzzJSONString checks the hand-written string and number encoders against encoding/json.
func FuzzJSONString(f *testing.F) {
	for _, s := range awkward {
		f.Add(s, 1.5)
	}
	f.Add("x", 1e-7)
	f.Add("y", 1e21)
	f.Add("z", -0.0)
	f.Fuzz(func(t *testing.T, s string, x float64) {
		if math.IsNaN(x) || math.IsInf(x, 0) || math.IsInf(float64(float32(x)), 0) {
			return // encoding/json refuses them; see TestNonFiniteScoresStayValidJSON
		}
		want := stdJSON(t, struct {
			S   string  `json:"s"`
			F64 float64 `json:"f"`
			F32 float32 `json:"g"`
		}{s, x, float32(x)})
		got := jsonenc.AppendString(appendKey([]byte{'{'}, "s", true), s)
		got = appendJSONFloat(appendKey(got, "f", false), x, 64)
		got = appendJSONFloat(appendKey(got, "g", false), float64(float32(x)), 32)
		got = append(got, '}', '\n')
		if !bytes.Equal(got, want) {
			t.Fatalf("got %s want %s", got, want)
		}
	})
}
