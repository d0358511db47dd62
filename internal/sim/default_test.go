package sim

import (
	"context"
	"os"
	"syscall"
	"testing"
	"time"
)

// TestDefaultWorld generates the default demo world and prints its figures. It is
// long (tens of seconds), so it runs only with BESPOKE_SIM_DEFAULT=1; the world goes
// to BESPOKE_SIM_OUT if set (kept), else a temporary directory. Measure peak memory with
//
//	go test -c -o /tmp/sim.test ./internal/sim && BESPOKE_SIM_DEFAULT=1 /usr/bin/time -v /tmp/sim.test -test.run TestDefaultWorld -test.v
func TestDefaultWorld(t *testing.T) {
	if os.Getenv("BESPOKE_SIM_DEFAULT") != "1" {
		t.Skip("set BESPOKE_SIM_DEFAULT=1 to generate the default world (about a minute)")
	}
	dir := os.Getenv("BESPOKE_SIM_OUT")
	if dir == "" {
		dir = t.TempDir()
	}
	start := time.Now()
	st, err := Generate(context.Background(), DefaultConfig(), dir, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	el := time.Since(start)
	st.WriteText(os.Stderr)
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	t.Logf("generated %d events in %v wall, %v CPU (%.0f events/s wall); peak RSS %d MiB",
		st.Events, el.Round(time.Millisecond), cpu.Round(time.Millisecond), float64(st.Events)/el.Seconds(), ru.Maxrss>>10)
	if st.Events < 2_000_000 {
		t.Errorf("the default world has %d events, want >= 2M", st.Events)
	}
	// the budget is 60 s on an idle 2-core machine; a shared machine stretches wall
	// time, so the check is on CPU time (2 cores × 60 s)
	if cpu > 120*time.Second {
		t.Errorf("the default world took %v of CPU, want <= 120 s (60 s on 2 cores)", cpu)
	}
	start = time.Now()
	m, err := Summarize(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Summarize read the world back in %v", time.Since(start).Round(time.Millisecond))
	if m.Events != st.Events || m.Searches != st.Searches || m.LinesBySizeError != st.LinesBySizeError {
		t.Errorf("Summarize differs from Stats: %d/%d events, %d/%d searches", m.Events, st.Events, m.Searches, st.Searches)
	}
}
