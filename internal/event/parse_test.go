package event

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

var now = time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)

func TestParseBatchValid(t *testing.T) {
	body := `{"sentAt":"2026-11-26T09:59:59Z","batch":[
	 {"type":"track","event":"Products Searched","userId":"c1","messageId":"m1","timestamp":"2024-01-02T03:04:05.123Z","properties":{"query":"black boots","search_id":"s1"}},
	 {"type":"track","event":"Product Clicked","anonymousId":"a1","properties":{"product_id":123,"position":2,"search_id":"s1"}},
	 {"type":"identify","userId":"c1","anonymousId":"a1","traits":{"email":"x@y"}},
	 {"type":"page","name":"Home","userId":"c1"},
	 {"type":"track","event":"Custom Thing","userId":"c1","properties":{"anything":[1,2,{"x":true}]}}
	]}`
	b, err := ParseBatch([]byte(body), now)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Events) != 5 {
		t.Fatalf("got %d events", len(b.Events))
	}
	e0 := b.Events[0]
	if e0.MessageID != "m1" || !e0.Timestamp.Equal(time.Date(2024, 1, 2, 3, 4, 5, 123e6, time.UTC)) || !e0.ReceivedAt.Equal(now) {
		t.Errorf("event 0 = %+v", e0)
	}
	if b.Events[1].MessageID == "" || b.Events[1].MessageID == b.Events[2].MessageID {
		t.Errorf("missing messageIds must be assigned uniquely: %q %q", b.Events[1].MessageID, b.Events[2].MessageID)
	}
	if !b.Events[1].Timestamp.Equal(now) {
		t.Errorf("missing timestamp must default to receivedAt, got %v", b.Events[1].Timestamp)
	}
	p, err := b.Events[1].Props()
	if err != nil || p.ProductID != "123" || p.Position != 2 {
		t.Errorf("props = %+v, %v", p, err)
	}
	if got := b.Events[2].PartitionName(); got != "identify" {
		t.Errorf("identify partition = %q", got)
	}
	if got := b.Events[3].PartitionName(); got != "page" {
		t.Errorf("page partition = %q", got)
	}
	if b.SentAt.IsZero() {
		t.Error("sentAt not parsed")
	}
}

func TestParseBatchErrorsNameIndexAndField(t *testing.T) {
	cases := []struct {
		name, body    string
		index         int
		field, reason string
	}{
		{"not json", `{"batch":[`, -1, "body", "not valid JSON"},
		{"no batch", `{"sentAt":"2026-11-26T09:59:59Z"}`, -1, "batch", "required"},
		{"empty batch", `{"batch":[]}`, -1, "batch", "empty"},
		{"bad type", `{"batch":[{"type":"alias","userId":"u"}]}`, 0, "type", "must be"},
		{"no ids", `{"batch":[{"type":"track","event":"X"}]}`, 0, "userId", "anonymousId"},
		{"no event name", `{"batch":[{"type":"track","userId":"u"}]}`, 0, "event", "required"},
		{"bad timestamp", `{"batch":[{"type":"track","event":"X","userId":"u","timestamp":"yesterday"}]}`, 0, "timestamp", "RFC 3339"},
		{"wrong type of userId", `{"batch":[{"type":"track","event":"X","userId":{"a":1}}]}`, 0, "userId", ""},
		{"properties not object", `{"batch":[{"type":"track","event":"X","userId":"u","properties":[1]}]}`, 0, "properties", "object"},
		{"missing query", `{"batch":[{"type":"track","event":"Products Searched","userId":"u","properties":{"search_id":"s"}}]}`, 0, "properties.query", "required"},
		{"position wrong type", `{"batch":[{"type":"track","event":"Product Clicked","userId":"u","properties":{"product_id":"p","position":"two"}}]}`, 0, "properties.position", "wrong type"},
		{"position missing", `{"batch":[{"type":"track","event":"Product Clicked","userId":"u","properties":{"product_id":"p"}}]}`, 0, "properties.position", "required"},
		{"impression without position", `{"batch":[{"type":"track","event":"Product List Viewed","userId":"u","properties":{"search_id":"s","products":[{"product_id":"p"}]}}]}`, 0, "properties.products[0].position", "required"},
		{"bad return reason", `{"batch":[{"type":"track","event":"Product Returned","userId":"u","properties":{"order_id":"o","product_id":"p","size":"9","reason":"meh"}}]}`, 0, "properties.reason", "must be one of"},
		{"empty survey", `{"batch":[{"type":"track","event":"Fit Survey Completed","userId":"u","properties":{"age":30}}]}`, 0, "properties.height_cm", "at least one"},
		{"second event bad", `{"batch":[{"type":"page","userId":"u"},{"type":"track","event":"Order Completed","userId":"u","properties":{"order_id":"o"}}]}`, 1, "properties.products", "required"},
		{"bad utf8", "{\"batch\":[{\"type\":\"page\",\"userId\":\"\xff\"}]}", -1, "body", "UTF-8"},
		{"deep nesting", `{"batch":[{"type":"page","userId":"u","properties":{"a":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}}]}`, -1, "body", "levels deep"},
		{"huge event", `{"batch":[{"type":"page","userId":"u","properties":{"a":"` + strings.Repeat("x", MaxEventBytes) + `"}}]}`, 0, "event", "over the limit"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseBatch([]byte(c.body), now)
			var es Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("want Errors, got %v", err)
			}
			e := es[0]
			if e.Index != c.index || e.Field != c.field || !strings.Contains(e.Reason, c.reason) {
				t.Errorf("got %+v; want index %d field %q reason containing %q", e, c.index, c.field, c.reason)
			}
		})
	}
}

