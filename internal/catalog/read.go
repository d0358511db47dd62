package catalog

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// Formats a catalog file can have. FormatAuto looks at the first byte: '[' is a JSON
// array, '{' JSON lines, anything else CSV with a header row.
const (
	FormatAuto  = ""
	FormatJSONL = "jsonl"
	FormatJSON  = "json"
	FormatCSV   = "csv"
)

// LineError is a product that could not be read: Line is 1-based (for a JSON array,
// the index of the element, from 1).
type LineError struct {
	Line   int
	Field  string
	Reason string
}

func (e *LineError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("line %d: %s", e.Line, e.Reason)
	}
	return fmt.Sprintf("line %d: %s: %s", e.Line, e.Field, e.Reason)
}

// ReadOptions tune Read.
type ReadOptions struct {
	Format string
	// Columns maps a product field to the name of the column (CSV) or key (JSON)
	// that holds it in the file, e.g. {"product_id":"upc","brand":"manufacturer"}.
	Columns map[string]string
	// MaxLineBytes bounds one JSON line or CSV record (default 16 MiB).
	MaxLineBytes int
}

// Read streams the products of r to fn in file order. A product that cannot be read
// is passed to bad (with its line) and reading goes on; an error from fn, from bad,
// or one that makes the rest of the file unreadable ends Read with that error.
func Read(r io.Reader, opt ReadOptions, fn func(Product) error, bad func(*LineError) error) error {
	if opt.MaxLineBytes <= 0 {
		opt.MaxLineBytes = 16 << 20
	}
	br := bufio.NewReaderSize(r, 64<<10)
	format := opt.Format
	if format == FormatAuto {
		first, err := firstByte(br)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		switch first {
		case '[':
			format = FormatJSON
		case '{':
			format = FormatJSONL
		default:
			format = FormatCSV
		}
	}
	switch format {
	case FormatJSONL:
		return readJSONL(br, opt, fn, bad)
	case FormatJSON:
		return readJSONArray(br, opt, fn, bad)
	case FormatCSV:
		return readCSV(br, opt, fn, bad)
	}
	return fmt.Errorf("unknown catalog format %q: use jsonl, json or csv", format)
}

// Open opens a catalog file for Read, looking inside gzip and tar(.gz) archives
// (the first regular file of a tar is the catalog).
func Open(path string) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot open catalog: %w", err)
	}
	br := bufio.NewReader(f)
	var r io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("cannot read gzip catalog %q: %w", path, err)
		}
		r = gz
	}
	tbr := bufio.NewReader(r)
	if head, _ := tbr.Peek(262); len(head) == 262 && string(head[257:262]) == "ustar" {
		tr := tar.NewReader(tbr)
		for {
			h, err := tr.Next()
			if err != nil {
				f.Close()
				return nil, fmt.Errorf("no regular file in tar catalog %q: %w", path, err)
			}
			if h.Typeflag == tar.TypeReg && !strings.HasPrefix(pathBase(h.Name), "._") {
				return readCloser{tr, f}, nil
			}
		}
	}
	return readCloser{tbr, f}, nil
}

type readCloser struct {
	io.Reader
	io.Closer
}

func pathBase(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}

func firstByte(br *bufio.Reader) (byte, error) {
	for {
		b, err := br.ReadByte()
		if err != nil {
			return 0, err
		}
		if b == 0xEF { // UTF-8 byte order mark
			if next, _ := br.Peek(2); bytes.Equal(next, []byte{0xBB, 0xBF}) {
				br.Discard(2)
				continue
			}
		}
		if b != ' ' && b != '\t' && b != '\r' && b != '\n' {
			return b, br.UnreadByte()
		}
	}
}

func readJSONL(br *bufio.Reader, opt ReadOptions, fn func(Product) error, bad func(*LineError) error) error {
	sc := bufio.NewScanner(br)
	sc.Buffer(make([]byte, 64<<10), opt.MaxLineBytes)
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		if err := emitJSON(b, line, opt, fn, bad); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("cannot read catalog after line %d: %w", line, err)
	}
	return nil
}

