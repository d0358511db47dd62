package lake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"
)

// Erasure asks for every event of a customer to be removed from the lake by the next
// Compact (CONTRACT §4). Either field may be empty.
type Erasure struct {
	UserID      string    `json:"user_id,omitempty"`
	AnonymousID string    `json:"anonymous_id,omitempty"`
	RequestedAt time.Time `json:"requested_at"`
}

// RequestErasure records an erasure request in the lake (<lake>/_erasures/); the next
// Compact rewrites every partition holding the customer's events and then deletes the
// request.
func RequestErasure(ctx context.Context, st Storage, userID, anonymousID string) error {
	if userID == "" && anonymousID == "" {
		return errors.New("cannot request erasure: neither a user id nor an anonymous id given")
	}
	e := Erasure{UserID: userID, AnonymousID: anonymousID, RequestedAt: time.Now().UTC()}
	b, _ := json.Marshal(e)
	key := ErasuresDir + "/" + strings.TrimSuffix(uniqueName(e.RequestedAt), fileSuffix) + ".json"
	if err := WriteObject(ctx, st, key, b); err != nil {
		return fmt.Errorf("cannot record erasure request: %w", err)
	}
	return nil
}

// CompactOptions configure Compact.
type CompactOptions struct {
	SmallFileBytes int64         // files smaller than this are merged; default 16 MiB
	MinFiles       int           // merge a partition holding at least this many small files; default 2
	MinAge         time.Duration // leave files younger than this alone (unless erasing); default 10 min
	Metrics        *Metrics
	Now            func() time.Time
}

// CompactResult says what Compact did.
type CompactResult struct {
	Partitions   int `json:"partitions"`    // partitions rewritten
	FilesMerged  int `json:"files_merged"`  // input files replaced
	FilesWritten int `json:"files_written"` // compacted files published
	Garbage      int `json:"garbage"`       // superseded files left by an interrupted compaction, deleted
	RowsErased   int `json:"rows_erased"`
	Erasures     int `json:"erasures"` // erasure requests applied (and deleted)
}