func TestParseSingle(t *testing.T) {
	b, err := ParseSingle([]byte(`{"event":"Product Viewed","userId":"u","writeKey":"k","properties":{"product_id":"p1"}}`), TypeTrack, now)
	if err != nil {
		t.Fatal(err)
	}
	if b.Events[0].Type != TypeTrack || b.WriteKey != "k" {
		t.Errorf("got %+v", b)
	}
	if _, err := ParseSingle([]byte(`{"type":"page","userId":"u"}`), TypeIdentify, now); err == nil {
		t.Error("a page event on /v1/identify must be refused")
	}
}

func TestValidateGoEvent(t *testing.T) {
	e := Event{Type: TypeTrack, Event: ProductAdded, UserID: "u", Timestamp: now, Properties: json.RawMessage(`{"product_id":"p","size":"9.5"}`)}
	if errs := e.Validate(0); len(errs) != 0 {
		t.Fatalf("valid event refused: %v", errs)
	}
	e.Properties = json.RawMessage(`{"size":"9.5"}`)
	if errs := e.Validate(3); len(errs) != 1 || errs[0].Index != 3 || errs[0].Field != "properties.product_id" {
		t.Fatalf("got %v", errs)
	}
}

func TestEventRoundTrip(t *testing.T) {
	b, err := ParseBatch([]byte(`{"batch":[{"type":"track","event":"Product Added","userId":"u","messageId":"m","timestamp":"2026-01-01T00:00:00Z","properties":{"product_id":"p","size":9.5},"context":{"ip":"1.2.3.4"}}]}`), now)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(b.Events[0])
	if err != nil {
		t.Fatal(err)
	}
	var back Event
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if back.MessageID != "m" || !back.ReceivedAt.Equal(now) || string(back.Context) != `{"ip":"1.2.3.4"}` {
		t.Errorf("round trip lost data: %s", raw)
	}
	p, _ := back.Props()
	if p.Size != "9.5" {
		t.Errorf("numeric size not kept as string: %q", p.Size)
	}
}

func FuzzParseBatch(f *testing.F) {
	f.Add([]byte(`{"batch":[{"type":"track","event":"Product Clicked","userId":"u","properties":{"product_id":"p","position":1}}]}`))
	f.Add([]byte(`{"batch":[{"type":"track","event":"Order Completed","userId":"u","properties":{"order_id":1,"products":[{"product_id":"p","size":9}]}}]}`))
	f.Add([]byte(`{"batch":[{"type":"identify","userId":"u","traits":{}}],"sentAt":"2026-01-01T00:00:00Z"}`))
	f.Add([]byte(`{"batch":[{"type":"track","event":"Fit Survey Completed","anonymousId":"a","properties":{"usual_sizes":[{"brand":"b","size":"M"}]}}]}`))
	f.Add([]byte(`[[[[`))
	f.Fuzz(func(t *testing.T, body []byte) {
		b, err := ParseBatch(body, now)
		if err != nil {
			var es Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("error is not Errors: %v", err)
			}
			return
		}
		for i := range b.Events {
			e := &b.Events[i]
			if e.MessageID == "" || (e.UserID == "" && e.AnonymousID == "") {
				t.Fatalf("accepted event %d lacks ids: %+v", i, e)
			}
			if _, err := e.Props(); err != nil && Known(e.Event) && e.Type == TypeTrack {
				t.Fatalf("accepted known event whose properties do not decode: %v", err)
			}
			if errs := e.Validate(i); len(errs) != 0 {
				t.Fatalf("accepted event fails Validate: %v", errs)
			}
		}
	})
}

func TestEnvelopeRoundTripKeepsBadLines(t *testing.T) {
	b, err := ParseBatch([]byte(`{"batch":[{"type":"page","userId":"u1","messageId":"a"},{"type":"track","event":"X","anonymousId":"z","messageId":"b","properties":{"html":"<b>&</b>"}}]}`), now)
	if err != nil {
		t.Fatal(err)
	}
	env, err := AppendEnvelope(nil, b.Events)
	if err != nil {
		t.Fatal(err)
	}
	env = append(env, []byte("{not json\n")...)
	var ids []string
	var bad int
	err = DecodeEnvelope(env, func(ev *Event, line []byte, err error) error {
		if err != nil {
			bad++
			return nil
		}
		ids = append(ids, ev.MessageID)
		return nil
	})
	if err != nil || bad != 1 || strings.Join(ids, ",") != "a,b" {
		t.Fatalf("ids=%v bad=%d err=%v", ids, bad, err)
	}
	if !strings.Contains(string(env), `"<b>&</b>"`) {
		t.Errorf("HTML must not be escaped in envelopes: %s", env)
	}
}