func readJSONArray(br *bufio.Reader, opt ReadOptions, fn func(Product) error, bad func(*LineError) error) error {
	dec := json.NewDecoder(br)
	if _, err := dec.Token(); err != nil {
		return fmt.Errorf("cannot read catalog: %w", err)
	}
	for i := 1; dec.More(); i++ {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return fmt.Errorf("cannot read catalog element %d: %w", i, err)
		}
		if err := emitJSON(raw, i, opt, fn, bad); err != nil {
			return err
		}
	}
	return nil
}

func emitJSON(b []byte, line int, opt ReadOptions, fn func(Product) error, bad func(*LineError) error) error {
	if len(opt.Columns) > 0 {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b, &m); err != nil {
			return bad(&LineError{Line: line, Reason: "not a JSON object: " + err.Error()})
		}
		for field, col := range opt.Columns {
			if v, ok := m[col]; ok {
				m[field] = v
				delete(m, col)
			}
		}
		b, _ = json.Marshal(m)
	}
	var p Product
	if err := unmarshalProduct(b, &p); err != nil {
		return bad(&LineError{Line: line, Reason: err.Error()})
	}
	if err := p.Normalize(); err != nil {
		var fe FieldError
		errors.As(err, &fe)
		return bad(&LineError{Line: line, Field: fe.Field, Reason: fe.Reason})
	}
	return fn(p)
}

