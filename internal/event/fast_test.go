package event

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

// typicalBody is what SDKs and the load generator send: the fast path must take it.
const typicalBody = `{"sentAt":"2026-11-26T09:59:59.123Z","batch":[
 {"type":"track","event":"Products Searched","userId":"c1","messageId":"m1","timestamp":"2026-11-26T09:59:58.5Z","properties":{"query":"black boots","search_id":"s1","filters":{"brand":["x"]}},"context":{"page":{"path":"/search"},"userAgent":"Mozilla/5.0 (X11; Linux) \"quoted\""}},
 {"type":"track","event":"Product List Viewed","anonymousId":"a1","messageId":"m2","properties":{"search_id":"s1","products":[{"product_id":"p1","position":1},{"product_id":22,"position":2,"price":9.5}]}},
 {"type":"track","event":"Product Clicked","userId":"c1","messageId":"m3","properties":{"product_id":123,"position":2,"search_id":"s1","name":"Boot"}},
 {"type":"track","event":"Order Completed","userId":"c1","messageId":"m4","properties":{"order_id":77,"products":[{"product_id":"p1","size":9.5,"price":120,"quantity":1}],"revenue":120.5}},
 {"type":"track","event":"Fit Survey Completed","userId":"c1","messageId":"m5","properties":{"height_cm":180,"usual_sizes":[{"brand":"b","category":"shoes","size":"10"}]}},
 {"type":"identify","userId":"c1","anonymousId":"a1","traits":{ "email" : "x@y" }},
 {"type":"page","name":"Home","userId":"c1","timestamp":null,"properties":null},
 {"type":"track","event":"Custom Thing","userId":"c1","properties":{"anything":[1,2,{"x":true}],"Query":5}}
], "context":{"library":{"name":"analytics.js"}}}`

func TestFastParseTakesTypicalBodiesAndMatchesSlow(t *testing.T) {
	fast, ok := fastParseBatch([]byte(typicalBody), now)
	if !ok {
		t.Fatal("the fast path refused a typical body")
	}
	slow, err := parseBatchJSON([]byte(typicalBody), now)
	if err != nil {
		t.Fatal(err)
	}
	sameBatch(t, fast, slow)
	if got := string(fast.Events[5].Traits); got != `{"email":"x@y"}` {
		t.Errorf("traits not compacted: %s", got)
	}
	if got := string(fast.Events[1].Context); got != `{"library":{"name":"analytics.js"}}` {
		t.Errorf("batch context not inherited: %s", got)
	}
	single := `{"event":"Product Viewed","userId":"u","writeKey":"k","sentAt":"2026-01-01T00:00:00Z","properties":{"product_id":"p1"}}`
	fb, ok := fastParseSingle([]byte(single), TypeTrack, now)
	if !ok {
		t.Fatal("the fast path refused a typical single event")
	}
	sb, err := parseSingleJSON([]byte(single), TypeTrack, now)
	if err != nil {
		t.Fatal(err)
	}
	sameBatch(t, fb, sb)
}

func TestFastParseBailsOutWhereJSONDecides(t *testing.T) {
	for _, body := range []string{
		`{"batch":[{"type":"track","event":"X","userId":"u","UserId":"v"}]}`, // case-folded key
		`{"batch":[{"type":"track","event":"X","userId":"u","userId":"v"}]}`, // duplicate key
		`{"batch":[{"type":"track","event":"X\u0041","userId":"u"}]}`,        // escaped string
		`{"batch":[{"type":"track","event":"X","userId":"u"}],"Batch":[]}`,   // case-folded batch key
		`{"batch":[{"type":"track","event":"X","userId":"u","writeKey":5}]}`, // wrong type in an unused field
		`{"batch":[{"type":"track","event":"Product Clicked","userId":"u","properties":{"product_id":"p","position":1.0}}]}`,
		`{"batch":[{"type":"track","event":"X","userId":"u"}]} x`,                     // trailing data
		`{"batch":[{"type":"track","event":"X","userId":"u","properties":[1]}]}`,      // not an object
		`{"batch":[{"type":"track","event":"X","userId":"u","properties":{"a":01}}]}`, // bad number
	} {
		if _, ok := fastParseBatch([]byte(body), now); ok {
			t.Errorf("fast path accepted %s", body)
		}
		// and the public function still answers like before
		fb, ferr := ParseBatch([]byte(body), now)
		sb, serr := parseBatchJSON([]byte(body), now)
		if (ferr == nil) != (serr == nil) || (ferr != nil && ferr.Error() != serr.Error()) {
			t.Errorf("%s: ParseBatch %v, encoding/json path %v", body, ferr, serr)
		}
		if ferr == nil {
			sameBatch(t, fb, sb)
		}
	}
}

