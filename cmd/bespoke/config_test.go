package main

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func configFlags() (*flag.FlagSet, *string, *time.Duration, *float64) {
	fs := flag.NewFlagSet("bespoke serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	addr := fs.String("addr", ":8080", "")
	deadline := fs.Duration("search-deadline", 20*time.Millisecond, "")
	share := fs.Float64("split-treatment", 1, "")
	fs.String("config", "", "")
	return fs, addr, deadline, share
}

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "bespoke.json")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConfigFileSetsFlagsCommandLineAndEnvWin(t *testing.T) {
	p := writeConfig(t, `{"addr": ":9090", "search-deadline": "15ms", "split-treatment": 0.25}`)
	fs, addr, deadline, share := configFlags()
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	if err := applyConfigFile(fs, p); err != nil {
		t.Fatal(err)
	}
	if *addr != ":9090" || *deadline != 15*time.Millisecond || *share != 0.25 {
		t.Fatalf("file not applied: addr %q deadline %v share %v", *addr, *deadline, *share)
	}

	fs, addr, deadline, _ = configFlags()
	if err := fs.Parse([]string{"--addr", ":7070"}); err != nil {
		t.Fatal(err)
	}
	t.Setenv("BESPOKE_SEARCH_DEADLINE", "9ms")
	if err := applyConfigFile(fs, p); err != nil {
		t.Fatal(err)
	}
	if *addr != ":7070" {
		t.Errorf("command line lost to the file: addr %q", *addr)
	}
	if *deadline != 20*time.Millisecond {
		t.Errorf("the file overrode a flag whose env var is set: deadline %v (the flag's env default is read where the flag is defined)", *deadline)
	}
}

func TestConfigFileErrorsNameTheKey(t *testing.T) {
	for body, want := range map[string]string{
		`{"adr": ":1"}`:                 `unknown key "adr"`,
		`{"split-treatment": "lots"}`:   `key "split-treatment"`,
		`{"addr": {"host": "x"}}`:       `key "addr": value must be`,
		`{"config": "other.json"}`:      `unknown key "config"`,
		`["addr"]`:                      "not a JSON object",
		`{"addr": ":1"} {"addr": ":2"}`: "trailing data",
		`{"search-deadline": "soon"}`:   `key "search-deadline"`,
	} {
		fs, _, _, _ := configFlags()
		fs.Parse(nil)
		err := applyConfigFile(fs, writeConfig(t, body))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want an error containing %q", body, err, want)
		}
	}
	fs, _, _, _ := configFlags()
	if err := applyConfigFile(fs, filepath.Join(t.TempDir(), "missing.json")); err == nil || !strings.Contains(err.Error(), "cannot read") {
		t.Errorf("missing file: %v", err)
	}
}

func TestServeRejectsBadSplitAndConfig(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--data", dir, "--split-treatment", "1.5"}, "split"},
		{[]string{"serve", "--data", dir, "--split-treatment", "0.6", "--split-interleave", "0.6"}, "exceed 1"},
		{[]string{"serve", "--data", dir, "--split-salt", ""}, "--split-salt"},
		{[]string{"serve", "--data", dir, "--config", writeConfig(t, `{"stor": "redis://x"}`)}, `unknown key "stor"`},
	} {
		code, _, errOut := runCLI(tc.args...)
		if code == 0 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", tc.args, code, errOut, tc.want)
		}
	}
}
