package steps_test

import (
	"context"
	"testing"
	"time"

	"github.com/milink/milink/sqlops"
	"github.com/milink/milink/steps"
)

// TestProbeDurationsAreTheirOwn (issue 15): every probe of a check run by Agent jobs
// carries its own duration, read from its line of the job step (ElapsedMs): on a
// network with a 20 ms round trip, the filtered 5022 took at least the probe timeout,
// the ports that answered at least the round trip and less than the timeout, though
// all of SQL Server's probes ran in the same step.
func TestProbeDurationsAreTheirOwn(t *testing.T) {
	p := startPair(t, "blocked-5022", 10*time.Millisecond, 10*time.Millisecond)
	const rtt = 20 * time.Millisecond
	p.Network.SetLatency(rtt)
	cfg := pairConfig(t, p)
	rep := steps.Check(context.Background(), cfg, nil)
	for _, d := range rep.Directions {
		if len(d.Probes) == 0 {
			t.Fatalf("%s: no probes (%s: %s)", d.Direction, d.Status, d.Reason)
		}
		for _, pr := range d.Probes {
			switch {
			case pr.Verdict == sqlops.VerdictTimeout && pr.Duration < cfg.ProbeTimeout:
				t.Errorf("%s:%d timed out after %s, less than the probe timeout %s", pr.Host, pr.Port, pr.Duration, cfg.ProbeTimeout)
			case pr.Verdict != sqlops.VerdictTimeout && pr.Duration >= cfg.ProbeTimeout:
				t.Errorf("%s:%d (%s) took %s, the probe timeout", pr.Host, pr.Port, pr.Verdict, pr.Duration)
			case pr.Verdict == sqlops.VerdictConnected && pr.Duration < rtt:
				t.Errorf("%s:%d connected in %s, less than a round trip: the duration was not read", pr.Host, pr.Port, pr.Duration)
			}
		}
	}
	if d := direction(t, rep, steps.SQLToMI); d.Probes[0].Verdict != sqlops.VerdictTimeout {
		t.Errorf("5022: %s", d.Probes[0].Verdict)
	}
}
