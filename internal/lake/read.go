package lake

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/parquet-go/parquet-go"
)

// compactedPrefix starts the names of files written by compaction; only their footers
// can list superseded files, so readers open only those to find what to skip.
const compactedPrefix = "c-"

// openParquet opens a published file and reads its footer.
func openParquet(ctx context.Context, st Storage, key string) (*parquet.File, Object, error) {
	o, err := st.Open(ctx, key)
	if err != nil {
		return nil, nil, err
	}
	f, err := parquet.OpenFile(o, o.Size(), parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		o.Close()
		return nil, nil, fmt.Errorf("cannot read Parquet footer of lake file %q: %w", key, err)
	}
	return f, o, nil
}

// supersededIn returns the names of the files in a partition folder that a compacted
// file of that folder replaces (they are garbage, even while they still exist).
func supersededIn(ctx context.Context, st Storage, names []string, dirKey string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, n := range names {
		if !strings.HasPrefix(n, compactedPrefix) {
			continue
		}
		f, o, err := openParquet(ctx, st, dirKey+"/"+n)
		if errors.Is(err, ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if v, ok := f.Lookup(metaSupersedes); ok && v != "" {
			for _, s := range strings.Split(v, ",") {
				out[s] = true
			}
		}
		o.Close()
	}
	return out, nil
}

// isPublished reports whether key was published: it exists, or a compacted file in its
// folder supersedes it.
func isPublished(ctx context.Context, st Storage, key string) (bool, error) {
	_, err := st.Stat(ctx, key)
	if err == nil {
		return true, nil
	}
	if !errors.Is(err, ErrNotExist) {
		return false, err
	}
	d := dir(key)
	var names []string
	if err := st.List(ctx, d+"/", func(oi ObjectInfo) error {
		if dir(oi.Key) == d {
			names = append(names, path.Base(oi.Key))
		}
		return nil
	}); err != nil {
		return false, err
	}
	sup, err := supersededIn(ctx, st, names, d)
	if err != nil {
		return false, err
	}
	return sup[path.Base(key)], nil
}

// lakeFileInfo is a listed event file.
type lakeFileInfo struct {
	FileKey
	Size    int64
	ModTime time.Time
}

// listEventFiles lists the live (not superseded) event files under the given prefixes,
// grouped by partition folder.
func listEventFiles(ctx context.Context, st Storage, prefixes []string, keep func(FileKey) bool) (map[string][]lakeFileInfo, error) {
	byDir := map[string][]lakeFileInfo{}
	for _, pre := range prefixes {
		err := st.List(ctx, pre, func(oi ObjectInfo) error {
			fk, err := ParseEventKey(oi.Key)
			if err != nil {
				return nil // not a lake file (a stray object): ignored by readers
			}
			if keep != nil && !keep(fk) {
				return nil
			}
			d := dir(oi.Key)
			byDir[d] = append(byDir[d], lakeFileInfo{FileKey: fk, Size: oi.Size, ModTime: oi.ModTime})
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	for d, files := range byDir {
		names := make([]string, len(files))
		for i, f := range files {
			names[i] = f.Name
		}
		sup, err := supersededIn(ctx, st, names, d)
		if err != nil {
			return nil, err
		}
		if len(sup) == 0 {
			continue
		}
		live := files[:0]
		for _, f := range files {
			if !sup[f.Name] {
				live = append(live, f)
			}
		}
		byDir[d] = live
	}
	return byDir, nil
}

// ScanOptions select what Scan reads.
type ScanOptions struct {
	Events []string  // partition names (event names, "identify", "page"); empty: all
	From   time.Time // event time, inclusive; zero: no lower bound
	To     time.Time // event time, exclusive; zero: no upper bound
	// Sorted sorts the rows of each hour (all selected events together) by
	// (timestamp, message_id) before calling fn, so the whole scan is in event-time
	// order. It holds about three hours of the selected events in memory (the next
	// hours are decoded, in parallel, while fn reads the current one). Without it, memory is
	// bounded by a few hundred rows, and the order is: hours ascending, then file by
	// file (rows of a file in the order they were written, i.e. arrival order).
	Sorted bool
}

// Scan calls fn for every row of the lake that matches o, hours in ascending order (see
// ScanOptions.Sorted for the order within an hour). The *Row is only valid during the
// call. Files superseded by compaction are skipped, so every event is seen once.
// Scan only sees published files, so it is safe while a writer runs.
func Scan(ctx context.Context, st Storage, o ScanOptions, fn func(*Row) error) error {
	prefixes := []string{EventsDir + "/"}
	var want map[string]bool
	if len(o.Events) > 0 {
		prefixes = prefixes[:0]
		want = map[string]bool{}
		for _, e := range o.Events {
			if !want[e] {
				prefixes = append(prefixes, EventsDir+"/event="+EscapeName(e)+"/")
			}
			want[e] = true
		}
	}
	keep := func(fk FileKey) bool {
		h := fk.Partition.Hour
		if !o.From.IsZero() && !h.Add(time.Hour).After(o.From) {
			return false
		}
		if !o.To.IsZero() && !h.Before(o.To) {
			return false
		}
		return true
	}
	byDir, err := listEventFiles(ctx, st, prefixes, keep)
	if err != nil {
		return err
	}
	byHour := map[time.Time][]lakeFileInfo{}
	for _, files := range byDir {
		for _, f := range files {
			byHour[f.Partition.Hour] = append(byHour[f.Partition.Hour], f)
		}
	}
	hours := make([]time.Time, 0, len(byHour))
	for h := range byHour {
		hours = append(hours, h)
	}
	slices.SortFunc(hours, func(a, b time.Time) int { return a.Compare(b) })
	match := func(r *Row) bool {
		if want != nil && !want[r.Event] {
			return false
		}
		if !o.From.IsZero() && r.Timestamp.Before(o.From) {
			return false
		}
		if !o.To.IsZero() && !r.Timestamp.Before(o.To) {
			return false
		}
		return true
	}
	if o.Sorted {
		return scanSorted(ctx, st, hours, byHour, match, fn)
	}
	for _, h := range hours {
		files := byHour[h]
		sort.Slice(files, func(i, j int) bool { return files[i].Key < files[j].Key })
		for _, f := range files {
			err := readRows(ctx, st, f.Key, func(r *Row) error {
				if !match(r) {
					return nil
				}
				return fn(r)
			})
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// hourBatch is one hour of rows, sorted, or the error that ended the reading.
type hourBatch struct {
	rows []Row
	err  error
}

// scanSorted is Scan in event-time order. Decoding Parquet costs about as much as
// what a typical caller does with the rows, so the hours are decoded ahead of fn by
// a producer goroutine (its files decoded in parallel, up to GOMAXPROCS at once)
// while fn consumes the previous hour: at most about three hours of rows are in
// memory (the one fn reads, one ready, one being decoded).
func scanSorted(ctx context.Context, st Storage, hours []time.Time, byHour map[time.Time][]lakeFileInfo, match func(*Row) bool, fn func(*Row) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ready := make(chan hourBatch, 1)
	free := make(chan []Row, 2) // row buffers fn is done with, for reuse
	workers := max(1, runtime.GOMAXPROCS(0))
	go func() {
		defer close(ready)
		for _, h := range hours {
			var buf []Row
			select {
			case buf = <-free:
			default:
			}
			rows, err := readHour(ctx, st, byHour[h], match, workers, buf[:0])
			select {
			case ready <- hourBatch{rows, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	for b := range ready {
		if b.err != nil {
			return b.err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		for i := range b.rows {
			if err := fn(&b.rows[i]); err != nil {
				return err // the deferred cancel stops the producer
			}
		}
		clear(b.rows) // drop the strings for the collector before the buffer waits for reuse
		select {
		case free <- b.rows:
		default:
		}
	}
	return ctx.Err()
}

// readHour decodes the files of one hour (up to workers at once) and returns their
// matching rows sorted by (timestamp, message_id), appended to dst.
func readHour(ctx context.Context, st Storage, files []lakeFileInfo, match func(*Row) bool, workers int, dst []Row) ([]Row, error) {
	sort.Slice(files, func(i, j int) bool { return files[i].Key < files[j].Key })
	parts := make([][]Row, len(files))
	errs := make([]error, len(files))
	next := make(chan int, len(files))
	for i := range files {
		next <- i
	}
	close(next)
	var wg sync.WaitGroup
	for range min(workers, len(files)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if ctx.Err() != nil {
					errs[i] = ctx.Err()
					continue
				}
				errs[i] = readRows(ctx, st, files[i].Key, func(r *Row) error {
					if match(r) {
						parts[i] = append(parts[i], *r)
					}
					return nil
				})
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	rows := dst
	if len(parts) == 1 && len(dst) == 0 {
		rows = parts[0]
	} else {
		for _, p := range parts {
			rows = append(rows, p...)
		}
	}
	slices.SortFunc(rows, func(a, b Row) int {
		if c := a.Timestamp.Compare(b.Timestamp); c != 0 {
			return c
		}
		return cmp.Compare(a.MessageID, b.MessageID)
	})
	return rows, nil
}

// readRows streams the rows of one event file. A file deleted since it was listed
// (replaced by compaction) is an error: the caller lists again.
func readRows(ctx context.Context, st Storage, key string, fn func(*Row) error) error {
	f, o, err := openParquet(ctx, st, key)
	if err != nil {
		return err
	}
	defer o.Close()
	r, err := newReader[Row](f)
	if err != nil {
		return fmt.Errorf("cannot read rows of lake file %q: %w", key, err)
	}
	defer r.Close()
	buf := make([]Row, 256)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, err := r.Read(buf)
		for i := range n {
			if ferr := fn(&buf[i]); ferr != nil {
				return ferr
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("cannot read rows of lake file %q: %w", key, err)
		}
	}
}

// StatsResult is the output of `bespoke lake stats` (CONTRACT §1).
type StatsResult struct {
	Events          map[string]int64 `json:"events"` // rows per event name
	Days            map[string]int64 `json:"days"`   // rows per event day (UTC)
	Files           int              `json:"files"`  // event files
	Bytes           int64            `json:"bytes"`  // bytes of event files
	DeadLetters     int64            `json:"dead_letters"`
	DeadLetterFiles int              `json:"dead_letter_files"`
}

// Stats counts the lake's rows per event name and per day from the Parquet footers (no
// data is read). It is read-only and sees only published files, so it can run while a
// writer runs; while a compaction runs its counts may be briefly off.
func Stats(ctx context.Context, st Storage) (StatsResult, error) {
	res := StatsResult{Events: map[string]int64{}, Days: map[string]int64{}}
	byDir, err := listEventFiles(ctx, st, []string{EventsDir + "/"}, nil)
	if err != nil {
		return res, err
	}
	for _, files := range byDir {
		for _, fi := range files {
			f, o, err := openParquet(ctx, st, fi.Key)
			if errors.Is(err, ErrNotExist) {
				continue // merged away since listed
			}
			if err != nil {
				return res, err
			}
			n := f.NumRows()
			name, ok := f.Lookup(metaEvent)
			if !ok {
				name = fi.Partition.Event
			}
			o.Close()
			res.Events[name] += n
			res.Days[fi.Partition.Day()] += n
			res.Files++
			res.Bytes += fi.Size
		}
	}
	err = st.List(ctx, DeadLettersDir+"/", func(oi ObjectInfo) error {
		if !strings.HasSuffix(oi.Key, fileSuffix) {
			return nil
		}
		f, o, err := openParquet(ctx, st, oi.Key)
		if errors.Is(err, ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		res.DeadLetters += f.NumRows()
		res.DeadLetterFiles++
		return o.Close()
	})
	return res, err
}

// ScanDeadLetters calls fn for every dead letter in the lake.
func ScanDeadLetters(ctx context.Context, st Storage, fn func(*DeadLetter) error) error {
	var keys []string
	if err := st.List(ctx, DeadLettersDir+"/", func(oi ObjectInfo) error {
		if strings.HasSuffix(oi.Key, fileSuffix) {
			keys = append(keys, oi.Key)
		}
		return nil
	}); err != nil {
		return err
	}
	for _, k := range keys {
		f, o, err := openParquet(ctx, st, k)
		if err != nil {
			return err
		}
		rows, err := readAllOf[DeadLetter](f)
		o.Close()
		if err != nil {
			return fmt.Errorf("cannot read dead letters of %q: %w", k, err)
		}
		for i := range rows {
			if err := fn(&rows[i]); err != nil {
				return err
			}
		}
	}
	return nil
}

// newReader wraps parquet.NewGenericReader, which panics on a file whose schema does
// not convert to T.
func newReader[T any](f *parquet.File) (r *parquet.GenericReader[T], err error) {
	defer func() {
		if p := recover(); p != nil {
			r, err = nil, fmt.Errorf("schema does not match: %v", p)
		}
	}()
	return parquet.NewGenericReader[T](f), nil
}

func readAllOf[T any](f *parquet.File) ([]T, error) {
	r, err := newReader[T](f)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	out := make([]T, 0, f.NumRows())
	buf := make([]T, 256)
	for {
		n, err := r.Read(buf)
		out = append(out, buf[:n]...)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}
