package lake

import (
	"bytes"
	"container/list"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"

	"github.com/bespokesearch/bespoke/internal/event"
)

// WriterOptions configure a Writer. Zero values take the defaults.
type WriterOptions struct {
	// StateDir is the folder of the writer's seen-set (Pebble); required. Keep it with
	// the server's data (e.g. <data>/lake-state), also when the lake itself is on S3.
	StateDir     string
	MaxFileBytes int64         // roll a file at this (estimated) size; default 64 MiB
	MaxFileAge   time.Duration // roll a file this long after its first event; default 60 s
	MaxOpenFiles int           // files open at once; the least recently used is published beyond; default 64
	RowGroupRows int           // rows per Parquet row group; default 65,536
	DedupWindow  time.Duration // a messageId received again within this time is dropped; default 7 days
	Publishers   int           // files finished and published concurrently; default 2
	ExpectedIDs  int           // messageIds expected within DedupWindow, sizes an in-memory filter (10 bits each); default 10M
	Metrics      *Metrics      // default: unregistered metrics
	Logger       *slog.Logger  // default: slog.Default()
	Now          func() time.Time
}

func (o *WriterOptions) defaults() error {
	if o.StateDir == "" {
		return errors.New("cannot start lake writer: no state folder (WriterOptions.StateDir) for its seen-set")
	}
	if o.MaxFileBytes <= 0 {
		o.MaxFileBytes = 64 << 20
	}
	if o.MaxFileAge <= 0 {
		o.MaxFileAge = 60 * time.Second
	}
	if o.MaxOpenFiles <= 0 {
		o.MaxOpenFiles = 64
	}
	if o.RowGroupRows <= 0 {
		o.RowGroupRows = 64 << 10
	}
	if o.DedupWindow <= 0 {
		o.DedupWindow = 7 * 24 * time.Hour
	}
	if o.Publishers <= 0 {
		o.Publishers = 2
	}
	if o.ExpectedIDs <= 0 {
		o.ExpectedIDs = 10_000_000
	}
	if o.Metrics == nil {
		m, _ := NewMetrics(nil)
		o.Metrics = m
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return nil
}

// Writer files events into the lake. See the package documentation for the guarantees
// and the crash-safety argument.
type Writer struct {
	st   Storage
	o    WriterOptions
	seen *seenSet
	ids  *idFilter // guarded by mu

	mu          sync.Mutex
	open        map[string]*lakeFile // by partition folder
	lru         *list.List           // of *lakeFile, least recently used first
	inflight    map[string]*lakeFile // messageId → the unpublished file that holds it
	unpublished map[*lakeFile]struct{}
	err         error // set when the writer can no longer guarantee exactly-once; restart to recover
	closed      bool

	queue   chan *lakeFile
	sendMu  sync.RWMutex // held shared while sending to queue, exclusively to close it
	pubWG   sync.WaitGroup
	stop    chan struct{}
	bgWG    sync.WaitGroup
	closeMu sync.Mutex
}

// batch tracks one Add call until every file holding one of its events is published.
type batch struct {
	remaining int
	done      func(error)
	err       error
}

// lakeFile is a file being written (open), then sealed, then published.
type lakeFile struct {
	key     string
	event   string // partition name; "" for dead letters
	dead    bool
	pending Pending
	cw      *countingWriter
	ew      *parquet.GenericWriter[Row]
	dw      *parquet.GenericWriter[DeadLetter]
	rows    []Row
	dls     []DeadLetter
	inGroup int // rows since the last row group was cut
	nrows   int
	ids     []idAt
	batches []*batch
	last    *batch
	created time.Time
	elem    *list.Element
	done    chan struct{}
	err     error
}

type countingWriter struct {
	w Pending
	n int64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}

const writeChunk = 512

// NewWriter opens the writer's seen-set, resolves files left pending by a crash (see
// doc.go) and starts its background work (rolling by age, publishing, expiring the
// seen-set).
func NewWriter(ctx context.Context, st Storage, o WriterOptions) (*Writer, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(o.StateDir, 0o755); err != nil {
		return nil, fmt.Errorf("cannot create lake state folder %q: %w", o.StateDir, err)
	}
	seen, err := openSeen(o.StateDir, o.DedupWindow)
	if err != nil {
		return nil, err
	}
	w := &Writer{
		st: st, o: o, seen: seen,
		open:        map[string]*lakeFile{},
		lru:         list.New(),
		inflight:    map[string]*lakeFile{},
		unpublished: map[*lakeFile]struct{}{},
		queue:       make(chan *lakeFile, 1024),
		stop:        make(chan struct{}),
	}
	if err := w.recover(ctx); err != nil {
		seen.close()
		return nil, err
	}
	w.ids = newIDFilter(o.ExpectedIDs)
	if err := seen.fillFilter(w.ids); err != nil {
		seen.close()
		return nil, fmt.Errorf("cannot read lake seen-set: %w", err)
	}
	if fsys, ok := st.(*FS); ok {
		_ = fsys.RemoveStaleTemp(24 * time.Hour)
	}
	if _, err := seen.expire(o.Now().Add(-o.DedupWindow)); err != nil {
		o.Logger.Warn("lake seen-set expiry failed", "err", err)
	}
	for range o.Publishers {
		w.pubWG.Add(1)
		go w.publisher()
	}
	w.bgWG.Add(1)
	go w.background()
	return w, nil
}

// recover resolves the pending-file markers of a previous run: a file that was published
// has its messageIds recorded as seen; one that was not is forgotten (its events were
// never acknowledged, so the stream delivers them again).
func (w *Writer) recover(ctx context.Context) error {
	markers, err := w.seen.pending()
	if err != nil {
		return err
	}
	for key, ids := range markers {
		ok, err := isPublished(ctx, w.st, key)
		if err != nil {
			return fmt.Errorf("cannot resolve pending lake file %q after restart: %w", key, err)
		}
		if ok {
			err = w.seen.published(key, ids)
		} else {
			err = w.seen.abandon(key)
		}
		if err != nil {
			return err
		}
		w.o.Logger.Info("lake writer resolved a file pending at the last stop", "key", key, "published", ok, "events", len(ids))
	}
	return nil
}

// Add files events. done is called exactly once: with nil when every event of the
// batch is in a durable, published lake file (or was already, as a duplicate; or was
// dead-lettered durably), or with an error, in which case the caller must have the batch
// delivered again (nothing is ever written twice). done may be called before Add returns
// and from another goroutine; it must not call back into the Writer synchronously.
func (w *Writer) Add(events []event.Event, done func(error)) {
	w.add(events, nil, done)
}

// AddEnvelope decodes an envelope from the stream (event.DecodeEnvelope) and files its
// events; lines that do not decode are dead-lettered with the reason.
func (w *Writer) AddEnvelope(data []byte, done func(error)) {
	evs := make([]event.Event, 0, bytes.Count(data, []byte{'\n'})+1)
	var dead []DeadLetter
	now := w.o.Now().UTC()
	_ = event.DecodeEnvelope(data, func(ev *event.Event, line []byte, err error) error {
		if err != nil {
			dead = append(dead, DeadLetter{ReceivedAt: now, Reason: "decode: " + err.Error(), Raw: append([]byte(nil), line...)})
			w.o.Metrics.DeadLetters.WithLabelValues("decode").Inc()
			return nil
		}
		evs = append(evs, *ev)
		return nil
	})
	w.add(evs, dead, done)
}

// AddDeadLetters files things the caller could not turn into events (with their reasons).
func (w *Writer) AddDeadLetters(items []DeadLetter, done func(error)) {
	now := w.o.Now().UTC()
	for i := range items {
		if items[i].ReceivedAt.IsZero() {
			items[i].ReceivedAt = now
		}
	}
	w.o.Metrics.DeadLetters.WithLabelValues("caller").Add(float64(len(items)))
	w.add(nil, items, done)
}

func (w *Writer) add(events []event.Event, dead []DeadLetter, done func(error)) {
	if done == nil {
		done = func(error) {}
	}
	now := w.o.Now().UTC()
	b := &batch{remaining: 1, done: done} // one reference held while adding
	var sealed []*lakeFile
	w.mu.Lock()
	if err := w.usable(); err != nil {
		w.mu.Unlock()
		done(err)
		return
	}
	var lastPart Partition
	var lastDir string
	for i := range events {
		row, err := RowOf(&events[i], now)
		if err != nil {
			raw, _ := json.Marshal(&events[i])
			dead = append(dead, DeadLetter{ReceivedAt: now, Reason: "convert: " + err.Error(), MessageID: events[i].MessageID, Raw: raw})
			w.o.Metrics.DeadLetters.WithLabelValues("convert").Inc()
			continue
		}
		if f := w.inflight[row.MessageID]; f != nil {
			w.attach(f, b) // the same event is on its way in f: done when f is published
			w.o.Metrics.Duplicates.Inc()
			continue
		}
		at := row.ReceivedAt.UnixMicro()
		dup := false
		if w.ids.mayContain(row.MessageID) {
			var err error
			if dup, err = w.seen.seen(row.MessageID, at); err != nil {
				b.err = err
				break
			}
		}
		if dup {
			w.o.Metrics.Duplicates.Inc()
			continue
		}
		p := row.Partition()
		if p.Event != lastPart.Event || !p.Hour.Equal(lastPart.Hour) || lastDir == "" {
			lastPart, lastDir = p, p.Dir() // envelopes hold runs of the same partition: build its path once
		}
		f, err := w.fileFor(lastDir, p.Event, false, now, &sealed)
		if err != nil {
			b.err = err
			break
		}
		if err := f.addRow(row, w.o.RowGroupRows); err != nil {
			b.err = fmt.Errorf("cannot write to lake file %q: %w", f.key, err)
			w.sealLocked(f, &sealed)
			break
		}
		w.inflight[row.MessageID] = f
		f.ids = append(f.ids, idAt{row.MessageID, at})
		w.attach(f, b)
		// The file's size changes only when buffered rows are written to it (every
		// writeChunk rows): asking the Parquet writer after every row was a tenth of the sink's CPU.
		if len(f.rows) == 0 && f.size() >= w.o.MaxFileBytes {
			w.sealLocked(f, &sealed)
		}
	}
	for i := 0; i < len(dead) && b.err == nil; i++ {
		d := dead[i]
		if d.Raw == nil {
			d.Raw = []byte{}
		}
		f, err := w.fileFor(DeadLettersDir+"/dt="+d.ReceivedAt.UTC().Format("2006-01-02"), "", true, now, &sealed)
		if err != nil {
			b.err = err
			break
		}
		if err := f.addDead(d); err != nil {
			b.err = fmt.Errorf("cannot write to lake file %q: %w", f.key, err)
			w.sealLocked(f, &sealed)
			break
		}
		w.attach(f, b)
		if f.size() >= w.o.MaxFileBytes {
			w.sealLocked(f, &sealed)
		}
	}
	w.o.Metrics.OpenFiles.Set(float64(len(w.open)))
	w.mu.Unlock()
	w.enqueue(sealed)
	w.release([]*batch{b}, nil)
}

func (w *Writer) usable() error {
	if w.closed {
		return errors.New("lake writer is closed")
	}
	return w.err
}

func (w *Writer) attach(f *lakeFile, b *batch) {
	if f.last == b {
		return
	}
	f.last = b
	f.batches = append(f.batches, b)
	b.remaining++
}

// release drops one reference from each batch and calls done for those that are complete.
func (w *Writer) release(bs []*batch, err error) {
	var finished []*batch
	w.mu.Lock()
	for _, b := range bs {
		if err != nil && b.err == nil {
			b.err = err
		}
		b.remaining--
		if b.remaining == 0 {
			finished = append(finished, b)
		}
	}
	w.mu.Unlock()
	for _, b := range finished {
		b.done(b.err)
	}
}

// fileFor returns the open file for a partition folder, opening one (and publishing the
// least recently used file when too many are open).
func (w *Writer) fileFor(dirKey, name string, dead bool, now time.Time, sealed *[]*lakeFile) (*lakeFile, error) {
	if f := w.open[dirKey]; f != nil {
		w.lru.MoveToBack(f.elem)
		return f, nil
	}
	for len(w.open) >= w.o.MaxOpenFiles {
		w.sealLocked(w.lru.Front().Value.(*lakeFile), sealed)
	}
	key := dirKey + "/" + uniqueName(now)
	p, err := w.st.Create(context.Background(), key)
	if err != nil {
		return nil, fmt.Errorf("cannot create lake file %q: %w", key, err)
	}
	f := &lakeFile{key: key, event: name, dead: dead, pending: p, cw: &countingWriter{w: p}, created: now, done: make(chan struct{})}
	if dead {
		f.dw = parquet.NewGenericWriter[DeadLetter](f.cw, writerOptions()...)
	} else {
		f.ew = parquet.NewGenericWriter[Row](f.cw, writerOptions()...)
		f.ew.SetKeyValueMetadata(metaEvent, name)
	}
	f.elem = w.lru.PushBack(f)
	w.open[dirKey] = f
	w.unpublished[f] = struct{}{}
	return f, nil
}

// Key-value metadata of lake files.
const (
	metaEvent      = "bespoke.event"      // the exact partition name of the events in the file
	metaSupersedes = "bespoke.supersedes" // written by compaction: names of the files this one replaces
)

// zstdCodec is shared by every file: it pools its encoders, which are costly to create.
var zstdCodec = &zstd.Codec{Level: zstd.SpeedDefault}

func writerOptions() []parquet.WriterOption {
	return []parquet.WriterOption{
		parquet.Compression(zstdCodec),
		parquet.CreatedBy("bespoke", "1", ""),
		parquet.PageBufferSize(256 << 10),
	}
}

func uniqueName(now time.Time) string {
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	return now.UTC().Format("20060102T150405") + "-" + hex.EncodeToString(rnd[:]) + fileSuffix
}

func (f *lakeFile) size() int64 {
	if f.dead {
		return f.dw.Size()
	}
	return f.ew.Size()
}

func (f *lakeFile) addRow(r Row, rowGroupRows int) error {
	f.rows = append(f.rows, r)
	f.nrows++
	if len(f.rows) < writeChunk {
		return nil
	}
	return f.writeRows(rowGroupRows)
}

func (f *lakeFile) writeRows(rowGroupRows int) error {
	if len(f.rows) > 0 {
		if _, err := f.ew.Write(f.rows); err != nil {
			return err
		}
		f.inGroup += len(f.rows)
		clear(f.rows)
		f.rows = f.rows[:0]
	}
	if f.inGroup >= rowGroupRows {
		f.inGroup = 0
		return f.ew.Flush()
	}
	return nil
}

func (f *lakeFile) addDead(d DeadLetter) error {
	f.nrows++
	_, err := f.dw.Write([]DeadLetter{d})
	return err
}

// finish writes what is buffered and the footer.
func (f *lakeFile) finish() error {
	if f.dead {
		return f.dw.Close()
	}
	if err := f.writeRows(1 << 62); err != nil {
		return err
	}
	return f.ew.Close()
}

func (w *Writer) sealLocked(f *lakeFile, sealed *[]*lakeFile) {
	if f.elem == nil {
		return
	}
	w.lru.Remove(f.elem)
	f.elem = nil
	for k, g := range w.open {
		if g == f {
			delete(w.open, k)
			break
		}
	}
	*sealed = append(*sealed, f)
}

func (w *Writer) enqueue(fs []*lakeFile) {
	if len(fs) == 0 {
		return
	}
	w.sendMu.RLock()
	defer w.sendMu.RUnlock()
	for _, f := range fs {
		w.queue <- f
	}
}

func (w *Writer) publisher() {
	defer w.pubWG.Done()
	for f := range w.queue {
		w.publish(f)
	}
}

// publish finishes a sealed file, records its messageIds as pending (fsync), publishes
// it, records them as seen, and completes the batches that were waiting for it.
func (w *Writer) publish(f *lakeFile) {
	ctx := context.Background()
	start := time.Now()
	var fatal error
	err := f.finish()
	prepared := false
	if err == nil && len(f.ids) > 0 {
		err = w.seen.prepare(f.key, f.ids)
		prepared = err == nil
	}
	if err != nil {
		_ = f.pending.Abort()
	} else {
		err = f.pending.Commit(ctx)
		if err != nil {
			// the commit may have happened even though it reported an error (S3 timeout)
			if _, serr := w.st.Stat(ctx, f.key); serr == nil {
				err = nil
			} else if !errors.Is(serr, ErrNotExist) {
				fatal = fmt.Errorf("lake writer stopped: cannot tell whether %q was published (%v; %v); restart it to recover", f.key, err, serr)
			}
		}
		if err == nil && len(f.ids) > 0 {
			if perr := w.seen.published(f.key, f.ids); perr != nil {
				fatal = fmt.Errorf("lake writer stopped: %w; restart it to recover", perr)
			}
		}
	}
	if err != nil && prepared && fatal == nil {
		if aerr := w.seen.abandon(f.key); aerr != nil {
			fatal = fmt.Errorf("lake writer stopped: %w; restart it to recover", aerr)
		}
	}
	if fatal != nil && err == nil {
		err = fatal
	}
	m := w.o.Metrics
	kind := "events"
	if f.dead {
		kind = "dead_letters"
	}
	if err == nil {
		m.FilesWritten.WithLabelValues(kind).Inc()
		m.BytesWritten.WithLabelValues(kind).Add(float64(f.cw.n))
		m.RowsWritten.WithLabelValues(kind).Add(float64(f.nrows))
		m.PublishSeconds.Observe(time.Since(start).Seconds())
	} else {
		m.PublishErrors.Inc()
		w.o.Logger.Error("lake file not published; its events will be delivered again", "key", f.key, "err", err)
	}
	w.mu.Lock()
	if fatal != nil && w.err == nil {
		w.err = fatal
	}
	if fatal == nil {
		for _, x := range f.ids {
			if err == nil {
				w.ids.add(x.id)
			}
			if w.inflight[x.id] == f {
				delete(w.inflight, x.id)
			}
		}
	}
	delete(w.unpublished, f)
	f.err = err
	bs := f.batches
	f.batches, f.last, f.rows, f.ids = nil, nil, nil, nil
	f.ew, f.dw = nil, nil
	w.mu.Unlock()
	if err != nil {
		err = fmt.Errorf("cannot publish lake file %q: %w", f.key, err)
	}
	w.release(bs, err)
	close(f.done) // after the callbacks: Flush returns when they have run
}

// background rolls files by age and expires the seen-set.
func (w *Writer) background() {
	defer w.bgWG.Done()
	tick := min(w.o.MaxFileAge/4, time.Second)
	t := time.NewTicker(tick)
	defer t.Stop()
	lastExpire := w.o.Now()
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
		}
		now := w.o.Now().UTC()
		var sealed []*lakeFile
		w.mu.Lock()
		for e := w.lru.Front(); e != nil; {
			next := e.Next()
			f := e.Value.(*lakeFile)
			if now.Sub(f.created) >= w.o.MaxFileAge {
				w.sealLocked(f, &sealed)
			}
			e = next
		}
		w.o.Metrics.OpenFiles.Set(float64(len(w.open)))
		w.mu.Unlock()
		w.enqueue(sealed)
		if now.Sub(lastExpire) >= time.Hour {
			lastExpire = now
			if _, err := w.seen.expire(now.Add(-w.o.DedupWindow)); err != nil {
				w.o.Logger.Warn("lake seen-set expiry failed", "err", err)
			}
		}
	}
}