// Compact merges the small files of each partition into one, applies pending erasure
// requests, and deletes files superseded by an earlier interrupted compaction.
//
// A compacted file is named c-<unique>.parquet and lists the names of the files it
// replaces in its footer (key bespoke.supersedes). It is published first, and its
// inputs are deleted after. Readers of this package (Scan, Stats, the writer's
// recovery) skip any file named by a compacted file of its folder, so a crash between
// the two steps never shows an event twice to them; the next Compact deletes the
// leftovers. Outside readers (DuckDB, Spark) can see both for that short window; see
// doc.go. Only one Compact may run on a lake at a time.
func Compact(ctx context.Context, st Storage, o CompactOptions) (CompactResult, error) {
	var res CompactResult
	if o.SmallFileBytes <= 0 {
		o.SmallFileBytes = 16 << 20
	}
	if o.MinFiles <= 1 {
		o.MinFiles = 2
	}
	if o.MinAge <= 0 {
		o.MinAge = 10 * time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Metrics == nil {
		o.Metrics, _ = NewMetrics(nil)
	}
	erasures, erasureKeys, err := loadErasures(ctx, st)
	if err != nil {
		return res, err
	}
	users, anons := map[string]bool{}, map[string]bool{}
	for _, e := range erasures {
		if e.UserID != "" {
			users[e.UserID] = true
		}
		if e.AnonymousID != "" {
			anons[e.AnonymousID] = true
		}
	}
	erased := func(r *Row) bool {
		return (r.UserID != "" && users[r.UserID]) || (r.AnonymousID != "" && anons[r.AnonymousID])
	}

	// every file, superseded ones included, by folder
	all := map[string][]lakeFileInfo{}
	if err := st.List(ctx, EventsDir+"/", func(oi ObjectInfo) error {
		fk, err := ParseEventKey(oi.Key)
		if err == nil {
			all[dir(oi.Key)] = append(all[dir(oi.Key)], lakeFileInfo{FileKey: fk, Size: oi.Size, ModTime: oi.ModTime})
		}
		return nil
	}); err != nil {
		return res, err
	}
	dirs := make([]string, 0, len(all))
	for d := range all {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	now := o.Now()
	for _, d := range dirs {
		files := all[d]
		names := make([]string, len(files))
		for i, f := range files {
			names[i] = f.Name
		}
		sup, err := supersededIn(ctx, st, names, d)
		if err != nil {
			return res, err
		}
		var live []lakeFileInfo
		for _, f := range files {
			if sup[f.Name] {
				if err := st.Delete(ctx, f.Key); err != nil {
					return res, err
				}
				res.Garbage++
				continue
			}
			live = append(live, f)
		}
		// which files must be rewritten for erasure
		var dirty []lakeFileInfo
		if len(users)+len(anons) > 0 {
			for _, f := range live {
				hit := false
				if err := readRows(ctx, st, f.Key, func(r *Row) error {
					if erased(r) {
						hit = true
						return errStop
					}
					return nil
				}); err != nil && !errors.Is(err, errStop) {
					return res, err
				}
				if hit {
					dirty = append(dirty, f)
				}
			}
		}
		var small []lakeFileInfo
		isDirty := map[string]bool{}
		for _, f := range dirty {
			isDirty[f.Name] = true
		}
		for _, f := range live {
			if f.Size < o.SmallFileBytes && (now.Sub(f.ModTime) >= o.MinAge || isDirty[f.Name]) {
				small = append(small, f)
			}
		}
		var groups [][]lakeFileInfo
		if len(small) >= o.MinFiles || anyDirty(small, isDirty) {
			groups = append(groups, small)
		}
		for _, f := range dirty {
			if f.Size >= o.SmallFileBytes {
				groups = append(groups, []lakeFileInfo{f}) // large file: rewritten alone
			}
		}
		for _, g := range groups {
			n, wrote, err := rewrite(ctx, st, d, g, erased, now, o.Metrics)
			if err != nil {
				return res, err
			}
			res.RowsErased += n
			res.FilesMerged += len(g)
			if wrote {
				res.FilesWritten++
			}
		}
		if len(groups) > 0 {
			res.Partitions++
		}
	}
	for _, k := range erasureKeys {
		if err := st.Delete(ctx, k); err != nil {
			return res, err
		}
	}
	res.Erasures = len(erasureKeys)
	o.Metrics.RowsErased.Add(float64(res.RowsErased))
	return res, nil
}

var errStop = errors.New("stop")

func anyDirty(fs []lakeFileInfo, dirty map[string]bool) bool {
	for _, f := range fs {
		if dirty[f.Name] {
			return true
		}
	}
	return false
}

// rewrite merges files of one folder into a compacted file without the erased rows,
// publishes it, then deletes the inputs. It returns the number of rows dropped and
// whether a file was written (none when nothing is left).
func rewrite(ctx context.Context, st Storage, d string, in []lakeFileInfo, erased func(*Row) bool, now time.Time, m *Metrics) (int, bool, error) {
	names := make([]string, len(in))
	for i, f := range in {
		names[i] = f.Name
	}
	key := d + "/" + compactedPrefix + uniqueName(now)
	p, err := st.Create(ctx, key)
	if err != nil {
		return 0, false, err
	}
	cw := &countingWriter{w: p}
	pw := parquet.NewGenericWriter[Row](cw, writerOptions()...)
	pw.SetKeyValueMetadata(metaSupersedes, strings.Join(names, ","))
	dropped, kept := 0, 0
	var name string
	buf := make([]Row, 0, writeChunk)
	flush := func() error {
		if len(buf) == 0 {
			return nil
		}
		_, err := pw.Write(buf)
		clear(buf)
		buf = buf[:0]
		return err
	}
	for _, f := range in {
		err := readRows(ctx, st, f.Key, func(r *Row) error {
			if erased(r) {
				dropped++
				return nil
			}
			name = r.Event
			kept++
			buf = append(buf, *r)
			if len(buf) == cap(buf) {
				return flush()
			}
			return nil
		})
		if err != nil {
			_ = p.Abort()
			return 0, false, fmt.Errorf("cannot compact %q: %w", f.Key, err)
		}
	}
	if err := flush(); err != nil {
		_ = p.Abort()
		return 0, false, fmt.Errorf("cannot write compacted file %q: %w", key, err)
	}
	wrote := kept > 0
	if wrote {
		pw.SetKeyValueMetadata(metaEvent, name)
		if err := pw.Close(); err != nil {
			_ = p.Abort()
			return 0, false, fmt.Errorf("cannot write compacted file %q: %w", key, err)
		}
		if err := p.Commit(ctx); err != nil {
			return 0, false, err
		}
		m.FilesWritten.WithLabelValues("compacted").Inc()
		m.BytesWritten.WithLabelValues("compacted").Add(float64(cw.n))
		m.RowsWritten.WithLabelValues("compacted").Add(float64(kept))
	} else {
		_ = p.Abort() // nothing left: deleting the inputs alone is safe
	}
	for _, f := range in {
		if err := st.Delete(ctx, f.Key); err != nil {
			return dropped, wrote, err
		}
	}
	return dropped, wrote, nil
}

func loadErasures(ctx context.Context, st Storage) ([]Erasure, []string, error) {
	var keys []string
	if err := st.List(ctx, ErasuresDir+"/", func(oi ObjectInfo) error {
		if strings.HasSuffix(oi.Key, ".json") {
			keys = append(keys, oi.Key)
		}
		return nil
	}); err != nil {
		return nil, nil, err
	}
	var out []Erasure
	for _, k := range keys {
		b, err := ReadAll(ctx, st, k)
		if err != nil {
			return nil, nil, err
		}
		var e Erasure
		if err := json.Unmarshal(b, &e); err != nil {
			return nil, nil, fmt.Errorf("cannot read erasure request %q: %w", k, err)
		}
		out = append(out, e)
	}
	return out, keys, nil
}
