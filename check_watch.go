// milink check --watch: test the network again every interval, on the same session (the
// same connections; the passwords are read once), until both directions pass or the
// run is stopped.

package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/milink/milink/steps"
)

// watchRounds returns what runFlow does after the first run for --watch every: while
// the last round's network test failed (exit code 3, steps.ExitConnectivity) it waits
// every, then tests the network again (Session.RerunNetwork: the prerequisites checked
// again, a new run id, the same connections and options). A direction not run says why. Each round prints one status line on stderr. It returns
// the last round's report: at once when ctx is canceled while it waits, after that
// round's cleanup when ctx is canceled during a round. A zero every runs one round.
func (a *app) watchRounds(ctx context.Context, every time.Duration, sink steps.Sink, log *slog.Logger) func(*steps.Session, *steps.Report) *steps.Report {
	if every <= 0 {
		return nil
	}
	return func(s *steps.Session, rep *steps.Report) *steps.Report {
		for round := 1; ; round++ {
			again := rep.ExitCode == steps.ExitConnectivity && ctx.Err() == nil
			line := roundLine(round, rep, again, every)
			log.Info("watch round", "round", round, "exit_code", rep.ExitCode, "run_id", rep.RunID)
			fmt.Fprintln(a.stderr, line)
			if !again {
				return rep
			}
			t := time.NewTimer(every)
			select {
			case <-ctx.Done():
				t.Stop()
				return rep
			case <-t.C:
			}
			rep = s.RerunNetwork(ctx, sink)
		}
	}
}

// roundLine is the one status line of a --watch round: "watch round 2 at 15:04:05:
// SQL Server → managed instance failed (timeout 5022), managed instance → SQL Server
// passed; again in 10s".
func roundLine(round int, rep *steps.Report, again bool, every time.Duration) string {
	var dirs []string
	for _, d := range rep.Directions {
		part := string(d.Direction) + " " + d.Status
		if why := d.ShortReason(); d.Status == steps.StatusNotRun && why != "" {
			part += " (" + why + ")" // "not run (no master key)"
		}
		var bad []string
		for _, p := range d.Probes {
			if !p.Succeeded {
				bad = append(bad, fmt.Sprintf("%s %d", p.Verdict, p.Port))
			}
		}
		if len(bad) > 0 {
			part += " (" + strings.Join(bad, ", ") + ")"
		}
		dirs = append(dirs, part)
	}
	what := strings.Join(dirs, ", ")
	if what == "" {
		what = rep.Outcome
	}
	next := "; done (exit code " + fmt.Sprint(rep.ExitCode) + ")"
	if again {
		next = "; again in " + every.String() + " (Ctrl-C stops)"
	}
	return fmt.Sprintf("milink: watch round %d at %s: %s%s", round, time.Now().Format("15:04:05"), what, next)
}
