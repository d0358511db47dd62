package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// `bespoke train --target` prints the server's report and writes it as JSON,
// markdown and a PNG chart.
func TestTrainWritesReportFiles(t *testing.T) {
	const body = `{"model_version":"v20261126-040000","trained_at":"2026-11-26T04:00:00Z","events":10,"examples":5,` +
		`"lists":{"train":3,"valid":1,"test":2},"rankers":[{"name":"bm25","ndcg@10":0.2,"ndcg@10_ci95":0.02,"mrr":0.25,"mrr_ci95":0.03,"n":2},` +
		`{"name":"personalized","ndcg@10":0.5,"ndcg@10_ci95":0.04,"mrr":0.55,"mrr_ci95":0.05,"n":2}],` +
		`"segments":{"new_customers":[{"name":"personalized","ndcg@10":0.4,"mrr":0.5,"n":1}]},"activated":true}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/admin/train" || r.Header.Get("Authorization") != "Bearer tok" {
			http.Error(w, `{"error":"bad request"}`, http.StatusBadRequest)
			return
		}
		w.Write([]byte(body))
	}))
	defer srv.Close()
	dir := filepath.Join(t.TempDir(), "rep")
	code, out, errOut := runCLI("train", "--target", srv.URL, "--admin-token", "tok", "--report-dir", dir)
	if code != 0 || !strings.Contains(out, `"model_version":"v20261126-040000"`) {
		t.Fatalf("train: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	md, err := os.ReadFile(filepath.Join(dir, "report.md"))
	if err != nil || !strings.Contains(string(md), "| personalized | 0.5000 | 0.0400 | 0.5500 | 0.0500 |") || !strings.Contains(string(md), "new_customers") {
		t.Errorf("report.md: %v\n%s", err, md)
	}
	if p, err := os.ReadFile(filepath.Join(dir, "report.png")); err != nil || !bytes.HasPrefix(p, []byte("\x89PNG\r\n")) {
		t.Errorf("report.png: %v", err)
	}
	if js, err := os.ReadFile(filepath.Join(dir, "report.json")); err != nil || !strings.Contains(string(js), `"ndcg@10": 0.5`) {
		t.Errorf("report.json: %v\n%s", err, js)
	}
	// A server that refuses: non-zero exit, the reason on stderr, no report.
	code, _, errOut = runCLI("train", "--target", srv.URL, "--admin-token", "wrong", "--report-dir", filepath.Join(t.TempDir(), "x"))
	if code == 0 || !strings.Contains(errOut, "refused") {
		t.Errorf("refused training: exit %d, stderr %q", code, errOut)
	}
}
