package demo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/bespokesearch/bespoke/internal/event"
	"github.com/bespokesearch/bespoke/internal/experiment"
	"github.com/bespokesearch/bespoke/internal/gbdt"
	"github.com/bespokesearch/bespoke/internal/rank"
	"github.com/bespokesearch/bespoke/internal/server"
	"github.com/bespokesearch/bespoke/internal/sim"
)

// Options configure a demo run.
type Options struct {
	Quick   bool   // a world sized to finish within minutes; exit after the table
	Addr    string // listen address of the embedded server
	DataDir string // empty: a new temporary directory
	Seed    int64
	// Interleave is the share of customers in the A/B period who see the control and
	// personalized rankings merged by team-draft interleaving (the rest is split evenly
	// between control and personalized).
	Interleave float64
	Progress   io.Writer // progress lines
	Out        io.Writer // the table
	// Serve keeps the server running after the table until ctx is done.
	Serve bool
}

// Result is what a demo run measured.
type Result struct {
	Table string
	// Interleaving is the interleaving summary printed after the table ("" without it).
	Interleaving string
	Metrics      *server.MetricsReport
	URL          string
}

// Run plays the demo.
func Run(ctx context.Context, o Options) (*Result, error) {
	if !(o.Interleave >= 0 && o.Interleave < 1) {
		return nil, fmt.Errorf("the interleaving share %v must be in [0, 1)", o.Interleave)
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Addr == "" {
		o.Addr = "127.0.0.1:8080"
	}
	if o.DataDir == "" {
		d, err := os.MkdirTemp("", "bespoke-demo-")
		if err != nil {
			return nil, err
		}
		o.DataDir = d
	}
	cfg := sim.DefaultConfig()
	if o.Seed != 0 {
		cfg.Seed = o.Seed
	}
	if o.Quick {
		cfg.Products, cfg.Customers, cfg.Days = 3000, 4000, 21
	}
	historyDays, abEnd := cfg.Days*2/3, cfg.Days
	// After the A/B period the world runs on without shoppers until the returns of the
	// period's orders have all come back: the size-related return rate is then that of
	// the period's orders, not of the few returns that beat the period's end.
	cfg.Days += cfg.Returns.MaxDelayDays + 1
	step := func(format string, a ...any) {
		fmt.Fprintf(o.Progress, "[%s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, a...))
	}
	token := randomToken()
	const writeKey = "demo-write-key"
	if err := os.MkdirAll(o.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("cannot create the data directory: %w", err)
	}
	logFile, err := os.Create(filepath.Join(o.DataDir, "server.log"))
	if err != nil {
		return nil, fmt.Errorf("cannot create the server log: %w", err)
	}
	defer logFile.Close()
	srv, err := server.New(ctx, server.Config{
		DataDir: o.DataDir, Addr: o.Addr, WriteKeys: []string{writeKey}, AdminToken: token,
		Split:  experiment.Split{Treatment: 0, Salt: "demo"}, // history: a store before personalization
		Logger: slog.New(slog.NewJSONHandler(logFile, nil)),
		// A fast-forwarded world touches many hour partitions at once: keep them open.
		LakeMaxOpenFiles: 1024,
		// The demo shares the machine with its own load generator: give durable writes
		// time instead of shedding load with 503s.
		IngestAckTimeout: 30 * time.Second,
	})
	if err != nil {
		return nil, err
	}
	defer srv.Close()
	srvCtx, stopServer := context.WithCancel(context.Background())
	defer stopServer()
	addrc := make(chan string, 1)
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe(srvCtx, func(a string) { addrc <- a }) }()
	var base string
	select {
	case a := <-addrc:
		base = "http://" + strings.Replace(a, "[::]", "127.0.0.1", 1)
	case err := <-errc:
		return nil, err
	}
	step("server up at %s (data in %s, log in server.log)", base, o.DataDir)

	world, err := sim.NewWorld(cfg)
	if err != nil {
		return nil, err
	}
	step("world: %d products, %d customers; history = days 0-%d, A/B test = days %d-%d, then its orders' returns until day %d",
		cfg.Products, cfg.Customers, historyDays-1, historyDays, abEnd-1, cfg.Days-1)
	live := sim.LiveOptions{Target: base, WriteKey: writeKey, AdminToken: token, Concurrency: 4}
	live.ToDay = historyDays
	st, err := world.PlayLive(ctx, live, prefixWriter{o.Progress, "  history: "})
	if err != nil {
		return nil, fmt.Errorf("playing the history: %w", err)
	}
	step("history played: %d events, %d searches in %s", st.Events, st.Searches, st.Duration.Round(time.Second))

	step("training on the lake…")
	rep, _, err := srv.Train(ctx, true)
	if err != nil {
		return nil, fmt.Errorf("training: %w", err)
	}
	for _, r := range rep.Rankers {
		if r.Name == "personalized" || r.Name == "ltr_non_personalized" || r.Name == "popularity" {
			step("  offline %-22s NDCG@10 %.3f  MRR %.3f", r.Name, r.NDCG10, r.MRR)
		}
	}
	if imp := importanceSummary(rep.Importance); imp != "" {
		step("  feature importance of the ensemble (share of split gain): %s", imp)
	}
	step("model %s active", rep.ModelVersion)

	abSplit := experiment.Split{Treatment: (1 - o.Interleave) / 2, Interleave: o.Interleave, Salt: "demo"}
	step("A/B split: %.0f%% control, %.0f%% personalized, %.0f%% interleaved", 100*(1-o.Interleave-abSplit.Treatment), 100*abSplit.Treatment, 100*o.Interleave)
	if err := srv.SetSplit(abSplit); err != nil {
		return nil, err
	}
	abStart := cfg.Start.AddDate(0, 0, historyDays)
	live.FromDay, live.ToDay, live.SkipCatalog = historyDays, abEnd, true
	st, err = world.PlayLive(ctx, live, prefixWriter{o.Progress, "  A/B: "})
	if err != nil {
		return nil, fmt.Errorf("playing the A/B period: %w", err)
	}
	step("A/B period played: %d events, %d searches in %s", st.Events, st.Searches, st.Duration.Round(time.Second))
	live.FromDay, live.ToDay, live.ReturnsOnly = abEnd, cfg.Days, true
	st, err = world.PlayLive(ctx, live, prefixWriter{o.Progress, "  returns: "})
	if err != nil {
		return nil, fmt.Errorf("playing the returns of the A/B period: %w", err)
	}
	step("days after the A/B period played: %d returns of its orders (and %d other events of sessions that ran past its end) in %s",
		st.ByEvent[event.ProductReturned], st.Events-st.ByEvent[event.ProductReturned], st.Duration.Round(time.Second))
	step("flushing the lake…")
	fctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	err = srv.Flush(fctx)
	cancel()
	if err != nil {
		return nil, err
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "/", nil)
	m, err := srv.BusinessMetrics(req, abStart, cfg.Start.AddDate(0, 0, cfg.Days))
	if err != nil {
		return nil, fmt.Errorf("computing the A/B metrics: %w", err)
	}
	step("A/B searches answered: %s", servedSummary(m))
	for _, a := range m.Arms {
		step("  %s: %d customers shown the arm (%d of them anonymous devices: the split assigns by customer, a device once signed in by its customer, else by device), %d searches",
			a.Arm, a.Customers, a.AnonymousDevices, a.Searches)
	}
	table := Table(m)
	fmt.Fprint(o.Out, table)
	res := &Result{Table: table, Metrics: m, URL: base}
	if m.Interleaving != nil {
		res.Interleaving = InterleavingSummary(m.Interleaving)
		fmt.Fprint(o.Out, "\n"+res.Interleaving)
	}
	if o.Serve {
		step("storefront at %s/ and dashboard at %s/dashboard — press Ctrl-C to stop (admin token: %s)", base, base, token)
		<-ctx.Done()
	}
	return res, nil
}

// Table renders the before/after table of CONTRACT §6.
func Table(m *server.MetricsReport) string {
	// Rows are "a | b | c | d | e" exactly as CONTRACT §6 writes the header, so scripts
	// can split on " | " (no padding that would change the header's text).
	var b strings.Builder
	tw := &b
	fmt.Fprintln(tw, "metric | control | personalized | change | 95% CI")
	arm := map[string]experiment.ArmMetrics{}
	for _, a := range m.Arms {
		arm[a.Arm] = a
	}
	c, p := arm[experiment.Control], arm[experiment.Personalized]
	change := map[string]experiment.Change{}
	for _, ch := range m.Changes {
		change[ch.Metric] = ch
	}
	row := func(name string, cv, pv float64, pct bool) {
		ch := change[name]
		f := func(x float64) string {
			if pct {
				return fmt.Sprintf("%.2f%%", 100*x)
			}
			return fmt.Sprintf("%.3f", x)
		}
		d := func(x float64) string {
			if pct {
				return fmt.Sprintf("%+.2f pp", 100*x)
			}
			return fmt.Sprintf("%+.3f", x)
		}
		fmt.Fprintf(tw, "%s | %s | %s | %s (%+.1f%%) | [%s, %s]\n", name, f(cv), f(pv), d(ch.Diff), 100*ch.Relative, d(ch.CI95[0]), d(ch.CI95[1]))
	}
	row("click-through rate", c.ClickThrough.Value, p.ClickThrough.Value, true)
	row("mean position of clicked item", c.MeanClickedPosition.Value, p.MeanClickedPosition.Value, false)
	row("mean position of purchased item", c.MeanBoughtPosition.Value, p.MeanBoughtPosition.Value, false)
	row("repeated-search rate", c.RepeatedSearch.Value, p.RepeatedSearch.Value, true)
	row("conversion rate", c.Conversion.Value, p.Conversion.Value, true)
	row("size-related return rate", c.SizeReturnRate.Value, p.SizeReturnRate.Value, true)
	fmt.Fprintln(tw, latencyRow(m, c, p))
	return b.String()
}

// latencyRow is the p99 row. It is always printed: an arm whose latency the server did
// not measure (no search of the current split reached this server process) shows "n/a"
// and the note says which and why, instead of a 0 ms that reads as fast.
func latencyRow(m *server.MetricsReport, c, p experiment.ArmMetrics) string {
	const name = "p99 search latency (ms)"
	lc, okc := m.LatencyP99[experiment.Control]
	lp, okp := m.LatencyP99[experiment.Personalized]
	if okc && okp {
		return fmt.Sprintf("%s | %.2f | %.2f | %+.2f | (server side)", name, lc, lp, lp-lc)
	}
	cell := func(v float64, ok bool) string {
		if ok {
			return fmt.Sprintf("%.2f", v)
		}
		return "n/a"
	}
	var missing []string
	for _, a := range []struct {
		arm string
		ok  bool
		am  experiment.ArmMetrics
	}{{experiment.Control, okc, c}, {experiment.Personalized, okp, p}} {
		if !a.ok {
			missing = append(missing, fmt.Sprintf("%s (%d searches in the lake)", a.arm, a.am.Searches))
		}
	}
	return fmt.Sprintf("%s | %s | %s | n/a | (server side: no latency measured for %s by this server process since the A/B split was set)",
		name, cell(lc, okc), cell(lp, okp), strings.Join(missing, " and "))
}

// importanceSummary lists the features by their share of the ensemble's split gain,
// the personal ones marked with *, and the personal features' total share.
func importanceSummary(imp []gbdt.Importance) string {
	var total, personal float64
	for _, im := range imp {
		total += im.Gain
	}
	if total <= 0 {
		return ""
	}
	isPersonal := map[int]bool{}
	for _, f := range rank.PersonalFeatures {
		isPersonal[f] = true
	}
	var parts []string
	for _, im := range imp {
		mark := ""
		if isPersonal[im.Feature] {
			mark = "*"
			personal += im.Gain
		}
		name := im.Name
		if name == "" && im.Feature >= 0 && im.Feature < rank.NumFeatures {
			name = rank.FeatureNames[im.Feature]
		}
		if im.Gain/total >= 0.005 {
			parts = append(parts, fmt.Sprintf("%s%s %.1f%%", name, mark, 100*im.Gain/total))
		}
	}
	return fmt.Sprintf("%s; personal* features %.1f%%", strings.Join(parts, ", "), 100*personal/total)
}

// servedSummary says per arm how many searches the server answered in the A/B period and
// how many of them a profile shaped: the personalized arm can only differ from control
// on those.
func servedSummary(m *server.MetricsReport) string {
	var parts []string
	for _, arm := range []string{experiment.Control, experiment.Personalized, experiment.Interleaved} {
		n, ok := m.ServedSearches[arm]
		if !ok {
			continue
		}
		k := m.PersonalizedSearches[arm]
		parts = append(parts, fmt.Sprintf("%s %d (%d personalized, %.0f%%)", arm, n, k, 100*float64(k)/float64(max(n, 1))))
	}
	if len(parts) == 0 {
		return "none measured by this server process"
	}
	return strings.Join(parts, ", ")
}

// InterleavingSummary renders the interleaving preference in two lines.
func InterleavingSummary(in *experiment.Interleaving) string {
	return fmt.Sprintf("interleaving (team draft): %d lists, %d with clicks: personalized wins %d, ties %d, loses %d\n"+
		"interleaving preference for personalized | %+.3f | 95%% CI [%+.3f, %+.3f] | sign test p = %.2g\n",
		in.Lists, in.WithClicks, in.Wins, in.Ties, in.Losses, in.Preference.Value, in.Preference.CI95[0], in.Preference.CI95[1], in.SignTestP)
}

type prefixWriter struct {
	w      io.Writer
	prefix string
}

func (p prefixWriter) Write(b []byte) (int, error) {
	for _, line := range strings.SplitAfter(string(b), "\n") {
		if strings.TrimSpace(line) != "" {
			fmt.Fprint(p.w, p.prefix+line)
		}
	}
	return len(b), nil
}

func randomToken() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
