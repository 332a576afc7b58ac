package ui

import (
	"strings"

	tea "charm.land/bubbletea/v2"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/milink/milink/steps"
)

// TestFlowWatchUntilPass: w on Results re-tests on a countdown while the network
// admin works; once 5022 is opened a round passes both directions and the watch ends
// by itself. Every round cleans up.
func TestFlowWatchUntilPass(t *testing.T) {
	p, m, rec, tm := startFlow(t, "blocked-5022", func(m *Model) { m.results.watch.every = 1500 * time.Millisecond })
	waitScreen(t, rec, flowWait, "Result:", "exit code 3", "w watch")
	tm.Send(keyRune('w'))
	waitScreen(t, rec, flowWait, "Watch every 1.5s: next test in", "round 1 ·", "w stops")
	if !rec.sawFrame("Testing the network in both directions", "Watching: round 1 runs now") {
		t.Error("no frame showed the watch's round running")
	}
	p.Network.ClearRules() // the network admin opens 5022
	waitScreen(t, rec, flowWait, "Watch ended: both directions pass", "exit code 0")
	assertNoLeftovers(t, p)
	tm.Send(keyRune('q'))
	fm := tm.FinalModel(t, teatest.WithFinalTimeout(flowWait)).(*recorder).m
	if fm.ExitCode() != steps.ExitOK || fm.results.watch.round < 2 {
		t.Errorf("exit code %d after %d rounds", fm.ExitCode(), fm.results.watch.round)
	}
	_ = m
}

// TestWatchStops: w again stops the countdown; no round starts after it.
func TestWatchStops(t *testing.T) {
	m := resultsWithFixes(t)
	m.results.watch.on, m.results.watch.every, m.results.watch.round = true, time.Second, 1
	cmd := m.watchDone(time.Now())
	send(m, tea.WindowSizeMsg{Width: 80, Height: 22})
	if cmd == nil || !strings.Contains(screenOf(m), "Watch every 1s: next test in 1s") {
		t.Fatalf("no countdown:\n%s", screenOf(m))
	}
	send(m, keyRune('w'))
	if m.results.watch.on || !strings.Contains(screenOf(m), "Watch stopped after 1 rounds") {
		t.Fatalf("w did not stop the watch:\n%s", screenOf(m))
	}
	if c := send(m, cmd()); c != nil || m.results.running {
		t.Error("a tick of the stopped watch started a round")
	}
}

// TestQuitPromptIsHonest: Ctrl-C on the Introduction says nothing was created; on
// Results after the test (and during a watch's countdown) it says the test finished
// and cleaned up; never "will be cleaned up" when nothing runs.
func TestQuitPromptIsHonest(t *testing.T) {
	m := newTestModel(t, testConfig(), 80, 22)
	send(m, keyCtrlC)
	if s := screenOf(m); !strings.Contains(s, "Quit? Nothing has been created. y/n") {
		t.Errorf("Intro:\n%s", s)
	}
	r := resultsWithFixes(t)
	r.results.watch.on, r.results.watch.every, r.results.watch.round = true, time.Second, 1
	r.watchDone(time.Now())
	send(r, keyCtrlC)
	s := screenOf(r)
	if !strings.Contains(s, "Quit? The test has finished and cleaned up. y/n") || strings.Contains(s, "will be cleaned up") {
		t.Errorf("Results:\n%s", s)
	}
	send(r, keyRune('y'))
	if !r.quit {
		t.Error("y did not quit during the watch's countdown")
	}
}
