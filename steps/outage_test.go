package steps_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/milink/milink/sqlops"
	"github.com/milink/milink/steps"
)

// TestBothServersGoneSaysWhatItWaitsForAndWhatIsLeft: both servers die while the jobs
// run. milink rides out a failover for the reconnect window, so it waits; it must say
// so as a warning (printed even with -q), with the deadline, and when the servers do
// not come back the cleanup outcome names each object left and why, not a raw
// "context deadline exceeded", plus what removes them.
func TestBothServersGoneSaysWhatItWaitsForAndWhatIsLeft(t *testing.T) {
	p := startFaultPair(t, nil, nil)
	cfg := pairConfig(t, p)
	sqlP := newFaultProxy(t, "sql", p.SQL.Addr())
	miP := newFaultProxy(t, "mi", p.MI.Addr())
	cfg.SQLServer.Host, cfg.SQLServer.Port = sqlP.addr(t)
	cfg.MI.Host, cfg.MI.Port = miP.addr(t)
	const window = time.Second
	for _, cc := range []*sqlops.ConnConfig{&cfg.SQLServer, &cfg.MI} {
		cc.ReconnectWindow, cc.LoginTimeout, cc.DialTimeout = window, time.Second, time.Second
	}
	cfg.JobTimeout = 20 * time.Second
	fire, fired := triggerAll([]string{"waiting for job NetHelper", "waiting for job TestMILinkConnection"},
		func() { sqlP.outage(-1); miP.outage(-1) })
	var mu sync.Mutex
	var warns []string
	sink := func(e steps.Event) {
		fire(e)
		if e.Kind == steps.EventWarn {
			mu.Lock()
			warns = append(warns, e.Message)
			mu.Unlock()
		}
	}
	rep := steps.Check(context.Background(), cfg, sink)
	if !fired() {
		t.Fatalf("the servers never went away: %s", rep.Outcome)
	}
	mu.Lock()
	w := strings.Join(warns, "\n")
	mu.Unlock()
	if !strings.Contains(w, "waiting up to 1s") || !strings.Contains(w, "to come back") {
		t.Errorf("no warning that milink waits for the server to come back, with its deadline:\n%s", w)
	}
	if rep.ExitCode != steps.ExitError {
		t.Errorf("exit code %d, want 1: %s", rep.ExitCode, rep.Outcome)
	}
	all := rep.Outcome + "\n" + w
	for _, c := range rep.Cleanup {
		all += "\n" + c.Error
		if c.Remains && !strings.Contains(c.Error, "did not come back within 1s") {
			t.Errorf("cleanup item %s %s on %s: %q does not say why it remains", c.Kind, c.Name, c.Server, c.Error)
		}
	}
	if strings.Contains(all, "context deadline exceeded") {
		t.Errorf("a raw context error reaches the user:\n%s", all)
	}
	if len(rep.Remaining) == 0 {
		t.Fatalf("nothing remains although both servers went away: %s", rep.Outcome)
	}
	if !strings.Contains(rep.Outcome, "milink cleanup") || !strings.Contains(rep.Outcome, "did not come back") {
		t.Errorf("the outcome does not say what is left, why, and what removes it: %s", rep.Outcome)
	}
	// What milink check's stop notice quotes (settleStop) when a signal ended the run.
	if lost := rep.LostServers(); !strings.Contains(lost, "SQL Server did not come back within 1s (job TestMILinkConnection") ||
		!strings.Contains(lost, "Managed instance did not come back within 1s (job NetHelper") {
		t.Errorf("LostServers() = %q", lost)
	}
	t.Logf("outcome: %s\nwarnings:\n%s", rep.Outcome, w)
}
