package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bespokesearch/bespoke/internal/lake"
)

// The test binary doubles as the bespoke binary: with BESPOKE_TEST_MAIN set it runs the
// command line given in the remaining arguments, so crash tests kill a real server process.
func TestMain(m *testing.M) {
	if os.Getenv("BESPOKE_TEST_MAIN") == "1" {
		os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func startServer(t *testing.T, dataDir, addr string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "serve", "--data", dataDir, "--addr", addr, "--admin-token", "adm", "--write-key", "wk", "--log-level", "warn")
	cmd.Env = append(os.Environ(), "BESPOKE_TEST_MAIN=1", "BESPOKE_INGEST_ACK_TIMEOUT=5s")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return cmd
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	cmd.Process.Kill()
	t.Fatal("server did not become ready")
	return nil
}

func sendBatch(url string, ids []string) (int, error) {
	var b strings.Builder
	b.WriteString(`{"batch":[`)
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"type":"track","event":"Product Viewed","userId":"u%d","messageId":%q,"timestamp":"2026-11-20T10:%02d:00Z","properties":{"product_id":"p%d"}}`, i%50, id, i%60, i)
	}
	b.WriteString(`]}`)
	req, _ := http.NewRequest("POST", url+"/v1/batch", strings.NewReader(b.String()))
	req.SetBasicAuth("wk", "")
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// TestKillDashNineLosesNothing kills the server with SIGKILL in the middle of a load,
// restarts it, resends what was not acknowledged, and checks that every acknowledged
// messageId is in the lake exactly once and nothing is there twice.
func TestKillDashNineLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills server processes")
	}
	dir := t.TempDir()
	addr := freeAddr(t)
	url := "http://" + addr
	srv := startServer(t, dir, addr)

	var mu sync.Mutex
	acked := map[string]bool{}
	var unacked [][]string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for b := 0; ; b++ {
				ids := make([]string, 100)
				for i := range ids {
					ids[i] = fmt.Sprintf("w%d-b%d-e%d", w, b, i)
				}
				select {
				case <-stop:
					return
				default:
				}
				code, err := sendBatch(url, ids)
				mu.Lock()
				if err == nil && code == 200 {
					for _, id := range ids {
						acked[id] = true
					}
				} else {
					unacked = append(unacked, ids)
				}
				mu.Unlock()
				if err != nil {
					return // the server is gone
				}
			}
		}(w)
	}
	time.Sleep(3 * time.Second)
	if err := srv.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	srv.Wait()
	close(stop)
	wg.Wait()
	mu.Lock()
	nAcked := len(acked)
	mu.Unlock()
	if nAcked == 0 {
		t.Fatal("nothing was acknowledged before the kill: the load did not run")
	}
	t.Logf("acknowledged %d events before kill -9; %d batches in flight or refused", nAcked, len(unacked))

	srv = startServer(t, dir, addr)
	defer func() { srv.Process.Signal(syscall.SIGTERM); srv.Wait() }()
	// A client resends what got no answer: that must never create duplicates.
	for _, ids := range unacked {
		if code, err := sendBatch(url, ids); err != nil || code != 200 {
			t.Fatalf("resend after restart: %d %v", code, err)
		}
		for _, id := range ids {
			acked[id] = true
		}
	}
	req, _ := http.NewRequest("POST", url+"/v1/admin/flush", nil)
	req.Header.Set("Authorization", "Bearer adm")
	resp, err := (&http.Client{Timeout: 5 * time.Minute}).Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("flush: %v %v", resp, err)
	}
	resp.Body.Close()

	st, err := lake.NewFS(filepath.Join(dir, "lake"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	if err := lake.Scan(context.Background(), st, lake.ScanOptions{}, func(r *lake.Row) error {
		seen[r.MessageID]++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var lost, dup int
	for id := range acked {
		if seen[id] == 0 {
			lost++
		}
	}
	for _, n := range seen {
		if n > 1 {
			dup++
		}
	}
	t.Logf("lake holds %d distinct events; %d acknowledged", len(seen), len(acked))
	if lost > 0 || dup > 0 {
		t.Fatalf("after kill -9: %d acknowledged events lost, %d stored more than once", lost, dup)
	}
}
