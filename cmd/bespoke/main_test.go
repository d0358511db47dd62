package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCLI(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestHelpListsCommands(t *testing.T) {
	code, out, _ := runCLI("--help")
	if code != 0 {
		t.Fatalf("--help exited %d", code)
	}
	for _, c := range []string{"serve", "simulate", "catalog import", "events import", "lake stats", "demo"} {
		if !strings.Contains(out, c) {
			t.Errorf("--help does not list %q:\n%s", c, out)
		}
	}
	if code, _, errOut := runCLI("frobnicate"); code == 0 || !strings.Contains(errOut, "unknown command") {
		t.Errorf("unknown command: exit %d, stderr %q", code, errOut)
	}
}

func TestErrorsGoToStderrWithNonZeroExit(t *testing.T) {
	for _, args := range [][]string{
		{"serve"}, {"simulate", "--seed", "1"}, {"lake", "stats"}, {"catalog", "import"},
		{"simulate", "--out", "x", "--products", "0"}, {"simulate", "--bogus"},
	} {
		code, _, errOut := runCLI(args...)
		if code == 0 || errOut == "" {
			t.Errorf("%v: exit %d, stderr %q", args, code, errOut)
		}
	}
}

func TestSimulateIsDeterministic(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"a", "b"} {
		code, out, errOut := runCLI("simulate", "--seed", "3", "--products", "200", "--customers", "150", "--days", "2", "--out", filepath.Join(dir, d))
		if code != 0 || !strings.Contains(out, `"events"`) {
			t.Fatalf("simulate: exit %d, stdout %q, stderr %q", code, out, errOut)
		}
	}
	for _, f := range []string{"catalog.jsonl", "events.jsonl", "truth.jsonl"} {
		a, _ := os.ReadFile(filepath.Join(dir, "a", f))
		b, _ := os.ReadFile(filepath.Join(dir, "b", f))
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Errorf("%s differs between two runs with the same seed (%d vs %d bytes)", f, len(a), len(b))
		}
	}
	// A config override takes effect.
	cfg := filepath.Join(dir, "cfg.json")
	os.WriteFile(cfg, []byte(`{"seed": 3, "products": 200, "customers": 150, "days": 2, "click": {"position_bias": 3}}`), 0o644)
	if code, _, errOut := runCLI("simulate", "--config", cfg, "--out", filepath.Join(dir, "c")); code != 0 {
		t.Fatalf("simulate --config: %s", errOut)
	}
	a, _ := os.ReadFile(filepath.Join(dir, "a", "events.jsonl"))
	c, _ := os.ReadFile(filepath.Join(dir, "c", "events.jsonl"))
	if bytes.Equal(a, c) {
		t.Error("a stronger position bias left the events unchanged")
	}
	os.WriteFile(cfg, []byte(`{"clik": {}}`), 0o644)
	if code, _, errOut := runCLI("simulate", "--config", cfg, "--out", filepath.Join(dir, "d")); code == 0 || !strings.Contains(errOut, "clik") {
		t.Errorf("an unknown config key must be named: exit %d, %q", code, errOut)
	}
}
