package lake

import (
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/bespokesearch/bespoke/internal/event"
)

// Row is one event as stored in the lake (CONTRACT §5). Optional columns are NULL in the
// file when their Go value is the zero value. Times are Parquet INT64
// TIMESTAMP(MICROS, isAdjustedToUTC=true), which DuckDB, Spark, Trino and pandas read as
// UTC timestamps. Properties, traits and context are kept verbatim as JSON strings; the
// typed columns after them are the properties of CONTRACT §2, decoded for convenience.
type Row struct {
	MessageID   string    `parquet:"message_id"`
	Type        string    `parquet:"type,dict"`
	Event       string    `parquet:"event,dict"` // event.PartitionName(): the event name, "identify" or "page"
	Name        string    `parquet:"name,optional"`
	UserID      string    `parquet:"user_id,optional"`
	AnonymousID string    `parquet:"anonymous_id,optional"`
	Timestamp   time.Time `parquet:"timestamp,timestamp(microsecond:utc),delta"`
	ReceivedAt  time.Time `parquet:"received_at,timestamp(microsecond:utc),delta"`
	Properties  string    `parquet:"properties,optional"`
	Traits      string    `parquet:"traits,optional"`
	Context     string    `parquet:"context,optional"`

	Query         string  `parquet:"query,optional"`
	SearchID      string  `parquet:"search_id,optional"`
	ListID        string  `parquet:"list_id,optional"`
	Category      string  `parquet:"category,optional"`
	ProductID     string  `parquet:"product_id,optional"`
	Position      int64   `parquet:"position,optional"`
	Size          string  `parquet:"size,optional"`
	CartID        string  `parquet:"cart_id,optional"`
	OrderID       string  `parquet:"order_id,optional"`
	Products      string  `parquet:"products,optional"` // JSON array: impressions or order lines
	Revenue       float64 `parquet:"revenue,optional"`
	Currency      string  `parquet:"currency,optional"`
	Reason        string  `parquet:"reason,optional"`
	Comment       string  `parquet:"comment,optional"`
	HeightCM      float64 `parquet:"height_cm,optional"`
	WeightKG      float64 `parquet:"weight_kg,optional"`
	Age           float64 `parquet:"age,optional"`
	ShoeSizeUS    float64 `parquet:"shoe_size_us,optional"`
	ShoeWidth     string  `parquet:"shoe_width,optional"`
	FitPreference string  `parquet:"fit_preference,optional"`
	Gender        string  `parquet:"gender,optional"`
	UsualSizes    string  `parquet:"usual_sizes,optional"` // JSON array
	Filters       string  `parquet:"filters,optional"`     // JSON object
	Arm           string  `parquet:"arm,optional"`
}

// DeadLetter is a row of <lake>/dead_letters: something that came from the stream and
// could not be stored as an event, with the reason. Raw is the bytes as received.
type DeadLetter struct {
	ReceivedAt time.Time `parquet:"received_at,timestamp(microsecond:utc)"`
	Reason     string    `parquet:"reason"`
	MessageID  string    `parquet:"message_id,optional"`
	Raw        []byte    `parquet:"raw"`
}

var (
	minTime = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(9999, 12, 31, 23, 0, 0, 0, time.UTC)
)

// RowOf converts an event to its lake row. receivedAt is used when the event has none.
// It fails (and the caller dead-letters the event) when the event cannot be filed:
// no messageId, no name, a timestamp outside years 1..9999, invalid UTF-8, or properties
// of a known event that do not decode into their types.
func RowOf(ev *event.Event, receivedAt time.Time) (Row, error) {
	name := ev.PartitionName()
	switch {
	case ev.MessageID == "":
		return Row{}, fmt.Errorf("event has no messageId")
	case name == "":
		return Row{}, fmt.Errorf("event %q of type %q has no name", ev.MessageID, ev.Type)
	case ev.Timestamp.IsZero():
		return Row{}, fmt.Errorf("event %q has no timestamp", ev.MessageID)
	case ev.Timestamp.Before(minTime) || !ev.Timestamp.Before(maxTime):
		return Row{}, fmt.Errorf("event %q has timestamp %s outside years 1..9999", ev.MessageID, ev.Timestamp.Format(time.RFC3339))
	}
	for _, s := range []string{ev.MessageID, ev.Type, name, ev.Name, ev.UserID, ev.AnonymousID} {
		if !utf8.ValidString(s) {
			return Row{}, fmt.Errorf("event %q has a field that is not valid UTF-8", ev.MessageID)
		}
	}
	ra := ev.ReceivedAt
	if ra.IsZero() {
		ra = receivedAt
	}
	r := Row{
		MessageID:   ev.MessageID,
		Type:        ev.Type,
		Event:       name,
		Name:        ev.Name,
		UserID:      ev.UserID,
		AnonymousID: ev.AnonymousID,
		Timestamp:   ev.Timestamp.UTC(),
		ReceivedAt:  ra.UTC(),
		Properties:  string(ev.Properties),
		Traits:      string(ev.Traits),
		Context:     string(ev.Context),
	}
	p, err := ev.Props()
	if err != nil {
		if ev.Type == event.TypeTrack && event.Known(ev.Event) {
			return Row{}, fmt.Errorf("event %q (%s): properties do not decode: %w", ev.MessageID, name, err)
		}
		return r, nil // unknown events keep their properties as JSON only
	}
	r.Query, r.SearchID, r.ListID, r.Category = p.Query, p.SearchID, p.ListID, p.Category
	r.ProductID, r.Position, r.Size = string(p.ProductID), int64(p.Position), string(p.Size)
	r.CartID, r.OrderID, r.Revenue, r.Currency = p.CartID, string(p.OrderID), p.Revenue, p.Currency
	r.Reason, r.Comment = p.Reason, p.Comment
	r.HeightCM, r.WeightKG, r.Age, r.ShoeSizeUS = p.HeightCM, p.WeightKG, p.Age, p.ShoeSizeUS
	r.ShoeWidth, r.FitPreference, r.Gender, r.Arm = p.ShoeWidth, p.FitPreference, p.Gender, p.Arm
	if len(p.Products) > 0 {
		r.Products = mustJSON(p.Products)
	}
	if len(p.UsualSizes) > 0 {
		r.UsualSizes = mustJSON(p.UsualSizes)
	}
	if len(p.Filters) > 0 {
		r.Filters = mustJSON(p.Filters)
	}
	return r, nil
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil { // values decoded from JSON always encode again
		return ""
	}
	return string(b)
}

// ToEvent rebuilds the event as it was received (typed columns are derived from
// Properties and are not needed for that).
func (r *Row) ToEvent() event.Event {
	ev := event.Event{
		Type:        r.Type,
		Name:        r.Name,
		UserID:      r.UserID,
		AnonymousID: r.AnonymousID,
		MessageID:   r.MessageID,
		Timestamp:   r.Timestamp,
		ReceivedAt:  r.ReceivedAt,
	}
	if r.Type != event.TypeIdentify && r.Type != event.TypePage {
		ev.Event = r.Event
	}
	if r.Properties != "" {
		ev.Properties = json.RawMessage(r.Properties)
	}
	if r.Traits != "" {
		ev.Traits = json.RawMessage(r.Traits)
	}
	if r.Context != "" {
		ev.Context = json.RawMessage(r.Context)
	}
	return ev
}

// Partition is the partition the row is filed under.
func (r *Row) Partition() Partition { return PartitionOf(r.Event, r.Timestamp) }
