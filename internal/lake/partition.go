package lake

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"
)

// Top-level folders of a lake.
const (
	EventsDir      = "events"       // <lake>/events/event=<name>/dt=YYYY-MM-DD/hour=HH/<unique>.parquet
	DeadLettersDir = "dead_letters" // <lake>/dead_letters/dt=YYYY-MM-DD/<unique>.parquet
	ErasuresDir    = "_erasures"    // pending erasure requests (JSON), applied by Compact
	fileSuffix     = ".parquet"

	// maxEscapedName caps the length of the escaped event name in a path segment so that
	// "event=<name>" stays well under the 255-byte limit of file names on common file systems.
	maxEscapedName = 200
)

// EscapeName escapes an event name for the event=<name> path segment: every byte
// outside [A-Za-z0-9._~-] becomes %XX (so "Product Clicked" is "Product%20Clicked",
// which Hive, Spark and DuckDB decode back). Names whose escaped form is longer than
// 200 bytes are cut and suffixed with "~" and 16 hex digits of their SHA-256, so that the
// path stays valid; the exact name is always in the event column of the file.
func EscapeName(name string) string {
	var b strings.Builder
	const hexdig = "0123456789ABCDEF"
	for i := 0; i < len(name); i++ {
		c := name[i]
		if isUnreserved(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexdig[c>>4])
		b.WriteByte(hexdig[c&15])
	}
	s := b.String()
	if len(s) <= maxEscapedName {
		return s
	}
	cut := maxEscapedName - 17
	// do not cut inside a %XX escape
	if i := strings.LastIndexByte(s[:cut], '%'); i >= 0 && i+3 > cut {
		cut = i
	}
	sum := sha256.Sum256([]byte(name))
	return s[:cut] + "~" + hex.EncodeToString(sum[:8])
}

func isUnreserved(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~'
}

// UnescapeName reverses EscapeName (for names that were not cut).
func UnescapeName(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		if i+2 >= len(s) {
			return "", fmt.Errorf("cannot unescape event name %q: truncated %%-escape at byte %d", s, i)
		}
		v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
		if err != nil {
			return "", fmt.Errorf("cannot unescape event name %q: bad %%-escape at byte %d", s, i)
		}
		b.WriteByte(byte(v))
		i += 2
	}
	return b.String(), nil
}

// Partition identifies one folder of event files: an event name and an hour of event time (UTC).
type Partition struct {
	Event string    // the event's partition name (event.PartitionName)
	Hour  time.Time // the hour, UTC, truncated
}

// PartitionOf returns the partition of an event with this name and event time.
func PartitionOf(name string, ts time.Time) Partition {
	return Partition{Event: name, Hour: ts.UTC().Truncate(time.Hour)}
}

// Dir is the partition's folder relative to the lake root, without a trailing slash.
func (p Partition) Dir() string {
	return EventsDir + "/event=" + EscapeName(p.Event) + "/dt=" + p.Hour.Format("2006-01-02") + "/hour=" + p.Hour.Format("15")
}

// Day is the partition's dt value (YYYY-MM-DD).
func (p Partition) Day() string { return p.Hour.Format("2006-01-02") }

// FileKey is the parsed key of a published event file.
type FileKey struct {
	Key       string // the whole key, relative to the lake root
	Escaped   string // the escaped event name as it appears in the path
	Partition Partition
	Name      string // the file name (<unique>.parquet)
}

// ParseEventKey parses "events/event=<name>/dt=YYYY-MM-DD/hour=HH/<file>.parquet".
// It is how readers prune by event name and time without opening files.
func ParseEventKey(key string) (FileKey, error) {
	parts := strings.Split(key, "/")
	if len(parts) != 5 || parts[0] != EventsDir {
		return FileKey{}, fmt.Errorf("cannot parse lake key %q: want %s/event=<name>/dt=YYYY-MM-DD/hour=HH/<file>%s", key, EventsDir, fileSuffix)
	}
	esc, ok := strings.CutPrefix(parts[1], "event=")
	if !ok || esc == "" {
		return FileKey{}, fmt.Errorf("cannot parse lake key %q: second segment %q is not event=<name>", key, parts[1])
	}
	name, err := UnescapeName(esc)
	if err != nil {
		return FileKey{}, fmt.Errorf("cannot parse lake key %q: %w", key, err)
	}
	dt, ok := strings.CutPrefix(parts[2], "dt=")
	if !ok || len(dt) != 10 {
		return FileKey{}, fmt.Errorf("cannot parse lake key %q: third segment %q is not dt=YYYY-MM-DD", key, parts[2])
	}
	day, err := time.Parse("2006-01-02", dt)
	if err != nil {
		return FileKey{}, fmt.Errorf("cannot parse lake key %q: bad date %q: %w", key, dt, err)
	}
	hh, ok := strings.CutPrefix(parts[3], "hour=")
	if !ok || len(hh) != 2 || hh[0] < '0' || hh[0] > '9' || hh[1] < '0' || hh[1] > '9' {
		return FileKey{}, fmt.Errorf("cannot parse lake key %q: fourth segment %q is not hour=HH", key, parts[3])
	}
	h := int(hh[0]-'0')*10 + int(hh[1]-'0')
	if h > 23 {
		return FileKey{}, fmt.Errorf("cannot parse lake key %q: hour %d is not 00..23", key, h)
	}
	file := parts[4]
	if !strings.HasSuffix(file, fileSuffix) || len(file) == len(fileSuffix) || strings.HasPrefix(file, ".") || strings.HasPrefix(file, "_") {
		return FileKey{}, fmt.Errorf("cannot parse lake key %q: %q is not a published <unique>%s file", key, file, fileSuffix)
	}
	return FileKey{
		Key:       key,
		Escaped:   esc,
		Partition: Partition{Event: name, Hour: day.Add(time.Duration(h) * time.Hour)},
		Name:      file,
	}, nil
}

// dir returns the folder part of a key.
func dir(key string) string { return path.Dir(key) }