func sameBatch(t *testing.T, fast, slow *Batch) {
	t.Helper()
	if !fast.SentAt.Equal(slow.SentAt) || fast.WriteKey != slow.WriteKey || len(fast.Events) != len(slow.Events) {
		t.Fatalf("batches differ:\nfast %+v\nslow %+v", fast, slow)
	}
	for i := range fast.Events {
		f, s := fast.Events[i], slow.Events[i]
		if f.MessageID != s.MessageID && generatedID(f.MessageID) && generatedID(s.MessageID) {
			f.MessageID, s.MessageID = "", ""
		}
		f.Properties, s.Properties = nilIfEmpty(f.Properties), nilIfEmpty(s.Properties)
		f.Traits, s.Traits = nilIfEmpty(f.Traits), nilIfEmpty(s.Traits)
		f.Context, s.Context = nilIfEmpty(f.Context), nilIfEmpty(s.Context)
		if !reflect.DeepEqual(f, s) {
			t.Fatalf("event %d differs:\nfast %+v\nslow %+v", i, f, s)
		}
	}
}

func generatedID(id string) bool {
	b, err := hex.DecodeString(id)
	return err == nil && len(b) == 16
}

func nilIfEmpty(r json.RawMessage) json.RawMessage {
	if len(r) == 0 {
		return nil
	}
	return r
}

func FuzzFastParseMatchesSlow(f *testing.F) {
	f.Add([]byte(typicalBody), "")
	f.Add([]byte(`{"batch":[{"type":"track","event":"Product Returned","userId":"u","properties":{"order_id":"o","product_id":"p","size":"9","reason":"too_small"}}]}`), "")
	f.Add([]byte(`{"event":"Product Viewed","userId":"u","properties":{"product_id":"p1"}}`), TypeTrack)
	f.Add([]byte(`{"type":"page","userId":7,"context":{"a":[true,false,null,-1.5e3]}}`), TypePage)
	f.Fuzz(func(t *testing.T, body []byte, typ string) {
		if typ == "" {
			fast, ok := fastParseBatch(body, now)
			if !ok {
				return
			}
			slow, err := parseBatchJSON(body, now)
			if err != nil {
				t.Fatalf("fast path accepted what encoding/json refuses (%v): %q", err, body)
			}
			sameBatch(t, fast, slow)
			return
		}
		fast, ok := fastParseSingle(body, typ, now)
		if !ok {
			return
		}
		slow, err := parseSingleJSON(body, typ, now)
		if err != nil {
			t.Fatalf("fast path accepted what encoding/json refuses (%v): %q", err, body)
		}
		sameBatch(t, fast, slow)
	})
}

