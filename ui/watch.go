package ui

import (
	"fmt"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/milink/milink/steps"
)

// defaultWatchEvery is the pause between two tests of the watch mode.
const defaultWatchEvery = 10 * time.Second

// watchState is the Results page's watch mode (w): the network test runs again on the
// same connections every few seconds, each round cleaning up as usual, until both
// directions pass or the user stops it (w again), so a network admin can change rules
// while the DBA watches.
type watchState struct {
	on     bool
	every  time.Duration
	round  int       // rounds started since w
	next   time.Time // when the next round starts (zero while one runs)
	now    time.Time // latest tick
	gen    int       // ticks of an earlier watch are dropped
	result string    // how the last watch ended ("" while none ended)
}

// watchTickMsg counts down to the next round.
type watchTickMsg struct {
	gen int
	t   time.Time
}

func watchTick(gen int) tea.Cmd {
	return tea.Tick(time.Second, func(t time.Time) tea.Msg { return watchTickMsg{gen: gen, t: t} })
}

// line is the watch status shown on the Results page ("" when not watching).
func (w *watchState) line() string {
	switch {
	case w.on && w.next.IsZero():
		return styles.Prompt.Render(fmt.Sprintf("Watching: round %d runs now", w.round)) + styles.Muted.Render(" · w stops after it")
	case w.on:
		left := max(0, w.next.Sub(w.now).Round(time.Second))
		return styles.Prompt.Render(fmt.Sprintf("Watch every %s: next test in %s", w.every, left)) + styles.Muted.Render(fmt.Sprintf(" · round %d · until both pass · w stops", w.round))
	case w.result != "":
		return styles.Muted.Render(w.result)
	}
	return ""
}

// bothPassed reports whether every direction of rep passed.
func bothPassed(rep *steps.Report) bool {
	if rep == nil || len(rep.Directions) == 0 {
		return false
	}
	for _, d := range rep.Directions {
		if d.Status != steps.StatusPassed {
			return false
		}
	}
	return true
}

// toggleWatch starts the watch mode (and its first round at once) or stops it.
func (m *Model) toggleWatch() tea.Cmd {
	w := &m.results.watch
	w.gen++
	if w.on {
		w.on, w.next = false, time.Time{}
		w.result = fmt.Sprintf("Watch stopped after %d rounds.", w.round)
		m.log.Info("watch stopped", "rounds", w.round)
		return nil
	}
	if w.every <= 0 {
		w.every = defaultWatchEvery
	}
	w.on, w.round, w.result = true, 0, ""
	m.log.Info("watch started", "every", w.every.String())
	return m.watchRound()
}

// watchRound starts the next round of the watch.
func (m *Model) watchRound() tea.Cmd {
	w := &m.results.watch
	w.round++
	w.next = time.Time{}
	return m.startRun(true)
}

// watchDone is called when a round ended: the watch stops when both directions pass,
// else the countdown to the next round starts.
func (m *Model) watchDone(now time.Time) tea.Cmd {
	w := &m.results.watch
	if !w.on {
		return nil
	}
	if bothPassed(m.report) {
		w.on = false
		w.result = fmt.Sprintf("Watch ended: both directions pass (round %d).", w.round)
		m.log.Info("watch ended", "rounds", w.round, "passed", true)
		return nil
	}
	w.gen++ // a countdown still ticking (t pressed during it) is dropped
	w.now, w.next = now, now.Add(w.every)
	return watchTick(w.gen)
}

// watchTicked counts down; at zero the next round starts.
func (m *Model) watchTicked(msg watchTickMsg) tea.Cmd {
	w := &m.results.watch
	if msg.gen != w.gen || !w.on || w.next.IsZero() {
		return nil
	}
	w.now = msg.t
	if m.page != pageResults || m.results.running {
		return nil
	}
	if !w.now.Before(w.next) {
		return m.watchRound()
	}
	return watchTick(w.gen)
}
