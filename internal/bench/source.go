package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Bounds on what is kept from a world, so that a big world does not need big memory.
const (
	maxQueries   = 200_000
	maxCustomers = 200_000
	maxEvents    = 200_000
	maxProducts  = 1_000_000
)

// source is what requests are drawn from.
type source struct {
	products  []string // product ids
	queries   []string // with their real frequency (repeats kept)
	customers []string
	events    [][]byte // ingest templates: JSON objects without messageId
}

// loadSource reads the world directory, or asks the server for its catalog.
func loadSource(ctx context.Context, cfg Config, client *http.Client) (*source, error) {
	var src *source
	var err error
	if cfg.World != "" {
		src, err = loadWorld(cfg.World, cfg.Kind == KindIngest)
	} else if cfg.Kind != KindIngest {
		src, err = loadFromServer(ctx, client, cfg.Target)
	} else {
		src = &source{}
	}
	if err != nil {
		return nil, err
	}
	if cfg.Customers > 0 {
		src.customers = make([]string, cfg.Customers)
		for i := range src.customers {
			src.customers[i] = "c" + strconv.Itoa(i)
		}
	}
	if cfg.Kind != KindIngest {
		if len(src.products) == 0 {
			return nil, errors.New("no products to draw requests from: import a catalog, or give --world DIR")
		}
		if len(src.queries) == 0 {
			return nil, errors.New("no queries to send: the world has no Products Searched events and the catalog no names")
		}
		if len(src.customers) == 0 {
			for i := range 1000 {
				src.customers = append(src.customers, "c"+strconv.Itoa(i))
			}
		}
	}
	return src, nil
}

// loadWorld reads catalog.jsonl and events.jsonl of a `bespoke simulate` output.
func loadWorld(dir string, wantEvents bool) (*source, error) {
	src := &source{}
	err := eachLine(filepath.Join(dir, "catalog.jsonl"), func(line []byte) error {
		var p struct {
			ID json.RawMessage `json:"product_id"`
		}
		if err := json.Unmarshal(line, &p); err != nil {
			return err
		}
		if id := rawID(p.ID); id != "" && len(src.products) < maxProducts {
			src.products = append(src.products, id)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	err = eachLine(filepath.Join(dir, "events.jsonl"), func(line []byte) error {
		var ev struct {
			Event      string `json:"event"`
			UserID     string `json:"userId"`
			Properties struct {
				Query string `json:"query"`
			} `json:"properties"`
		}
		if err := json.Unmarshal(line, &ev); err != nil {
			return err
		}
		if ev.UserID != "" && !seen[ev.UserID] && len(src.customers) < maxCustomers {
			seen[ev.UserID] = true
			src.customers = append(src.customers, ev.UserID)
		}
		if ev.Event == "Products Searched" && ev.Properties.Query != "" && len(src.queries) < maxQueries {
			src.queries = append(src.queries, ev.Properties.Query)
		}
		if wantEvents && len(src.events) < maxEvents {
			t, err := withoutMessageID(line)
			if err != nil {
				return err
			}
			src.events = append(src.events, t)
		}
		if len(src.customers) >= maxCustomers && len(src.queries) >= maxQueries && (!wantEvents || len(src.events) >= maxEvents) {
			return errStop
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return src, nil
}

var errStop = errors.New("stop")

func eachLine(path string, fn func([]byte) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("cannot read the world: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 4<<20)
	n := 0
	for sc.Scan() {
		n++
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		if err := fn(line); err != nil {
			if errors.Is(err, errStop) {
				return nil
			}
			return fmt.Errorf("%s line %d: %w", path, n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("cannot read %s: %w", path, err)
	}
	return nil
}

// withoutMessageID re-encodes an event without its messageId, so that each send can
// give it a fresh one.
func withoutMessageID(line []byte) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(line, &m); err != nil {
		return nil, err
	}
	delete(m, "messageId")
	if len(m) == 0 {
		return nil, errors.New("empty event")
	}
	return json.Marshal(m)
}

func rawID(r json.RawMessage) string {
	var s string
	if json.Unmarshal(r, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(r, &n) == nil {
		return n.String()
	}
	return ""
}

// loadFromServer pages through the server's catalog with browse searches (single
// letters and digits, which match most product names) and turns product names into
// queries: the first two words of a name, its last word, and brand words.
func loadFromServer(ctx context.Context, client *http.Client, target string) (*source, error) {
	src := &source{}
	seen := map[string]bool{}
	qseen := map[string]bool{}
	addQuery := func(q string) {
		q = strings.ToLower(strings.TrimSpace(q))
		if q != "" && !qseen[q] && len(src.queries) < 5000 {
			qseen[q] = true
			src.queries = append(src.queries, q)
		}
	}
	seeds := []string{"shoe", "boot", "black", "white", "running", "men", "women", "shirt", "dress", "jacket", "sneaker", "blue", "red", "a", "e", "s"}
	for _, seed := range seeds {
		for offset := 0; offset <= 800; offset += 100 {
			u := target + "/v1/search?limit=100&offset=" + strconv.Itoa(offset) + "&q=" + url.QueryEscape(seed)
			var resp struct {
				Results []struct {
					ID    string `json:"product_id"`
					Name  string `json:"name"`
					Brand string `json:"brand"`
				} `json:"results"`
			}
			if err := getJSON(ctx, client, u, &resp); err != nil {
				return nil, fmt.Errorf("cannot read the server's catalog to draw requests from (or give --world DIR): %w", err)
			}
			for _, r := range resp.Results {
				if !seen[r.ID] {
					seen[r.ID] = true
					src.products = append(src.products, r.ID)
				}
				words := strings.Fields(r.Name)
				if len(words) >= 2 {
					addQuery(words[0] + " " + words[1])
					addQuery(words[len(words)-1])
				}
				addQuery(r.Brand)
			}
			if len(resp.Results) < 100 {
				break
			}
		}
	}
	return src, nil
}

func getJSON(ctx context.Context, client *http.Client, u string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != 200 {
		return fmt.Errorf("GET %s: HTTP %d: %s", u, resp.StatusCode, bytes.TrimSpace(b[:min(len(b), 300)]))
	}
	return json.Unmarshal(b, v)
}

// pick is a deterministic choice for request i (so that runs are repeatable).
func pick[T any](xs []T, i int, salt uint64) T {
	r := rand.New(rand.NewPCG(uint64(i), salt))
	return xs[r.IntN(len(xs))]
}

// anonymous decides whether request i goes without a customer id.
func anonymous(cfg *Config, i int) bool {
	if cfg.AnonShare <= 0 {
		return false
	}
	r := rand.New(rand.NewPCG(uint64(i), 0xa11))
	return r.Float64() < cfg.AnonShare
}
