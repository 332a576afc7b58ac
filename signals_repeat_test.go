package main

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/milink/milink/steps"
)

// TestRepeatedStopSignalsNeverAbandonCleanup: one request to stop often arrives twice.
// GNU timeout (`timeout 12.5 milink check …`) sends SIGTERM to milink and then to its
// process group, so milink gets two SIGTERMs within microseconds; a process manager may
// repeat SIGTERM while it waits; sudo relays the terminal's Ctrl-C that milink also
// gets. None of these may abandon the cleanup: milink cleans up and exits 130.
func TestRepeatedStopSignalsNeverAbandonCleanup(t *testing.T) {
	for _, tc := range []struct {
		name string
		sig  syscall.Signal
		// afterNotice: the second signal comes once milink printed its stop notice
		// (a process manager repeating itself), else back to back (GNU timeout).
		afterNotice bool
	}{
		{"SIGTERM twice back to back", syscall.SIGTERM, false},
		{"SIGTERM again after the notice", syscall.SIGTERM, true},
		{"SIGQUIT again after the notice", syscall.SIGQUIT, true},
		{"SIGINT twice back to back", syscall.SIGINT, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := startPair(t, slowJobs, slowJobs)
			c := startMilink(t, nil, verbose(p.checkArgs())...)
			c.waitLines(t, 30*time.Second, "waiting for job NetHelper", "waiting for job TestMILinkConnection")
			pid := c.cmd.Process.Pid
			if err := syscall.Kill(pid, tc.sig); err != nil {
				t.Fatal(err)
			}
			if tc.afterNotice {
				c.waitLines(t, 10*time.Second, "stopping; cleaning up")
			}
			if err := syscall.Kill(pid, tc.sig); err != nil {
				t.Fatal(err)
			}
			code := c.wait(t, 60*time.Second)
			stderr := c.stderr()
			if strings.Contains(stderr, "abandoned") {
				t.Errorf("a repeated %s abandoned the cleanup:\n%s", tc.sig, stderr)
			}
			if code != steps.ExitInterrupted {
				t.Errorf("exit code %d, want 130\n%s", code, stderr)
			}
			// Read back from both servers' catalogs: nothing of the run is left.
			assertNoMilinkObjects(t, p)
		})
	}
}
