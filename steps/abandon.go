package steps

import (
	"os"
	"time"
)

// AbandonAfter is how long after the first stop signal a Ctrl-C must come to abandon
// cleanup (AbandonsCleanup). Signals that arrive together are one request to stop:
// GNU timeout sends SIGTERM to milink and then to its whole process group, sudo and
// other wrappers relay the terminal's SIGINT that milink also gets, so the same stop
// often arrives twice within microseconds. Nobody reads "press Ctrl-C again" and
// presses it in less than half a second.
const AbandonAfter = 500 * time.Millisecond

// AbandonsCleanup reports whether sig, received sinceFirst after the first stop
// signal of a run, abandons the run's cleanup. Only a Ctrl-C (SIGINT) does, the key
// the "press Ctrl-C again" notice names, and only AbandonAfter or more after the
// first signal. SIGTERM, SIGHUP, SIGQUIT and SIGPIPE never do, however often they
// come: process managers repeat them, dead terminals and pipes raise them on their
// own, and whoever must end milink at once has SIGKILL.
func AbandonsCleanup(sig os.Signal, sinceFirst time.Duration) bool {
	return sig == os.Interrupt && sinceFirst >= AbandonAfter
}
