package sim

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/bespokesearch/bespoke/internal/event"
)

// SizeErrorBuckets label the |size error| buckets of the size-return figures.
var SizeErrorBuckets = []string{"0", "0.5", "1", "1.5", "2+"}

// Metrics are the world's figures: events per name, click-through by position,
// repeated searches, size returns by |size error|. Generate and Live count them as
// they go; Summarize recounts them from the files.
type Metrics struct {
	Events           int            `json:"events"`
	ByEvent          map[string]int `json:"by_event"`
	Searches         int            `json:"searches"`
	ClickedSearches  int            `json:"clicked_searches"`        // searches with at least one click (the demo's click-through rate)
	RepeatedSearches int            `json:"repeated_searches"`       // a search from the same device within 5 min of one without a click
	Impressions      []int          `json:"impressions_by_position"` // [0] is position 1
	Clicks           []int          `json:"clicks_by_position"`
	Orders           int            `json:"orders"`
	OrderLines       int            `json:"order_lines"`
	Returns          int            `json:"returns"`      // decided returns (including those due after the world's end)
	SizeReturns      int            `json:"size_returns"` // too_small / too_large
	// By |size error| bucket (SizeErrorBuckets), from the truth: order lines with a size, and those returned too_small/too_large.
	LinesBySizeError       [5]int `json:"lines_by_size_error"`
	SizeReturnsBySizeError [5]int `json:"size_returns_by_size_error"`
	RecommendationsShown   int    `json:"recommendations_shown"`
	RecommendationsTrusted int    `json:"recommendations_trusted"`
	Surveys                int    `json:"surveys"`
}

func newMetrics() Metrics { return Metrics{ByEvent: map[string]int{}} }

func (m *Metrics) impress(n int) {
	for len(m.Impressions) < n {
		m.Impressions = append(m.Impressions, 0)
		m.Clicks = append(m.Clicks, 0)
	}
	for i := 0; i < n; i++ {
		m.Impressions[i]++
	}
}

func (m *Metrics) click(pos int) {
	for len(m.Clicks) <= pos {
		m.Impressions = append(m.Impressions, 0)
		m.Clicks = append(m.Clicks, 0)
	}
	m.Clicks[pos]++
}

func (m *Metrics) add(o *Metrics) {
	if m.ByEvent == nil {
		m.ByEvent = map[string]int{}
	}
	m.Events += o.Events
	for k, v := range o.ByEvent {
		m.ByEvent[k] += v
	}
	m.Searches += o.Searches
	m.ClickedSearches += o.ClickedSearches
	m.RepeatedSearches += o.RepeatedSearches
	for len(m.Impressions) < len(o.Impressions) {
		m.Impressions = append(m.Impressions, 0)
		m.Clicks = append(m.Clicks, 0)
	}
	for i := range o.Impressions {
		m.Impressions[i] += o.Impressions[i]
		m.Clicks[i] += o.Clicks[i]
	}
	m.Orders += o.Orders
	m.OrderLines += o.OrderLines
	m.Returns += o.Returns
	m.SizeReturns += o.SizeReturns
	for i := range m.LinesBySizeError {
		m.LinesBySizeError[i] += o.LinesBySizeError[i]
		m.SizeReturnsBySizeError[i] += o.SizeReturnsBySizeError[i]
	}
	m.RecommendationsShown += o.RecommendationsShown
	m.RecommendationsTrusted += o.RecommendationsTrusted
	m.Surveys += o.Surveys
}

// CTRByPosition is clicks / impressions at positions 1..n.
func (m *Metrics) CTRByPosition(n int) []float64 {
	out := make([]float64, n)
	for i := 0; i < n && i < len(m.Impressions); i++ {
		if m.Impressions[i] > 0 {
			out[i] = float64(m.Clicks[i]) / float64(m.Impressions[i])
		}
	}
	return out
}

// SizeReturnRateBySizeError is the share of order lines returned too_small/too_large
// per |size error| bucket (SizeErrorBuckets).
func (m *Metrics) SizeReturnRateBySizeError() [5]float64 {
	var out [5]float64
	for i := range out {
		if m.LinesBySizeError[i] > 0 {
			out[i] = float64(m.SizeReturnsBySizeError[i]) / float64(m.LinesBySizeError[i])
		}
	}
	return out
}