func FuzzFastPropsMatchesJSON(f *testing.F) {
	f.Add([]byte(`{"query":"q","search_id":"s","filters":{"a":1}}`))
	f.Add([]byte(`{"products":[{"product_id":1,"position":2,"size":"9.5","price":1e2,"quantity":3}],"order_id":7}`))
	f.Add([]byte(`{"usual_sizes":[{"brand":"b","category":"c","size":9}],"height_cm":-0.5,"age":null}`))
	f.Add([]byte(`{"position":1.5}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		var fast Props
		if !fastProps(raw, &fast) {
			return
		}
		var slow Props
		if err := json.Unmarshal(raw, &slow); err != nil {
			t.Fatalf("fast props accepted what encoding/json refuses (%v): %q", err, raw)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Fatalf("props differ for %q:\nfast %+v\nslow %+v", raw, fast, slow)
		}
	})
}

// FuzzEnvelopeMatchesJSON checks the hand-written envelope codec against encoding/json:
// the same bytes written, the same events read back.
func FuzzEnvelopeMatchesJSON(f *testing.F) {
	f.Add("track", "Product Clicked", "", "u\n\"<&>\u2028", "", "m1", int64(1700000000123456789), int64(1700000000), `{"a": [1, "x"]}`, "", `{}`)
	f.Add("page", "", "Home", "", "a\xff", "m2", int64(-62135596800), int64(0), "", `{"t":true}`, "")
	f.Add("identify", "", "", "u", "a", "", int64(253402300800), int64(5), `[1]`, `{`, ` "x" `)
	f.Fuzz(func(t *testing.T, typ, name, page, user, anon, id string, ts, ra int64, props, traits, ctx string) {
		ev := Event{Type: typ, Event: name, Name: page, UserID: user, AnonymousID: anon, MessageID: id,
			Timestamp: time.Unix(0, ts).UTC(), Properties: rawOrNil(props), Traits: rawOrNil(traits), Context: rawOrNil(ctx)}
		if ra != 0 {
			ev.ReceivedAt = time.Unix(ra, 0).In(time.FixedZone("x", int(ra%100000)))
		}
		fast, ok := appendEventFast([]byte("prefix"), &ev)
		want, err := appendEventJSON([]byte("prefix"), &ev)
		if ok != (err == nil) && ok {
			t.Fatalf("fast encoder accepted an event encoding/json refuses (%v): %+v", err, ev)
		}
		if ok && !bytes.Equal(fast, want) {
			t.Fatalf("encodings differ:\nfast %q\njson %q", fast, want)
		}
		// decoding: every line, valid or not, must decode like encoding/json or fall back
		for _, line := range [][]byte{want[len("prefix"):], []byte(props), []byte(traits)} {
			line = bytes.TrimSuffix(line, []byte("\n"))
			var fe Event
			if !decodeEventFast(line, &fe) {
				continue
			}
			var se Event
			if err := json.Unmarshal(line, &se); err != nil {
				t.Fatalf("fast decoder accepted what encoding/json refuses (%v): %q", err, line)
			}
			if !reflect.DeepEqual(fe, se) {
				t.Fatalf("decoded events differ for %q:\nfast %+v\njson %+v", line, fe, se)
			}
		}
	})
}

func rawOrNil(s string) json.RawMessage {
	if s == "" {
		return nil
	}
	return json.RawMessage(s)
}

func TestEnvelopeFastPathTakesParsedEvents(t *testing.T) {
	b, err := ParseBatch([]byte(typicalBody), now)
	if err != nil {
		t.Fatal(err)
	}
	var env []byte
	for i := range b.Events {
		var ok bool
		if env, ok = appendEventFast(env, &b.Events[i]); !ok {
			t.Fatalf("fast encoder refused parsed event %d: %+v", i, b.Events[i])
		}
	}
	want, err := func() ([]byte, error) {
		var out []byte
		for i := range b.Events {
			var err error
			if out, err = appendEventJSON(out, &b.Events[i]); err != nil {
				return nil, err
			}
		}
		return out, nil
	}()
	if err != nil || !bytes.Equal(env, want) {
		t.Fatalf("envelope differs from encoding/json (%v):\n%s\n%s", err, env, want)
	}
	n := 0
	for _, line := range bytes.Split(bytes.TrimSpace(env), []byte("\n")) {
		var ev Event
		if !decodeEventFast(line, &ev) {
			t.Fatalf("fast decoder refused our own line %s", line)
		}
		if ev.MessageID != b.Events[n].MessageID || !ev.Timestamp.Equal(b.Events[n].Timestamp) || string(ev.Properties) != string(b.Events[n].Properties) {
			t.Fatalf("line %d decoded as %+v", n, ev)
		}
		n++
	}
	if n != len(b.Events) || !strings.Contains(string(env), `\"quoted\"`) {
		t.Fatalf("got %d lines: %s", n, env)
	}
}

func benchBody(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"sentAt":"2026-11-26T09:59:59.123Z","batch":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"type":"track","event":"Product Clicked","userId":"c4711","messageId":"bench-`)
		b.WriteString(strings.Repeat("x", i%7))
		b.WriteString(`-` + time.Duration(i).String() + `","timestamp":"2026-11-26T09:59:58.123456Z","properties":{"product_id":"p123","position":3,"search_id":"s99"},"context":{"page":{"path":"/search"},"userAgent":"bespoke-bench"}}`)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

// BenchmarkIngestPath is the collector's CPU per request: parse a 100-event batch and
// encode its envelope.
func BenchmarkIngestPath(b *testing.B) {
	body := benchBody(100)
	buf := make([]byte, 0, 64<<10)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		bt, err := ParseBatch(body, now)
		if err != nil {
			b.Fatal(err)
		}
		if buf, err = AppendEnvelope(buf[:0], bt.Events); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkIngestPathJSON is the same work through encoding/json (the fallback), for comparison.
func BenchmarkIngestPathJSON(b *testing.B) {
	body := benchBody(100)
	buf := make([]byte, 0, 64<<10)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		bt, err := parseBatchJSON(body, now)
		if err != nil {
			b.Fatal(err)
		}
		buf = buf[:0]
		for i := range bt.Events {
			if buf, err = appendEventJSON(buf, &bt.Events[i]); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkConsumePath is a consumer's CPU per envelope: decode 100 events and their properties.
func BenchmarkConsumePath(b *testing.B) {
	bt, err := ParseBatch(benchBody(100), now)
	if err != nil {
		b.Fatal(err)
	}
	env, _ := AppendEnvelope(nil, bt.Events)
	b.ReportAllocs()
	b.SetBytes(int64(len(env)))
	for b.Loop() {
		_ = DecodeEnvelope(env, func(ev *Event, _ []byte, err error) error {
			if err != nil {
				b.Fatal(err)
			}
			_, err = ev.Props()
			return err
		})
	}
}

func TestFoldsToAny(t *testing.T) {
	for _, tc := range []struct {
		key  string
		want bool
	}{
		{"userid", true}, {"USERID", true}, {"user_id", false}, {"useri", false},
		{"\u212aey", false}, {"\u017fize", true}, {"ſearch_id", true}, {"\u212avery", false}, {"Query", true},
	} {
		names := append(append([]string{}, wireEventKeys...), propKeys...)
		if got := foldsToAny([]byte(tc.key), names); got != tc.want {
			t.Errorf("foldsToAny(%q) = %v, want %v", tc.key, got, tc.want)
		}
	}
	// encoding/json agrees: a folded key fills the field
	var p Props
	if err := json.Unmarshal([]byte(`{"ſize":"9"}`), &p); err != nil || p.Size != "9" {
		t.Fatalf("encoding/json no longer folds ſ to s: %+v %v", p, err)
	}
	if fastProps([]byte(`{"ſize":"9"}`), &Props{}) {
		t.Fatal("fast props took a key encoding/json folds")
	}
}
