package catalog

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"
)

// Log is the durable record of a catalog kept by the server: an append-only file of
// upserts and deletions, fsynced before an update is acknowledged, replayed at start
// (last write wins) and rewritten compactly when it has grown well past the live set.
type Log struct {
	mu       sync.Mutex
	path     string
	f        *os.File
	w        *bufio.Writer
	products map[string]*Product
	records  int
}

type logRecord struct {
	Put    *Product `json:"put,omitempty"`
	Delete string   `json:"delete,omitempty"`
}

// OpenLog opens (or creates) the catalog log at path and replays it.
func OpenLog(path string) (*Log, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("cannot create catalog directory: %w", err)
	}
	l := &Log{path: path, products: map[string]*Product{}}
	if err := l.replay(); err != nil {
		return nil, err
	}
	if l.records > 2*len(l.products)+1000 {
		if err := l.rewrite(); err != nil {
			return nil, err
		}
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("cannot open catalog log: %w", err)
	}
	l.f, l.w = f, bufio.NewWriterSize(f, 1<<20)
	return l, nil
}

func (l *Log) replay() error {
	f, err := os.Open(l.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cannot open catalog log: %w", err)
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<20)
	var good int64 // bytes up to the end of the last complete record
	for line := 1; ; line++ {
		b, err := br.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			if len(b) > 0 {
				// A torn last line: a crash during an update that was never
				// acknowledged. Cut it off so later appends start on a clean line.
				return os.Truncate(l.path, good)
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("cannot read catalog log: %w", err)
		}
		var r logRecord
		if err := json.Unmarshal(b, &r); err != nil {
			return fmt.Errorf("catalog log %s is damaged at line %d: %v", l.path, line, err)
		}
		good += int64(len(b))
		l.apply(r)
	}
}

func (l *Log) apply(r logRecord) {
	l.records++
	switch {
	case r.Put != nil:
		l.products[r.Put.ProductID] = r.Put
	case r.Delete != "":
		delete(l.products, r.Delete)
	}
}

func (l *Log) rewrite() error {
	tmp := l.path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("cannot rewrite catalog log: %w", err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	enc := json.NewEncoder(w)
	for _, p := range l.sorted() {
		if err := enc.Encode(logRecord{Put: p}); err != nil {
			f.Close()
			return err
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, l.path); err != nil {
		return fmt.Errorf("cannot publish rewritten catalog log: %w", err)
	}
	l.records = len(l.products)
	return syncDir(filepath.Dir(l.path))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Upsert records products durably (fsync) and returns once they are safe.
func (l *Log) Upsert(ps []Product) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	enc := json.NewEncoder(l.w)
	enc.SetEscapeHTML(false)
	for i := range ps {
		if err := enc.Encode(logRecord{Put: &ps[i]}); err != nil {
			return fmt.Errorf("cannot write catalog log: %w", err)
		}
	}
	if err := l.sync(); err != nil {
		return err
	}
	for i := range ps {
		p := ps[i]
		l.apply(logRecord{Put: &p})
	}
	return nil
}

// Delete records the removal of products durably; unknown ids are ignored. It
// returns how many existed.
func (l *Log) Delete(ids ...string) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	enc := json.NewEncoder(l.w)
	for _, id := range ids {
		if _, ok := l.products[id]; !ok {
			continue
		}
		n++
		if err := enc.Encode(logRecord{Delete: id}); err != nil {
			return 0, fmt.Errorf("cannot write catalog log: %w", err)
		}
	}
	if n == 0 {
		return 0, nil
	}
	if err := l.sync(); err != nil {
		return 0, err
	}
	for _, id := range ids {
		l.apply(logRecord{Delete: id})
	}
	return n, nil
}

func (l *Log) sync() error {
	if err := l.w.Flush(); err != nil {
		return fmt.Errorf("cannot write catalog log: %w", err)
	}
	if err := l.f.Sync(); err != nil {
		return fmt.Errorf("cannot sync catalog log: %w", err)
	}
	return nil
}

// Get returns a product by id.
func (l *Log) Get(id string) (Product, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	p, ok := l.products[id]
	if !ok {
		return Product{}, false
	}
	return *p, true
}

// Len is the number of products in the catalog.
func (l *Log) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.products)
}

// All returns every product, ordered by id.
func (l *Log) All() []Product {
	l.mu.Lock()
	defer l.mu.Unlock()
	ps := l.sorted()
	out := make([]Product, len(ps))
	for i, p := range ps {
		out[i] = *p
	}
	return out
}

func (l *Log) sorted() []*Product {
	out := make([]*Product, 0, len(l.products))
	for _, p := range l.products {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ProductID < out[j].ProductID })
	return out
}

// WriteJSONL writes the catalog as JSON lines, ordered by id.
func (l *Log) WriteJSONL(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, p := range l.All() {
		if err := enc.Encode(p); err != nil {
			return err
		}
	}
	return nil
}

// Close flushes and closes the log.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.sync()
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	l.f = nil
	return err
}