// SizeReturnRate is the share of order lines returned too_small/too_large.
func (m *Metrics) SizeReturnRate() float64 {
	n, k := 0, 0
	for i := range m.LinesBySizeError {
		n += m.LinesBySizeError[i]
		k += m.SizeReturnsBySizeError[i]
	}
	if n == 0 {
		return 0
	}
	return float64(k) / float64(n)
}

// RepeatedSearchShare is the share of searches that repeat one without a click.
func (m *Metrics) RepeatedSearchShare() float64 {
	if m.Searches == 0 {
		return 0
	}
	return float64(m.RepeatedSearches) / float64(m.Searches)
}

// SearchCTR is clicks per search.
func (m *Metrics) SearchCTR() float64 {
	if m.Searches == 0 {
		return 0
	}
	c := 0
	for _, v := range m.Clicks {
		c += v
	}
	return float64(c) / float64(m.Searches)
}

// ClickedSearchShare is the share of searches with at least one click: the demo's
// click-through rate.
func (m *Metrics) ClickedSearchShare() float64 {
	if m.Searches == 0 {
		return 0
	}
	return float64(m.ClickedSearches) / float64(m.Searches)
}

// WriteText prints the figures for people.
func (m *Metrics) WriteText(w io.Writer) {
	fmt.Fprintf(w, "events: %d\n", m.Events)
	names := make([]string, 0, len(m.ByEvent))
	for k := range m.ByEvent {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		fmt.Fprintf(w, "  %-28s %9d\n", k, m.ByEvent[k])
	}
	fmt.Fprintf(w, "searches: %d, clicks per search %.3f, searches with a click %.2f%%, repeated searches %.2f%%\n", m.Searches, m.SearchCTR(), 100*m.ClickedSearchShare(), 100*m.RepeatedSearchShare())
	ctr := m.CTRByPosition(10)
	var b strings.Builder
	for i, v := range ctr {
		fmt.Fprintf(&b, " %d:%.4f", i+1, v)
	}
	fmt.Fprintf(w, "click-through by position:%s\n", b.String())
	fmt.Fprintf(w, "orders: %d (%d lines), returns %d (size %d, %.2f%% of lines with a size)\n", m.Orders, m.OrderLines, m.Returns, m.SizeReturns, 100*m.SizeReturnRate())
	rr := m.SizeReturnRateBySizeError()
	b.Reset()
	for i, v := range rr {
		fmt.Fprintf(&b, " %s:%.3f (n=%d)", SizeErrorBuckets[i], v, m.LinesBySizeError[i])
	}
	fmt.Fprintf(w, "size-related return rate by |size error|:%s\n", b.String())
	if m.RecommendationsShown > 0 {
		fmt.Fprintf(w, "size recommendations shown %d, taken %d\n", m.RecommendationsShown, m.RecommendationsTrusted)
	}
}

// Stats is what Generate and Live did.
type Stats struct {
	Metrics
	Products  int           `json:"products"`
	Customers int           `json:"customers"`
	Days      int           `json:"days"` // simulated days played
	Duration  time.Duration `json:"duration_ns"`
	// live mode
	Batches  int `json:"batches,omitempty"`
	Retries  int `json:"retries,omitempty"`
	Requests int `json:"requests,omitempty"` // search and size calls
}

