package steps

import (
	"os"
	"syscall"
	"testing"
	"time"
)

func TestOnlyALaterCtrlCAbandonsCleanup(t *testing.T) {
	for _, tc := range []struct {
		sig   os.Signal
		since time.Duration
		want  bool
	}{
		{os.Interrupt, AbandonAfter, true},
		{os.Interrupt, 3 * time.Second, true},
		{os.Interrupt, 0, false}, // kill(pid) + kill(0): the same stop twice
		{os.Interrupt, AbandonAfter - time.Millisecond, false},
		{syscall.SIGTERM, 0, false},           // GNU timeout: child, then the process group
		{syscall.SIGTERM, time.Minute, false}, // a process manager repeating itself
		{syscall.SIGQUIT, time.Minute, false},
		{syscall.SIGHUP, time.Minute, false},
		{syscall.SIGPIPE, time.Minute, false},
	} {
		if got := AbandonsCleanup(tc.sig, tc.since); got != tc.want {
			t.Errorf("AbandonsCleanup(%v, %s) = %v, want %v", tc.sig, tc.since, got, tc.want)
		}
	}
}
