package ui

import (
	"bytes"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/milink/milink/steps"
)

// TestInventoryProgress runs the live view as a program: it shows one line per pair,
// follows the updates sent to it and ends when they are closed.
func TestInventoryProgress(t *testing.T) {
	ch := make(chan steps.PairUpdate, 8)
	var out bytes.Buffer
	errc := make(chan error, 1)
	go func() { errc <- RunInventoryProgress(&out, []string{"sql01", "sql-long-name"}, ch) }()
	now := time.Now()
	rep := steps.NewReport(steps.Config{})
	rep.Directions = []steps.DirectionResult{{Direction: steps.SQLToMI, Status: steps.StatusPassed}, {Direction: steps.MIToSQL, Status: steps.StatusFailed}}
	rep.Fatal(steps.ExitConnectivity, errTest("a probe failed"))
	ch <- steps.PairUpdate{Index: 0, Name: "sql01", State: steps.PairTesting, Message: "waiting for job", Time: now}
	ch <- steps.PairUpdate{Index: 1, Name: "sql-long-name", State: steps.PairDone, Time: now,
		Result: &steps.PairResult{Index: 1, Name: "sql-long-name", Report: rep, Duration: 2 * time.Second}}
	close(ch)
	select {
	case err := <-errc:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the view did not end when the updates were closed")
	}
	s := out.String()
	for _, want := range []string{"sql01", "testing: waiting for job", "sql-long-name  done: exit 3; SQL→MI passed, MI→SQL failed", "1 of 2 pair(s) finished"} {
		if !strings.Contains(s, want) {
			t.Errorf("the view never showed %q:\n%q", want, s)
		}
	}
}

type errTest string

func (e errTest) Error() string { return string(e) }

// TestInventoryModelLines: each update replaces its pair's line; lines are cut to the
// terminal's width; an update for an unknown pair is ignored.
func TestInventoryModelLines(t *testing.T) {
	m := NewInventoryModel([]string{"a", "bb"}, nil)
	m.Update(steps.PairUpdate{Index: 1, Name: "bb", State: steps.PairConnecting, Message: "connecting to SQL Server db1\x1b[2J"})
	m.Update(steps.PairUpdate{Index: 7, Name: "zz", State: steps.PairDone})
	got := m.render()
	want := "milink: 0 of 2 pair(s) finished\na   queued\nbb  connecting: connecting to SQL Server db1\\x1b[2J\n"
	if got != want {
		t.Errorf("render:\n%q\nwant\n%q", got, want)
	}
	m.Update(teaWindow(20))
	for _, l := range strings.Split(strings.TrimSuffix(m.render(), "\n"), "\n") {
		if w := len([]rune(l)); w > 19 {
			t.Errorf("line %q is %d wide on a 20-column terminal", l, w)
		}
	}
}

func teaWindow(w int) tea.WindowSizeMsg { return tea.WindowSizeMsg{Width: w, Height: 10} }

// TestInventoryModelTooManyPairs: pairs that do not fit the terminal's height are
// counted on a last line; the running ones are shown first.
func TestInventoryModelTooManyPairs(t *testing.T) {
	m := NewInventoryModel([]string{"p1", "p2", "p3", "p4", "p5"}, nil)
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 5})
	m.Update(steps.PairUpdate{Index: 3, Name: "p4", State: steps.PairTesting, Message: "waiting for job"})
	want := "milink: 0 of 5 pair(s) finished\np4  testing: waiting for job\np1  queued\n… and 3 more pair(s)\n"
	if got := m.render(); got != want {
		t.Errorf("render:\n%q\nwant\n%q", got, want)
	}
}