// Summarize recounts the Metrics of a world written by Generate from its
// events.jsonl and truth.jsonl (the size figures need the truth).
func Summarize(dir string) (Metrics, error) {
	m := newMetrics()
	f, err := os.Open(filepath.Join(dir, "events.jsonl"))
	if err != nil {
		return m, fmt.Errorf("cannot summarize world: %w", err)
	}
	defer f.Close()
	type dev struct {
		last    int64
		search  string
		clicked bool
	}
	devs := map[string]*dev{}
	var line struct {
		Type        string          `json:"type"`
		Event       string          `json:"event"`
		AnonymousID string          `json:"anonymousId"`
		UserID      string          `json:"userId"`
		Timestamp   time.Time       `json:"timestamp"`
		Properties  json.RawMessage `json:"properties"`
	}
	var props struct {
		SearchID string `json:"search_id"`
		Position int    `json:"position"`
		Products []struct {
			Position int `json:"position"`
		} `json:"products"`
		Reason string `json:"reason"`
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), event.MaxEventBytes*4)
	n := 0
	for sc.Scan() {
		n++
		line.Event, line.Type, line.AnonymousID, line.UserID, line.Properties = "", "", "", "", nil
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			return m, fmt.Errorf("cannot summarize world: events.jsonl line %d: %w", n, err)
		}
		name := line.Event
		if line.Type == event.TypeIdentify {
			name = event.IdentifyName
		}
		m.Events++
		m.ByEvent[name]++
		switch name {
		case event.ProductsSearched, event.ProductListViewed, event.ProductClicked, event.OrderCompleted, event.ProductReturned:
		default:
			continue
		}
		props.SearchID, props.Position, props.Products, props.Reason = "", 0, props.Products[:0], ""
		if err := json.Unmarshal(line.Properties, &props); err != nil {
			return m, fmt.Errorf("cannot summarize world: events.jsonl line %d: properties: %w", n, err)
		}
		key := line.AnonymousID
		if key == "" {
			key = line.UserID
		}
		ts := line.Timestamp.UnixMilli()
		switch name {
		case event.ProductsSearched:
			m.Searches++
			d := devs[key]
			if d == nil {
				d = &dev{}
				devs[key] = d
			}
			if d.last > 0 && ts-d.last <= repeatWindowMS && !d.clicked {
				m.RepeatedSearches++
			}
			d.last, d.search, d.clicked = ts, props.SearchID, false
		case event.ProductListViewed:
			max := 0
			for _, p := range props.Products {
				if p.Position > max {
					max = p.Position
				}
			}
			m.impress(max)
		case event.ProductClicked:
			if props.Position >= 1 {
				m.click(props.Position - 1)
			}
			if d := devs[key]; d != nil && d.search == props.SearchID {
				if !d.clicked {
					m.ClickedSearches++
				}
				d.clicked = true
			}
		case event.OrderCompleted:
			m.Orders++
			m.OrderLines += len(props.Products)
		case event.ProductReturned:
			// counted from the truth, which includes returns due after the world's end
		}
	}
	if err := sc.Err(); err != nil {
		return m, fmt.Errorf("cannot summarize world: reading events.jsonl: %w", err)
	}
	if err := summarizeTruth(filepath.Join(dir, "truth.jsonl"), &m); err != nil {
		return m, err
	}
	m.Surveys = m.ByEvent[event.FitSurveyCompleted]
	return m, nil
}

func summarizeTruth(path string, m *Metrics) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("cannot summarize world: %w", err)
	}
	defer f.Close()
	var t struct {
		Kind      string  `json:"kind"`
		Size      string  `json:"size"`
		SizeError float64 `json:"size_error"`
		Returned  bool    `json:"returned"`
		Reason    string  `json:"reason"`
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	n := 0
	for sc.Scan() {
		n++
		b := sc.Bytes()
		if !strings.Contains(string(b[:min(len(b), 24)]), `"purchase"`) {
			continue
		}
		t.Kind, t.Size, t.SizeError, t.Returned, t.Reason = "", "", 0, false, ""
		if err := json.Unmarshal(b, &t); err != nil {
			return fmt.Errorf("cannot summarize world: truth.jsonl line %d: %w", n, err)
		}
		if t.Returned {
			m.Returns++
		}
		if t.Reason == "too_small" || t.Reason == "too_large" {
			m.SizeReturns++
		}
		if t.Size == "" {
			continue
		}
		k := min(int(math.Abs(t.SizeError)*2+1e-9), 4)
		m.LinesBySizeError[k]++
		if t.Reason == "too_small" || t.Reason == "too_large" {
			m.SizeReturnsBySizeError[k]++
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("cannot summarize world: reading truth.jsonl: %w", err)
	}
	return nil
}
