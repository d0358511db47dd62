package lake

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
)

// seenSet is the writer's durable memory (Pebble, under the data dir):
//
//	s<messageId>                  → first receivedAt (unix µs): the event is in a published file
//	t<hour, 8 bytes BE><messageId> → nothing: index for expiry by received time
//	p<file key>                   → the messageIds (and receivedAt) of a file about to be published
//
// The p marker is written with fsync BEFORE the file is published; the s/t entries are
// written (without fsync) after. At start-up every remaining p marker is resolved by
// looking at the lake: published → its ids become seen; not published → marker dropped.
type seenSet struct {
	db     *pebble.DB
	window time.Duration
}

type idAt struct {
	id string
	at int64 // receivedAt, unix µs
}

type quietLogger struct{}

func (quietLogger) Infof(string, ...any)  {}
func (quietLogger) Errorf(string, ...any) {}
func (quietLogger) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf("pebble (lake seen-set): "+format, args...))
}

func openSeen(dir string, window time.Duration) (*seenSet, error) {
	opts := &pebble.Options{Logger: quietLogger{}}
	for i := range opts.Levels {
		opts.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
	}
	db, err := pebble.Open(dir, opts)
	if err != nil {
		return nil, fmt.Errorf("cannot open lake seen-set %q: %w", dir, err)
	}
	return &seenSet{db: db, window: window}, nil
}

func (s *seenSet) close() error { return s.db.Close() }

func seenKey(id string) []byte { return append([]byte{'s'}, id...) }

func timeKey(hour int64, id string) []byte {
	k := make([]byte, 9, 9+len(id))
	k[0] = 't'
	binary.BigEndian.PutUint64(k[1:], uint64(hour))
	return append(k, id...)
}

func markerKey(file string) []byte { return append([]byte{'p'}, file...) }

const microsPerHour = int64(time.Hour / time.Microsecond)

// seen reports whether id was published with a receivedAt within the window before at.
func (s *seenSet) seen(id string, at int64) (bool, error) {
	v, c, err := s.db.Get(seenKey(id))
	if errors.Is(err, pebble.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("cannot look up messageId %q in lake seen-set: %w", id, err)
	}
	defer c.Close()
	if len(v) != 8 {
		return true, nil
	}
	first := int64(binary.BigEndian.Uint64(v))
	return at-first <= s.window.Microseconds(), nil
}

func encodeIDs(ids []idAt) []byte {
	var b []byte
	for _, x := range ids {
		b = binary.AppendUvarint(b, uint64(len(x.id)))
		b = append(b, x.id...)
		b = binary.BigEndian.AppendUint64(b, uint64(x.at))
	}
	return b
}

func decodeIDs(b []byte) ([]idAt, error) {
	var ids []idAt
	for len(b) > 0 {
		n, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k) < n+8 {
			return nil, errors.New("corrupt pending-file marker in lake seen-set")
		}
		b = b[k:]
		id := string(b[:n])
		at := int64(binary.BigEndian.Uint64(b[n:]))
		b = b[n+8:]
		ids = append(ids, idAt{id, at})
	}
	return ids, nil
}

// prepare durably records that file is about to be published with these ids.
func (s *seenSet) prepare(file string, ids []idAt) error {
	if err := s.db.Set(markerKey(file), encodeIDs(ids), pebble.Sync); err != nil {
		return fmt.Errorf("cannot record pending lake file %q: %w", file, err)
	}
	return nil
}

// published records the ids of a published file as seen and drops its marker. It needs
// no fsync: if it is lost in a crash, the marker (written before) is resolved at start-up.
func (s *seenSet) published(file string, ids []idAt) error {
	b := s.db.NewBatch()
	defer b.Close()
	var v [8]byte
	for _, x := range ids {
		binary.BigEndian.PutUint64(v[:], uint64(x.at))
		_ = b.Set(seenKey(x.id), v[:], nil)
		_ = b.Set(timeKey(x.at/microsPerHour, x.id), nil, nil)
	}
	_ = b.Delete(markerKey(file), nil)
	if err := b.Commit(pebble.NoSync); err != nil {
		return fmt.Errorf("cannot record published lake file %q in seen-set: %w", file, err)
	}
	return nil
}

// abandon drops the marker of a file that was not published.
func (s *seenSet) abandon(file string) error {
	if err := s.db.Delete(markerKey(file), pebble.NoSync); err != nil {
		return fmt.Errorf("cannot drop pending lake file %q from seen-set: %w", file, err)
	}
	return nil
}

// pending returns the markers left by a previous run.
func (s *seenSet) pending() (map[string][]idAt, error) {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{'p'}, UpperBound: []byte{'q'}})
	if err != nil {
		return nil, fmt.Errorf("cannot read lake seen-set: %w", err)
	}
	defer it.Close()
	out := map[string][]idAt{}
	for it.First(); it.Valid(); it.Next() {
		ids, err := decodeIDs(it.Value())
		if err != nil {
			return nil, fmt.Errorf("pending lake file %q: %w", it.Key()[1:], err)
		}
		out[string(it.Key()[1:])] = ids
	}
	return out, it.Error()
}

// expire forgets ids first received before cutoff. It returns how many were forgotten.
func (s *seenSet) expire(cutoff time.Time) (int, error) {
	endHour := cutoff.UnixMicro() / microsPerHour
	upper := timeKey(endHour, "")
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{'t'}, UpperBound: upper})
	if err != nil {
		return 0, fmt.Errorf("cannot read lake seen-set: %w", err)
	}
	b := s.db.NewBatch()
	defer b.Close()
	n := 0
	for it.First(); it.Valid(); it.Next() {
		k := it.Key()
		hour := int64(binary.BigEndian.Uint64(k[1:9]))
		id := string(k[9:])
		// a later receipt (after a previous expiry) may own the s entry now
		if v, c, err := s.db.Get(seenKey(id)); err == nil {
			owned := len(v) == 8 && int64(binary.BigEndian.Uint64(v))/microsPerHour == hour
			c.Close()
			if owned {
				_ = b.Delete(seenKey(id), nil)
			}
		}
		_ = b.Delete(append([]byte(nil), k...), nil)
		n++
	}
	if err := it.Close(); err != nil {
		return 0, fmt.Errorf("cannot read lake seen-set: %w", err)
	}
	if err := b.Commit(pebble.NoSync); err != nil {
		return 0, fmt.Errorf("cannot expire lake seen-set: %w", err)
	}
	return n, nil
}

func seenBounds() *pebble.IterOptions {
	return &pebble.IterOptions{LowerBound: []byte{'s'}, UpperBound: []byte{'t'}}
}