// unmarshalProduct decodes a product, accepting numbers for ids and sizes and a
// list of plain sizes ("sizes":["9","9.5"]) as well as the objects of CONTRACT §3.
func unmarshalProduct(b []byte, p *Product) error {
	var w struct {
		Product
		ProductID  json.RawMessage `json:"product_id"`
		Price      json.RawMessage `json:"price"`
		Sizes      json.RawMessage `json:"sizes"`
		Attributes json.RawMessage `json:"attributes"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return fmt.Errorf("%s: has the wrong type (got JSON %s)", te.Field, te.Value)
		}
		return fmt.Errorf("not a valid product object: %v", err)
	}
	*p = w.Product
	id, err := flexString(w.ProductID)
	if err != nil {
		return fmt.Errorf("product_id: %v", err)
	}
	p.ProductID = id
	if len(w.Price) > 0 && string(w.Price) != "null" {
		s, err := flexString(w.Price)
		if err != nil {
			return fmt.Errorf("price: %v", err)
		}
		if s != "" {
			if p.Price, err = strconv.ParseFloat(s, 64); err != nil {
				return fmt.Errorf("price: %q is not a number", s)
			}
		}
	}
	if len(w.Sizes) > 0 && string(w.Sizes) != "null" {
		if p.Sizes, err = parseSizesJSON(w.Sizes); err != nil {
			return fmt.Errorf("sizes: %v", err)
		}
	}
	if len(w.Attributes) > 0 && string(w.Attributes) != "null" {
		if err := json.Unmarshal(w.Attributes, &p.Attributes); err != nil {
			return fmt.Errorf("attributes: must be a JSON object")
		}
	}
	return nil
}

func flexString(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	if raw[0] == '"' {
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		return "", fmt.Errorf("must be a string or a number")
	}
	return n.String(), nil
}

func parseSizesJSON(raw json.RawMessage) ([]Size, error) {
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, fmt.Errorf("must be an array")
	}
	out := make([]Size, 0, len(items))
	for i, it := range items {
		if len(it) > 0 && it[0] == '{' {
			var s struct {
				Size    json.RawMessage `json:"size"`
				InStock *bool           `json:"in_stock"`
			}
			if err := json.Unmarshal(it, &s); err != nil {
				return nil, fmt.Errorf("[%d]: %v", i, err)
			}
			v, err := flexString(s.Size)
			if err != nil {
				return nil, fmt.Errorf("[%d].size: %v", i, err)
			}
			out = append(out, Size{Size: v, InStock: s.InStock == nil || *s.InStock})
			continue
		}
		v, err := flexString(it)
		if err != nil {
			return nil, fmt.Errorf("[%d]: %v", i, err)
		}
		out = append(out, Size{Size: v, InStock: true})
	}
	return out, nil
}

var knownColumns = map[string]bool{
	"product_id": true, "name": true, "brand": true, "category": true, "gender": true, "color": true,
	"material": true, "style": true, "price": true, "description": true, "size_system": true,
	"sizes": true, "attributes": true,
}

func readCSV(br *bufio.Reader, opt ReadOptions, fn func(Product) error, bad func(*LineError) error) error {
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	cr.LazyQuotes = true
	header, err := cr.Read()
	if err != nil {
		return fmt.Errorf("cannot read the CSV header row: %w", err)
	}
	source := make(map[string]string, len(opt.Columns)) // column name in file -> field
	for field, col := range opt.Columns {
		source[col] = field
	}
	fields := make([]string, len(header))
	hasID := false
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		if f, ok := source[h]; ok {
			h = f
		}
		fields[i] = h
		hasID = hasID || h == "product_id"
	}
	if !hasID {
		return fmt.Errorf("the CSV header has no product_id column (columns: %s); map one with product_id=COLUMN", strings.Join(header, ", "))
	}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) && pe.Err == csv.ErrFieldCount {
				continue // FieldsPerRecord = -1 makes this unreachable; kept for clarity
			}
			if berr := bad(&LineError{Line: line, Reason: err.Error()}); berr != nil {
				return berr
			}
			if errors.As(err, &pe) {
				continue
			}
			return fmt.Errorf("cannot read CSV catalog after line %d: %w", line, err)
		}
		p, lerr := productFromRecord(fields, rec, line)
		if lerr != nil {
			if berr := bad(lerr); berr != nil {
				return berr
			}
			continue
		}
		if err := fn(p); err != nil {
			return err
		}
	}
}

func productFromRecord(fields, rec []string, line int) (Product, *LineError) {
	var p Product
	for i, v := range rec {
		if i >= len(fields) {
			break
		}
		v = strings.TrimSpace(v)
		switch f := fields[i]; f {
		case "product_id":
			p.ProductID = v
		case "name":
			p.Name = v
		case "brand":
			p.Brand = v
		case "category":
			p.Category = v
		case "gender":
			p.Gender = v
		case "color":
			p.Color = v
		case "material":
			p.Material = v
		case "style":
			p.Style = v
		case "description":
			p.Description = v
		case "size_system":
			p.SizeSystem = v
		case "price":
			if v != "" {
				x, err := strconv.ParseFloat(strings.TrimPrefix(v, "$"), 64)
				if err != nil {
					return p, &LineError{Line: line, Field: "price", Reason: fmt.Sprintf("%q is not a number", v)}
				}
				p.Price = x
			}
		case "sizes":
			sz, err := parseSizesCell(v)
			if err != nil {
				return p, &LineError{Line: line, Field: "sizes", Reason: err.Error()}
			}
			p.Sizes = sz
		case "attributes":
			if v != "" {
				if err := json.Unmarshal([]byte(v), &p.Attributes); err != nil {
					return p, &LineError{Line: line, Field: "attributes", Reason: "must be a JSON object"}
				}
			}
		default:
			if v != "" && f != "" && !knownColumns[f] {
				if p.Attributes == nil {
					p.Attributes = map[string]any{}
				}
				p.Attributes[f] = v
			}
		}
	}
	if err := p.Normalize(); err != nil {
		var fe FieldError
		errors.As(err, &fe)
		return p, &LineError{Line: line, Field: fe.Field, Reason: fe.Reason}
	}
	return p, nil
}

// parseSizesCell reads the sizes column of a CSV: a JSON array (as in JSON lines) or
// a list separated by ';' or '|' where a size followed by '!' (or ":0") is out of stock,
// e.g. "9;9.5!;10".
func parseSizesCell(v string) ([]Size, error) {
	if v == "" {
		return nil, nil
	}
	if v[0] == '[' {
		return parseSizesJSON(json.RawMessage(v))
	}
	parts := strings.FieldsFunc(v, func(r rune) bool { return r == ';' || r == '|' })
	out := make([]Size, 0, len(parts))
	for _, s := range parts {
		s = strings.TrimSpace(s)
		in := true
		switch {
		case strings.HasSuffix(s, "!"):
			s, in = strings.TrimSuffix(s, "!"), false
		case strings.HasSuffix(s, ":0"):
			s, in = strings.TrimSuffix(s, ":0"), false
		case strings.HasSuffix(s, ":1"):
			s = strings.TrimSuffix(s, ":1")
		}
		if s != "" {
			out = append(out, Size{Size: s, InStock: in})
		}
	}
	return out, nil
}
