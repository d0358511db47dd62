package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/bespokesearch/bespoke/internal/server"
	"github.com/bespokesearch/bespoke/internal/train"
)

// trainMemoryLimit is the soft Go memory limit of `bespoke train --data` (see runTrain).
const trainMemoryLimit = 3 << 30

func runTrain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("train", "--data DIR | --target URL --admin-token T [--force] [--report-dir DIR]", stderr)
	data := fs.String("data", envOr("BESPOKE_DATA", ""), "data directory of a server that is NOT running (training runs in this process)")
	target := fs.String("target", "", "base URL of a running server: train there with POST /v1/admin/train")
	token := fs.String("admin-token", envOr("BESPOKE_ADMIN_TOKEN", ""), "admin token of the running server (with --target)")
	force := fs.Bool("force", false, "activate the new model even if it evaluates worse than the active one")
	reportDir := fs.String("report-dir", "", "write report.json, report.md and report.png here (default: DATA/reports/VERSION with --data, ./reports/VERSION with --target)")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	var report []byte
	switch {
	case *target != "":
		url := strings.TrimRight(*target, "/") + "/v1/admin/train"
		if *force {
			url += "?force=true"
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+*token)
		fmt.Fprintf(stderr, "training on %s (this can take minutes)…\n", *target)
		resp, err := (&http.Client{Timeout: time.Hour}).Do(req)
		if err != nil {
			return fmt.Errorf("cannot reach %s: %w", *target, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("the server refused to train (%s): %s", resp.Status, bytes.TrimSpace(body))
		}
		report = body
	case *data != "":
		// Training's peak memory is mostly the Go heap's headroom (GOGC=100 lets it grow
		// to twice the live data); a soft limit makes the collector work harder near it
		// instead, which keeps 10M events under 4 GiB. GOMEMLIMIT in the environment wins.
		if os.Getenv("GOMEMLIMIT") == "" {
			debug.SetMemoryLimit(trainMemoryLimit)
		}
		srv, err := server.New(ctx, server.Config{
			DataDir: *data, Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo})),
			// The server is opened only to train and publish; it never listens, so its
			// collector's write key is never exposed, but the collector needs one to start.
			WriteKeys: []string{"bespoke-train-offline"},
		})
		if err != nil {
			if strings.Contains(err.Error(), "lock") {
				return fmt.Errorf("%w\nthe data directory is in use by a running server: train there with --target URL --admin-token T", err)
			}
			return err
		}
		defer srv.Close()
		rep, active, err := srv.Train(ctx, *force)
		if err != nil {
			return err
		}
		if !active {
			fmt.Fprintln(stderr, "the new model evaluates worse than the active one: published but not activated (use --force)")
		}
		if report, err = json.Marshal(rep); err != nil {
			return err
		}
	default:
		fs.Usage()
		return fmt.Errorf("say where to train: --data DIR (server stopped) or --target URL (server running)")
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, report); err != nil {
		return fmt.Errorf("the report is not JSON: %w", err)
	}
	var rep train.Report
	if err := json.Unmarshal(report, &rep); err != nil || rep.ModelVersion == "" || strings.ContainsAny(rep.ModelVersion, `/\`) {
		return fmt.Errorf("the report does not name a model version: %.200s", compact.String())
	}
	dir := *reportDir
	if dir == "" {
		dir = filepath.Join("reports", rep.ModelVersion)
		if *target == "" {
			dir = filepath.Join(*data, "reports", rep.ModelVersion)
		}
	}
	if err := train.WriteReport(dir, &rep); err != nil {
		return fmt.Errorf("trained, but cannot write the report files: %w", err)
	}
	fmt.Fprintf(stderr, "report: %s, %s, %s\n", filepath.Join(dir, train.ReportJSON), filepath.Join(dir, train.ReportMarkdown), filepath.Join(dir, train.ReportPNG))
	fmt.Fprintln(stdout, compact.String())
	return nil
}
