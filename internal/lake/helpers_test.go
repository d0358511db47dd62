package lake

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/bespokesearch/bespoke/internal/event"
)

var t0 = time.Date(2026, 11, 20, 10, 15, 0, 0, time.UTC)

// ev makes a valid event of the given name at ts.
func ev(id, name string, ts time.Time, user string) event.Event {
	e := event.Event{Type: event.TypeTrack, Event: name, UserID: user, MessageID: id, Timestamp: ts, ReceivedAt: ts.Add(time.Second)}
	switch name {
	case event.ProductClicked:
		e.Properties = json.RawMessage(`{"product_id":"p-` + id + `","position":3,"search_id":"s1","query":"black boots"}`)
	case event.ProductListViewed:
		e.Properties = json.RawMessage(`{"search_id":"s1","products":[{"product_id":"a","position":1},{"product_id":9,"position":2}]}`)
	case event.ProductReturned:
		e.Properties = json.RawMessage(`{"order_id":7,"product_id":"a","size":9.5,"reason":"too_small"}`)
	case event.IdentifyName:
		e.Type, e.Event = event.TypeIdentify, ""
		e.Traits = json.RawMessage(`{"email":"x@example.com"}`)
	case event.PageName:
		e.Type, e.Event, e.Name = event.TypePage, "", "Home"
	default:
		e.Properties = json.RawMessage(`{"note":"hello"}`)
	}
	e.Context = json.RawMessage(`{"ip":"127.0.0.1"}`)
	return e
}

func newFS(t testing.TB) *FS {
	t.Helper()
	st, err := NewFS(filepath.Join(t.TempDir(), "lake"))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func newWriter(t testing.TB, st Storage, state string, o WriterOptions) *Writer {
	t.Helper()
	o.StateDir = state
	w, err := NewWriter(context.Background(), st, o)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// addWait adds a batch and waits for its done callback.
func addWait(t testing.TB, w *Writer, evs []event.Event) error {
	t.Helper()
	ch := make(chan error, 1)
	w.Add(evs, func(err error) { ch <- err })
	if err := w.Flush(context.Background()); err != nil {
		return err
	}
	select {
	case err := <-ch:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("done not called 10 s after Flush")
	}
	return nil
}

// idCounts scans the lake and counts rows per messageId.
func idCounts(t testing.TB, st Storage) map[string]int {
	t.Helper()
	out := map[string]int{}
	if err := Scan(context.Background(), st, ScanOptions{}, func(r *Row) error {
		out[r.MessageID]++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// requireTool reports whether an outside tool needed by a test is present: absent, the
// test is skipped, except under CI=true where it fails.
func requireTool(t *testing.T, ok bool, what string) {
	t.Helper()
	if ok {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is missing; CI must install it (see internal/lake/testdata/README.md)", what)
	}
	t.Skipf("%s is missing; skipping (see internal/lake/testdata/README.md)", what)
}

func testdataDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "testdata")
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startS3rver starts the npm s3rver on a free loopback port and returns an S3 storage on
// a fresh bucket of it.
func startS3rver(t *testing.T, bucket string) *S3 {
	t.Helper()
	node, err := exec.LookPath("node")
	bin := filepath.Join(testdataDir(), "s3rver", "node_modules", "s3rver", "bin", "s3rver.js")
	_, serr := os.Stat(bin)
	requireTool(t, err == nil && serr == nil, "node and the s3rver npm package (cd internal/lake/testdata/s3rver && npm ci)")
	port := freePort(t)
	cmd := exec.Command(node, bin, "-d", t.TempDir(), "-a", "127.0.0.1", "-p", fmt.Sprint(port), "--silent")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("cannot start s3rver: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("s3rver did not listen on %s within 20 s", addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	ctx := context.Background()
	st, err := NewS3(ctx, "s3://"+bucket+"/lake", S3Options{
		Endpoint: "http://" + addr, Region: "us-east-1", PathStyle: true,
		AccessKeyID: "S3RVER", SecretAccessKey: "S3RVER", PartSize: 5 << 20,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateBucket(ctx); err != nil {
		t.Fatal(err)
	}
	return st
}

func mustOpen(t testing.TB, path string) (*os.File, int64) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	fi, _ := f.Stat()
	return f, fi.Size()
}

// val reads the value of a counter or gauge.
func val(m interface{ Write(*dto.Metric) error }) float64 {
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		return -1
	}
	if d.Counter != nil {
		return d.Counter.GetValue()
	}
	return d.Gauge.GetValue()
}
