package dynamodb

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/bespokesearch/bespoke/internal/store"
	"github.com/bespokesearch/bespoke/internal/store/storetest"
)

// The tests run against dynalite, started once per test binary on a free loopback port.
var (
	serverOnce sync.Once
	serverCmd  *exec.Cmd
	serverURL  string
	serverErr  error
	tableSeq   atomic.Int64
)

func TestMain(m *testing.M) {
	code := m.Run()
	if serverCmd != nil && serverCmd.Process != nil {
		_ = serverCmd.Process.Kill()
		_ = serverCmd.Wait()
	}
	os.Exit(code)
}

func startServer() (string, *exec.Cmd, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return "", nil, fmt.Errorf("node is not installed: %w", err)
	}
	cli, err := filepath.Abs(filepath.Join("testdata", "server", "node_modules", "dynalite", "cli.js"))
	if err != nil {
		return "", nil, err
	}
	if _, err := os.Stat(cli); err != nil {
		return "", nil, fmt.Errorf("dynalite is not installed (run `npm ci` in internal/store/dynamodb/testdata/server): %w", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	cmd := exec.Command(node, cli, "--host", "127.0.0.1", "--port", strconv.Itoa(port), "--createTableMs", "0", "--deleteTableMs", "0")
	cmd.Stdout = os.Stderr
	cmd.Stderr = os.Stderr
	// Die with the test binary even if it is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("cannot start dynalite: %w", err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			_ = c.Close()
			return "http://" + addr, cmd, nil
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			return "", nil, fmt.Errorf("dynalite did not listen on %s within 15 s", addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// requireServer returns the dynalite URL, skipping (or failing under CI) when it cannot run.
func requireServer(t testing.TB) string {
	t.Helper()
	serverOnce.Do(func() { serverURL, serverCmd, serverErr = startServer() })
	if serverErr != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("DynamoDB-compatible test server unavailable under CI: %v", serverErr)
		}
		t.Skipf("DynamoDB-compatible test server unavailable: %v", serverErr)
	}
	return serverURL
}

func testConfig() aws.Config {
	return aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
	}
}

func open(t testing.TB, opts Options) *Store {
	t.Helper()
	opts.Endpoint = requireServer(t)
	if opts.Table == "" {
		opts.Table = fmt.Sprintf("bespoke-test-%d", tableSeq.Add(1))
		opts.CreateTable = true
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := Open(ctx, testConfig(), opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return open(t, Options{}) })
}

func TestMissingTableWithoutCreate(t *testing.T) {
	url := requireServer(t)
	_, err := Open(context.Background(), testConfig(), Options{Table: "does-not-exist", Endpoint: url})
	if err == nil || !strings.Contains(err.Error(), "does-not-exist") {
		t.Fatalf("Open of a missing table without CreateTable = %v, want an error naming it", err)
	}
	if _, err := Open(context.Background(), testConfig(), Options{Endpoint: url}); err == nil {
		t.Fatal("Open with an empty table name succeeded")
	}
}

func TestOpenExistingTable(t *testing.T) {
	s := open(t, Options{})
	ctx := context.Background()
	if err := s.Put(ctx, []byte("k"), []byte("v")); err != nil {
		t.Fatal(err)
	}
	s2 := open(t, Options{Table: s.table, EventuallyConsistent: true})
	if v, err := s2.Get(ctx, []byte("k")); err != nil || string(v) != "v" {
		t.Fatalf("Get through a second store on the same table = %q, %v", v, err)
	}
}

func TestItemTooLarge(t *testing.T) {
	s := open(t, Options{})
	err := s.Put(context.Background(), []byte("big"), make([]byte, maxItemBytes))
	if !errors.Is(err, ErrItemTooLarge) {
		t.Fatalf("Put of a 400 KiB value = %v, want ErrItemTooLarge", err)
	}
	err = s.PutBatch(context.Background(), []store.KV{{Key: []byte("big"), Value: make([]byte, maxItemBytes)}})
	if !errors.Is(err, ErrItemTooLarge) {
		t.Fatalf("PutBatch of a 400 KiB value = %v, want ErrItemTooLarge", err)
	}
}

func TestUnreachableHonoursDeadline(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + l.Addr().String()
	_ = l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := Open(ctx, testConfig(), Options{Table: "t", Endpoint: dead}); err == nil {
		t.Fatal("Open against a closed port succeeded")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("Open against a closed port took %v with a 300 ms deadline", d)
	}
}
