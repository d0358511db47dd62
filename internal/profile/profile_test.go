package profile

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/bespokesearch/bespoke/internal/catalog"
	"github.com/bespokesearch/bespoke/internal/event"
)

const day = 24 * 3600

func TestApplyLearnsAffinities(t *testing.T) {
	var p Profile
	t0 := int64(1_790_000_000)
	for i := 0; i < 5; i++ {
		p.Apply(Clicked, Item{ID: fmt.Sprint("n", i), Brand: "Nimbus", Category: "running", Color: "black", Price: 120}, t0+int64(i))
	}
	p.Apply(Purchased, Item{ID: "z", Brand: "Zephyr", Category: "boots", Price: 200}, t0+10)
	if math.Abs(float64(p.Weight(Brand, Hash("nimbus")))-5) > 1e-3 || p.Weight(Brand, Hash("Zephyr")) != 4 {
		t.Fatalf("weights: %+v", p.Facets[Brand])
	}
	liked := p.Lift(Brand, Hash("Nimbus"), 0.02, 5)
	unknown := p.Lift(Brand, Hash("Other"), 0.02, 5)
	if !(liked > 0 && unknown < 0) {
		t.Errorf("lift liked=%v unknown=%v", liked, unknown)
	}
	var empty Profile
	if l := empty.Lift(Brand, Hash("Nimbus"), 0.02, 5); math.Abs(float64(l)) > 1e-6 {
		t.Errorf("an empty profile must have no lift, got %v", l)
	}
	if p.Recent[0] != Hash("z") || len(p.Recent) != 6 {
		t.Errorf("recent = %v", p.Recent)
	}
	if p.PriceFit(125) <= p.PriceFit(30) {
		t.Errorf("a usual price must fit better than an unusual one: %v vs %v", p.PriceFit(125), p.PriceFit(30))
	}
}

func TestDecayHalvesAfterHalfLife(t *testing.T) {
	var p Profile
	p.Apply(Purchased, Item{Brand: "A"}, 1000)
	p.Decay(1000 + int64(HalfLife.Seconds()))
	if w := p.Weight(Brand, Hash("A")); math.Abs(float64(w)-2) > 1e-3 {
		t.Fatalf("weight after one half-life = %v, want 2", w)
	}
}

func TestSizeReturnIsNotANegative(t *testing.T) {
	var p Profile
	p.Apply(Purchased, Item{ID: "x", Brand: "A"}, 100)
	p.Apply(ReturnedForSize, Item{ID: "x", Brand: "A"}, 200)
	if w := p.Weight(Brand, Hash("A")); w < 3.99 {
		t.Errorf("a size return must not count against the brand: %v", w)
	}
	p.Apply(ReturnedOther, Item{ID: "x", Brand: "A"}, 300)
	if w := p.Weight(Brand, Hash("A")); w > 1.01 {
		t.Errorf("a quality return must count against the brand: %v", w)
	}
}

func TestFacetsKeepStrongest(t *testing.T) {
	var p Profile
	for i := 0; i < 20; i++ {
		for j := 0; j <= i; j++ {
			p.Apply(Clicked, Item{Brand: fmt.Sprint("b", i)}, 100)
		}
	}
	if len(p.Facets[Brand]) != MaxPerFacet || p.Facets[Brand][0].Key != Hash("b19") {
		t.Fatalf("facets = %+v", p.Facets[Brand])
	}
}

func TestMergeAnonymousSession(t *testing.T) {
	var user, anon Profile
	user.Apply(Purchased, Item{ID: "u1", Brand: "A", Price: 50}, 100)
	anon.Apply(Clicked, Item{ID: "a1", Brand: "B", Price: 60}, 200)
	user.Merge(&anon)
	if user.Weight(Brand, Hash("B")) != 1 || user.Events != 2 || user.Recent[0] != Hash("a1") {
		t.Fatalf("merged = %+v", user)
	}
}