// Flush publishes every open file and returns when all files sealed before the call
// are published (durable), with the first error met.
func (w *Writer) Flush(ctx context.Context) error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return errors.New("lake writer is closed")
	}
	return w.flushLocked(ctx)
}

// flushLocked is Flush with w.mu held; it releases it.
func (w *Writer) flushLocked(ctx context.Context) error {
	var sealed []*lakeFile
	for e := w.lru.Front(); e != nil; {
		next := e.Next()
		w.sealLocked(e.Value.(*lakeFile), &sealed)
		e = next
	}
	waits := make([]*lakeFile, 0, len(w.unpublished))
	for f := range w.unpublished {
		waits = append(waits, f)
	}
	w.o.Metrics.OpenFiles.Set(0)
	w.mu.Unlock()
	w.enqueue(sealed)
	var first error
	for _, f := range waits {
		select {
		case <-f.done:
			if f.err != nil && first == nil {
				first = fmt.Errorf("cannot flush lake file %q: %w", f.key, f.err)
			}
		case <-ctx.Done():
			return fmt.Errorf("lake flush interrupted: %w", ctx.Err())
		}
	}
	return first
}

// Close publishes what is open, stops the writer and closes its seen-set. Adds after
// Close fail.
func (w *Writer) Close(ctx context.Context) error {
	w.closeMu.Lock()
	defer w.closeMu.Unlock()
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	close(w.stop)
	ferr := w.flushLocked(ctx)
	w.bgWG.Wait()
	w.sendMu.Lock()
	close(w.queue)
	w.sendMu.Unlock()
	w.pubWG.Wait()
	if err := w.seen.close(); err != nil && ferr == nil {
		ferr = fmt.Errorf("cannot close lake seen-set: %w", err)
	}
	return ferr
}
