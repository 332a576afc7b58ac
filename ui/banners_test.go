package ui

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/exp/teatest/v2"
)

// framesSince returns the frames rendered after the first n.
func (r *recorder) framesSince(n int) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.frames[n:]...)
}

// frameCount is how many frames were rendered so far.
func (r *recorder) frameCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.frames)
}

// bannerSinceRun returns the first of frames, from the first one that shows a run in
// progress on, that still shows banner ("" when none does); it fails the test when no
// frame showed the run.
func bannerSinceRun(frames []string, banner string) string {
	started := false
	for _, f := range frames {
		started = started || strings.Contains(f, "Testing the network")
		if started && strings.Contains(f, banner) {
			return f
		}
	}
	if !started {
		return "no frame showed the new run"
	}
	return ""
}

// TestNewRunClearsBanners: "Report saved" (of the last run's report) and "Watch
// ended" (of the last watch) are gone as soon as a new test starts, and stay gone
// after it.
func TestNewRunClearsBanners(t *testing.T) {
	_, _, rec, tm := startFlow(t, "pass")
	waitScreen(t, rec, flowWait, "Result: all checks passed", "w watch")
	tm.Send(keyRune('s'))
	waitScreen(t, rec, flowWait, "Save the report")
	tm.Send(keyEnter)
	waitScreen(t, rec, flowWait, "Report saved:")

	n := rec.frameCount()
	tm.Send(keyRune('w')) // a watch round: a new run
	waitScreen(t, rec, flowWait, "Watch ended: both directions pass (round 1)")
	if f := bannerSinceRun(rec.framesSince(n), "Report saved"); f != "" {
		t.Fatalf("the last report's saved banner is still shown after a new run started:\n%s", f)
	}

	n = rec.frameCount()
	tm.Send(keyRune('t'))
	waitScreen(t, rec, flowWait, "Testing the network")
	waitScreen(t, rec, flowWait, "Result: all checks passed", "w watch")
	if f := bannerSinceRun(rec.framesSince(n), "Watch ended"); f != "" {
		t.Fatalf("the last watch's banner is still shown after a new run started:\n%s", f)
	}
	tm.Send(keyRune('q'))
	tm.FinalModel(t, teatest.WithFinalTimeout(flowWait))
}