func TestEncodingRoundTripAndSize(t *testing.T) {
	var p Profile
	t0 := int64(1_790_000_000)
	for i := 0; i < 200; i++ {
		p.Apply(Interaction(i%4), Item{ID: fmt.Sprint("p", i), Brand: fmt.Sprint("b", i%13), Category: fmt.Sprint("c", i%11), Color: fmt.Sprint("col", i%9), Style: fmt.Sprint("s", i%10), Gender: []string{"men", "women", "unisex", "kids"}[i%4], Price: float64(20 + i)}, t0+int64(i)*day/10)
	}
	p.OptedOut = true
	p.Sizes = []SizePrediction{{1, 9.5, 0.8}, {2, 3, 0.6}, {3, 32, 0.5}}
	b, err := p.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 250 {
		t.Errorf("a full profile encodes to %d bytes, over the 250-byte budget", len(b))
	}
	var q Profile
	if err := q.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if q.Updated != p.Updated || q.Events != p.Events || !q.OptedOut || q.Total != p.Total || len(q.Recent) != len(p.Recent) || q.Recent[0] != p.Recent[0] {
		t.Fatalf("round trip differs:\n%+v\n%+v", p, q)
	}
	for fi := range p.Facets {
		for i, a := range p.Facets[fi] {
			if b := q.Facets[fi][i]; b.Key != a.Key || math.Abs(float64(b.Weight-a.Weight)) > 0.01*math.Abs(float64(a.Weight))+1e-6 {
				t.Fatalf("facet %d entry %d: %+v != %+v", fi, i, b, a)
			}
		}
	}
	if s, ok := q.SizeFor(1); !ok || s.Size != 9.5 || math.Abs(float64(s.Conf)-0.8) > 0.01 {
		t.Fatalf("size = %+v", s)
	}
	again, _ := q.MarshalBinary()
	if !reflect.DeepEqual(again, b) {
		t.Fatal("decode+encode must reproduce the bytes")
	}
	if err := q.UnmarshalBinary(b[:len(b)-1]); err == nil {
		t.Error("a truncated profile must not decode")
	}
	t.Logf("full profile: %d bytes", len(b))
}

func FuzzUnmarshalBinary(f *testing.F) {
	var p Profile
	p.Apply(Purchased, Item{ID: "x", Brand: "A", Price: 10}, 100)
	b, _ := p.MarshalBinary()
	f.Add(b)
	f.Add([]byte{1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		var p Profile
		if err := p.UnmarshalBinary(b); err != nil {
			return
		}
		again, _ := p.MarshalBinary()
		var q Profile
		if err := q.UnmarshalBinary(again); err != nil {
			t.Fatalf("re-encoded profile does not decode: %v", err)
		}
	})
}

func BenchmarkUnmarshal(b *testing.B) {
	var p Profile
	for i := 0; i < 100; i++ {
		p.Apply(Clicked, Item{ID: fmt.Sprint(i), Brand: fmt.Sprint(i % 10), Category: fmt.Sprint(i % 7), Price: 50}, int64(i))
	}
	enc, _ := p.MarshalBinary()
	b.ReportAllocs()
	var q Profile
	for b.Loop() {
		if err := q.UnmarshalBinary(enc); err != nil {
			b.Fatal(err)
		}
	}
}

