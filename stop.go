// How a run stopped by a signal is settled: what is left, the milink cleanup line that
// finishes the job, and the exit code.

package main

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/milink/milink/steps"
)

// leftBehind counts the objects the run's cleanup could not remove.
func leftBehind(rep *steps.Report) int {
	n := len(rep.Remaining)
	for _, c := range rep.Cleanup {
		if c.Error != "" && !c.Remains {
			n++ // an error the runner did not mark as remaining: count it, to be safe
		}
	}
	return n
}

// settleStop makes the report of a run stopped by sig say what is true: exit 130 only
// when nothing the run created is left, else exit 1 with the milink cleanup command
// line that finishes the job.
func settleStop(rep *steps.Report, sig os.Signal, cleanup string) {
	name := signalName(sig)
	switch left := leftBehind(rep); {
	case left > 0:
		rep.ExitCode = steps.ExitError
		why := ""
		if lost := rep.LostServers(); lost != "" {
			why = " (" + lost + ")"
		}
		rep.Error = fmt.Sprintf("stopped by %s; cleanup could not remove %d test object(s)%s: run %s", name, left, why, cleanup)
	case len(rep.Cleanup) == 0:
		rep.ExitCode = steps.ExitInterrupted
		rep.Error = fmt.Sprintf("stopped by %s before any test object was created", name)
	default:
		rep.ExitCode = steps.ExitInterrupted
		rep.Error = fmt.Sprintf("stopped by %s; cleanup removed every test object this run created", name)
	}
	rep.Outcome = "interrupted: " + rep.Error
}

// cleanupFlagNames are the flags milink cleanup shares with check that say which
// servers to clean and how to sign in to them (never a password).
var cleanupFlagNames = []string{
	"sql-server", "sql-port", "sql-user", "sql-encrypt", "sql-trust-server-certificate", "sql-ca-cert", "sql-hostname-in-certificate",
	"mi-server", "mi-port", "mi-user", "mi-encrypt", "mi-trust-server-certificate", "mi-ca-cert", "mi-hostname-in-certificate",
	"cloud", "mi-auth", "tenant-id", "client-id",
	"sql-tls-min", "sql-cert-sha256", "mi-tls-min", "mi-cert-sha256",
	"sql-auth", "sql-krb5-keytab", "sql-krb5-ccache", "sql-krb5-conf", "sql-spn",
}

// cleanupCommand is the milink cleanup command line for the servers of fs, with the
// server and sign-in flags that were set (on the command line, in MILINK_* or in
// --config), quoted for a POSIX shell. It never contains a password.
func cleanupCommand(fs *pflag.FlagSet) string {
	parts := []string{"milink", "cleanup"}
	for _, name := range cleanupFlagNames {
		f := fs.Lookup(name)
		if f == nil || !f.Changed {
			continue
		}
		if f.Value.Type() == "bool" {
			if f.Value.String() == "true" {
				parts = append(parts, "--"+name)
			}
			continue
		}
		parts = append(parts, "--"+name, shellQuote(f.Value.String()))
	}
	return strings.Join(parts, " ")
}

var shellSafe = regexp.MustCompile(`^[A-Za-z0-9@%+=:,./_-]+$`)

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if shellSafe.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// stuckGrace is how long a stopped run may take to notice, before its network test
// started, that it was stopped; a connect that ignores cancellation (a port that
// accepts and never answers) is then left behind: nothing exists to clean up yet.
const stuckGrace = 2 * time.Second

// runFlow drives a steps.Session through every step (Session.RunAll, as steps.Check
// does). When ctx is canceled (a stop signal) before the network test started, it
// returns at once, without waiting for a connect that does not answer: nothing
// has been created then. Once the test runs, it always waits for the session's
// cleanup. then (nil: none) continues on the same session after the first run and
// returns the final report (milink check --watch).
func runFlow(ctx context.Context, cfg steps.Config, sink steps.Sink, then func(*steps.Session, *steps.Report) *steps.Report) *steps.Report {
	s := steps.NewSession(cfg, steps.SessionOptions{})
	done := make(chan *steps.Report, 1)
	go func() {
		defer s.Close()
		rep := s.RunAll(ctx, sink)
		if then != nil {
			rep = then(s, rep)
		}
		done <- rep
	}()
	select {
	case rep := <-done:
		return rep
	case <-ctx.Done():
	}
	grace := time.NewTimer(stuckGrace)
	defer grace.Stop()
	select {
	case rep := <-done:
		return rep
	case <-grace.C:
	}
	if s.Running() || s.Step() >= steps.StepSummary {
		// The test started (or is about to): its cleanup must finish.
		return <-done
	}
	return s.Fail(steps.ExitInterrupted, ctx.Err())
}
