package size

import (
	"bytes"
	"context"
	"math"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/bespokesearch/bespoke/internal/catalog"
)

var (
	smallOnce  sync.Once
	smallWorld *world
	smallModel *Model
)

// small is a trained model on a small world, shared by the tests and benchmarks here.
func small(t testing.TB) (*world, *Model) {
	smallOnce.Do(func() {
		smallWorld = newWorld(21, 400, 50)
		tr := NewTrainer(Options{})
		for _, o := range smallWorld.obs {
			if err := tr.AddObservation(o); err != nil {
				panic(err)
			}
		}
		for _, s := range smallWorld.surveys {
			if err := tr.AddSurvey(s); err != nil {
				panic(err)
			}
		}
		m, err := tr.Fit(context.Background())
		if err != nil {
			panic(err)
		}
		smallModel = m
	})
	return smallWorld, smallModel
}

func TestProfileEncoding(t *testing.T) {
	_, m := small(t)
	maxLen, total, n := 0, 0, 0
	err := m.Profiles(func(id string, p *Profile) error {
		b, err := p.MarshalBinary()
		if err != nil {
			return err
		}
		maxLen = max(maxLen, len(b))
		total += len(b)
		n++
		var q Profile
		if err := q.UnmarshalBinary(b); err != nil {
			t.Fatalf("profile of %s: %v", id, err)
		}
		if len(q.Sizes) != len(p.Sizes) {
			t.Fatalf("profile of %s: %d entries back, want %d", id, len(q.Sizes), len(p.Sizes))
		}
		for i := range p.Sizes {
			a, c := p.Sizes[i], q.Sizes[i]
			if a.System != c.System || a.Wearer != c.Wearer || a.Survey != c.Survey || a.Width != c.Width || a.Gender != c.Gender ||
				a.N != c.N || a.LastDay != c.LastDay || math.Abs(float64(a.Mean-c.Mean)) > 0.006 || math.Abs(float64(a.SD-c.SD)) > 0.0006 {
				t.Fatalf("profile of %s entry %d: %+v back as %+v", id, i, a, c)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d profiles: mean %.1f bytes, max %d bytes", n, float64(total)/float64(n), maxLen)
	if maxLen > 250 || n == 0 {
		t.Errorf("largest profile is %d bytes; the online store budget is 250", maxLen)
	}
	for _, b := range [][]byte{nil, {2}, {1, 20}, {1, 1, 0}, {1, 1, 1, 0, 0, 0, 0, 0, 0, 7}} {
		var q Profile
		if err := q.UnmarshalBinary(b); err == nil {
			t.Errorf("UnmarshalBinary(%v) accepted", b)
		}
	}
}

func TestModelEncoding(t *testing.T) {
	wd, m := small(t)
	b, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	m2, err := UnmarshalModel(b)
	if err != nil {
		t.Fatal(err)
	}
	b2, _ := m2.MarshalBinary()
	if !bytes.Equal(b, b2) {
		t.Error("model does not re-encode to the same bytes")
	}
	t.Logf("model: %d bytes for %d brands, %d products", len(b), len(m.brands), len(m.products))
	ids := make([]string, 0, len(wd.custs))
	for id := range wd.custs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	pids := make([]string, 0, len(wd.products))
	for id := range wd.products {
		pids = append(pids, id)
	}
	sort.Strings(pids)
	for i, id := range ids[:100] {
		prof, _ := m.Profile(id)
		pb, _ := prof.MarshalBinary()
		var q Profile
		if err := q.UnmarshalBinary(pb); err != nil {
			t.Fatal(err)
		}
		p := wd.products[pids[i*7%len(pids)]]
		var a, c Recommendation
		m.RecommendProfile(prof, p, &a)
		m2.RecommendProfile(&q, p, &c)
		if a.RecommendedSize != c.RecommendedSize || a.FitNote != c.FitNote || math.Abs(a.Confidence-c.Confidence) > 0.01 {
			t.Errorf("customer %s product %s: %s %.3f %q before encoding, %s %.3f %q after", id, p.ProductID, a.RecommendedSize, a.Confidence, a.FitNote, c.RecommendedSize, c.Confidence, c.FitNote)
		}
	}
	if f1, f2 := m.ProductFit(pids[0]), m2.ProductFit(pids[0]); !reflect.DeepEqual(f1, f2) {
		t.Errorf("product fit %+v became %+v", f1, f2)
	}
	// body model survives: a survey-only profile is the same from both
	s := Survey{CustomerID: "z", HeightCM: 170, WeightKG: 70, Age: 30, Gender: "female"}
	p1, _ := m.ProfileFromSurvey(nil, s)
	p2, _ := m2.ProfileFromSurvey(nil, s)
	if !reflect.DeepEqual(p1, p2) {
		t.Errorf("survey profile %+v became %+v", p1, p2)
	}
	for _, cut := range []int{0, 3, 5, len(b) / 2, len(b) - 1} {
		if _, err := UnmarshalModel(b[:cut]); err == nil {
			t.Errorf("truncated model (%d of %d bytes) accepted", cut, len(b))
		}
	}
	var it ItemFit
	ib, _ := m.products[pids[0]].MarshalBinary()
	if err := it.UnmarshalBinary(ib); err != nil || it != *m.products[pids[0]] {
		t.Errorf("item fit round trip: %+v, %v", it, err)
	}
}

func FuzzProfileUnmarshal(f *testing.F) {
	p := Profile{Sizes: []TrueSize{{System: SystemUSShoe, Mean: 9.5, SD: 0.3, N: 4, LastDay: 20000, Width: WidthWide, Gender: genderMale},
		{System: SystemAlpha, Wearer: 1, Survey: true, Mean: 3.2, SD: 0.6},
		{System: SystemUSShoe, Mean: 3.5, SD: 0.4, N: 1, Gender: genderKids}}}
	b, err := p.MarshalBinary()
	if err != nil {
		f.Fatal(err)
	}
	var q Profile
	if err := q.UnmarshalBinary(b); err != nil || len(q.Sizes) != 3 || q.Sizes[2].Gender != genderKids {
		f.Fatalf("a child's entry does not survive encoding: %+v (%v)", q.Sizes, err)
	}
	f.Add(b)
	f.Add([]byte{1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		var q Profile
		if err := q.UnmarshalBinary(b); err != nil {
			return
		}
		out, err := q.MarshalBinary()
		if err != nil {
			t.Fatalf("decoded profile %+v does not encode: %v", q, err)
		}
		var r Profile
		if err := r.UnmarshalBinary(out); err != nil || !reflect.DeepEqual(q, r) {
			t.Fatalf("re-decode: %+v vs %+v (%v)", q, r, err)
		}
	})
}

func FuzzModelUnmarshal(f *testing.F) {
	_, m := small(f)
	b, _ := m.MarshalBinary()
	f.Add(b[:min(len(b), 4096)])
	f.Add([]byte(modelMagic + "\x01"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := UnmarshalModel(b)
		if err != nil {
			return
		}
		// a model that decodes must serve without panicking
		var r Recommendation
		m.RecommendProfile(nil, &catalog.Product{ProductID: "x", SizeSystem: "alpha", Sizes: alphaLabelsAll()}, &r)
		m.ProfileFromSurvey(nil, Survey{CustomerID: "x", HeightCM: 170, WeightKG: 70, Age: 30})
	})
}

func FuzzReadBodyTable(f *testing.F) {
	f.Add("weight,age,height,size\n53,65,160.02,M\n51,,160.02,XXS\n")
	f.Add("size,height,weight\nXL,180,90\n")
	f.Add("weight,height,size\n-1,2,M\n")
	f.Fuzz(func(t *testing.T, s string) {
		rows, err := ReadBodyTable(strings.NewReader(s))
		if err != nil {
			return
		}
		for _, r := range rows {
			if !(r.WeightKG > 0) || r.Size < 0 || r.Size > 7 || r.HeightCM < 0 {
				t.Fatalf("row out of range: %+v", r)
			}
		}
	})
}

func BenchmarkRecommend(b *testing.B) {
	wd, m := small(b)
	ids := make([]string, 0, len(wd.custs))
	for id := range wd.custs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	pids := make([]string, 0, len(wd.products))
	for id := range wd.products {
		pids = append(pids, id)
	}
	sort.Strings(pids)
	var r Recommendation
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m.RecommendInto(ids[i%len(ids)], wd.products[pids[i%len(pids)]], &r)
	}
}

func BenchmarkRecommendAlloc(b *testing.B) {
	wd, m := small(b)
	p := wd.byGender["women|us_shoe"][0]
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		_ = m.Recommend("c00001", p)
	}
}