func TestApplyEvent(t *testing.T) {
	b, err := event.ParseBatch([]byte(`{"batch":[
	 {"type":"track","event":"Product Clicked","userId":"u","timestamp":"2026-11-01T10:00:00Z","properties":{"product_id":"p1","position":1}},
	 {"type":"track","event":"Order Completed","userId":"u","timestamp":"2026-11-01T10:05:00Z","properties":{"order_id":"o","products":[{"product_id":"p1","size":"9"},{"product_id":"p2"}]}},
	 {"type":"track","event":"Product Returned","userId":"u","timestamp":"2026-11-05T10:05:00Z","properties":{"order_id":"o","product_id":"p2","size":"9","reason":"quality"}},
	 {"type":"track","event":"Personalization Opted Out","userId":"u","timestamp":"2026-11-06T10:05:00Z"},
	 {"type":"track","event":"Product List Viewed","userId":"u","timestamp":"2026-11-06T10:05:00Z","properties":{"search_id":"s","products":[{"product_id":"p1","position":1}]}}
	]}`), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cat := map[string]Item{"p1": {ID: "p1", Brand: "A", Price: 50, SizeSystem: 1}, "p2": {ID: "p2", Brand: "B", Price: 70}}
	lookup := func(id string) (Item, bool) { it, ok := cat[id]; return it, ok }
	var p Profile
	changed := 0
	for i := range b.Events {
		if p.ApplyEvent(&b.Events[i], lookup) {
			changed++
		}
	}
	if changed != 4 {
		t.Errorf("changed = %d, want 4 (impressions do not shape the profile)", changed)
	}
	if !p.OptedOut || p.Weight(Brand, Hash("A")) < 4.5 || p.Weight(Brand, Hash("B")) > 1.01 {
		t.Errorf("profile = %+v", p)
	}
	if s, ok := p.SizeFor(1); !ok || s.Size != 9 {
		t.Errorf("a purchase in size 9 must predict 9, got %+v", p.Sizes)
	}
	p.ObserveSize(1, 9, 1) // returned 9 as too small
	if s, _ := p.SizeFor(1); s.Size <= 9 || s.Size > 9.5 {
		t.Errorf("a too-small return must move the prediction up: %+v", s)
	}
	if id, anon := Subject(&b.Events[0]); id != "u" || anon {
		t.Errorf("subject = %q %v", id, anon)
	}
}

// Profiles written before the Gender facet existed (encoding version 1: four facets)
// or before the Width facet (version 2: five) still decode, with no affinities for
// the facets they lack.
func TestDecodesOlderVersions(t *testing.T) {
	var p Profile
	for i := 0; i < 20; i++ {
		p.Apply(Purchased, Item{ID: fmt.Sprint("p", i), Brand: fmt.Sprint("b", i%3), Category: "c", Color: "col", Style: "s", Price: 30}, int64(1000+i))
	}
	p.Sizes = []SizePrediction{{1, 9.5, 0.8}}
	b, err := p.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	// the empty counts of the gender and width facets come just before the recent
	// items and the sizes; an older version has the same bytes without the newer ones
	last := len(b) - (1 + 4*len(p.Recent)) - (1 + 4*len(p.Sizes)) - 1
	for _, c := range []struct {
		version byte
		drop    int // facet counts the version lacks
	}{{1, 2}, {2, 1}} {
		from := last - c.drop + 1
		for g := from; g <= last; g++ {
			if b[g] != 0 {
				t.Fatalf("byte %d is %d, not an empty facet's count", g, b[g])
			}
		}
		old := append(append([]byte{c.version}, b[1:from]...), b[last+1:]...)
		var q Profile
		if err := q.UnmarshalBinary(old); err != nil {
			t.Fatalf("version %d: %v", c.version, err)
		}
		if q.Weight(Brand, Hash("b1")) == 0 || len(q.Facets[Gender]) != 0 || len(q.Facets[Width]) != 0 || len(q.Recent) != len(p.Recent) || len(q.Sizes) != 1 || q.Total != p.Total {
			t.Fatalf("version %d decoded as %+v", c.version, q)
		}
		old[0] = 4
		if err := q.UnmarshalBinary(old); err == nil || !strings.Contains(err.Error(), "version 4") {
			t.Errorf("an unknown version: %v", err)
		}
	}
}

// A shoe's width is a facet: a customer who clicks wide shoes has an affinity for
// wide, and ItemOf reads it from the catalog attribute.
func TestWidthAffinity(t *testing.T) {
	var p Profile
	for i := 0; i < 6; i++ {
		p.Apply(Clicked, ItemOf(&catalog.Product{ProductID: fmt.Sprint("w", i), Brand: "b", Attributes: map[string]any{"width": " Wide"}}), int64(1000+i))
	}
	p.Apply(Clicked, Item{ID: "m", Brand: "b", Width: "medium"}, 2000)
	wide, narrow := p.Lift(Width, Hash("wide"), 0.2, 5), p.Lift(Width, Hash("narrow"), 0.2, 5)
	if !(wide > 0 && narrow < 0) {
		t.Errorf("after clicking wide shoes: lift of wide %v, of narrow %v", wide, narrow)
	}
	if it := ItemOf(&catalog.Product{ProductID: "x", Attributes: map[string]any{"width": 3}}); it.Width != "" {
		t.Errorf("a width that is not text: %q", it.Width)
	}
	// a medium shoe clicked, then returned as not as pictured, leaves wide as liked as
	// if it had never been clicked, not more (a negative weight does not shrink the total)
	p.Apply(ReturnedOther, Item{ID: "m", Brand: "b", Width: "medium"}, 2001)
	var only Profile
	for i := 0; i < 6; i++ {
		only.Apply(Clicked, Item{ID: fmt.Sprint("w", i), Brand: "b", Width: "wide"}, int64(1000+i))
	}
	only.Decay(2001)
	if got, want := p.Lift(Width, Hash("wide"), 0.2, 5), only.Lift(Width, Hash("wide"), 0.2, 5); got > want+1e-4 {
		t.Errorf("after a medium shoe returned: lift of wide %v, above %v of the wide clicks alone", got, want)
	}
}

func TestGenderAffinity(t *testing.T) {
	var p Profile
	for i := 0; i < 6; i++ {
		p.Apply(Clicked, Item{ID: fmt.Sprint("m", i), Brand: "b", Gender: "men"}, int64(1000+i))
	}
	p.Apply(Clicked, Item{ID: "u", Brand: "b", Gender: "unisex"}, 2000)
	men, women := p.Lift(Gender, Hash("men"), 0.4, 5), p.Lift(Gender, Hash("women"), 0.4, 5)
	if !(men > 0 && women < 0) {
		t.Errorf("a customer who clicks men's products: lift men %.2f, women %.2f", men, women)
	}
}

// The width lift is a share of the customer's shoes: buying many shirts does not make
// every width look disliked, and a value returned more than bought stays a number.
func TestWidthLiftIsAmongShoes(t *testing.T) {
	var p Profile
	for i := 0; i < 40; i++ {
		p.Apply(Purchased, Item{ID: fmt.Sprint("shirt", i), Brand: "b"}, int64(1000+i))
	}
	for i := 0; i < 3; i++ {
		p.Apply(Purchased, Item{ID: fmt.Sprint("shoe", i), Brand: "b", Width: "medium"}, int64(2000+i))
	}
	if l := p.Lift(Width, Hash("medium"), 0.8, 5); l <= 0 {
		t.Errorf("a customer whose every shoe is medium: lift of medium %v, want > 0", l)
	}
	if l := p.Lift(Width, Hash("wide"), 0.1, 5); l >= 0 {
		t.Errorf("… and of wide %v, want < 0", l)
	}
	var q Profile
	q.Apply(ReturnedOther, Item{ID: "x", Width: "wide"}, 1000) // no slot: a negative signal about something never liked
	q.Facets[Width] = []Affinity{{Hash("wide"), -12}}
	if l := q.Lift(Width, Hash("wide"), 0.1, 5); math.IsNaN(float64(l)) || math.IsInf(float64(l), 0) {
		t.Errorf("a width returned more than bought: lift %v", l)
	}
}

// A fit survey's shoe width is the customer's width affinity until their shoes say
// otherwise: it weighs like two purchases.
func TestSurveyStatesWidth(t *testing.T) {
	var p Profile
	ev := &event.Event{Type: event.TypeTrack, Event: event.FitSurveyCompleted, UserID: "u", Timestamp: time.Unix(1000, 0),
		Properties: json.RawMessage(`{"height_cm":180,"shoe_width":" Wide"}`)}
	if !p.ApplyEvent(ev, func(string) (Item, bool) { return Item{}, false }) {
		t.Fatal("a survey with a shoe width did not change the profile")
	}
	if l := p.Lift(Width, Hash("wide"), 0.12, 5); l <= 0 {
		t.Errorf("stated wide: lift of wide %v", l)
	}
	if l := p.Lift(Width, Hash("medium"), 0.8, 5); l >= 0 {
		t.Errorf("stated wide: lift of medium %v", l)
	}
	// the survey's and the catalog's words for a width meet: "2E" stated, "W" in the catalog
	var r Profile
	ev.Properties = json.RawMessage(`{"shoe_width":"2E"}`)
	r.ApplyEvent(ev, func(string) (Item, bool) { return Item{}, false })
	w := ItemOf(&catalog.Product{ProductID: "s", Attributes: map[string]any{"width": "W"}}).Width
	if l := r.Lift(Width, Hash(w), 0.12, 5); w != "wide" || l <= 0 {
		t.Errorf("stated 2E: the catalog's W reads %q, lift %v", w, l)
	}
	var q Profile
	ev.Properties = json.RawMessage(`{"height_cm":180}`)
	if q.ApplyEvent(ev, func(string) (Item, bool) { return Item{}, false }) {
		t.Error("a survey without a shoe width changed the profile")
	}
}
