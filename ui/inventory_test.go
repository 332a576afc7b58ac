package ui

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/exp/teatest/v2"

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

// TestInventoryModelKeyedByName: an update lands on the line of the pair it names,
// whatever its index says, and a pair done twice is counted once (teatest drives the
// model as a program).
func TestInventoryModelKeyedByName(t *testing.T) {
	m := NewInventoryModel([]string{"sql-a", "sql-b", "sql-c"}, nil)
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(80, 10))
	tm.Send(steps.PairUpdate{Index: 0, Name: "sql-b", State: steps.PairTesting, Message: "waiting for job"})
	tm.Send(steps.PairUpdate{Index: 2, Name: "sql-c", State: steps.PairDone, Message: "stopped"})
	tm.Send(steps.PairUpdate{Index: 2, Name: "sql-c", State: steps.PairDone, Message: "stopped"})
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte("1 of 3 pair(s) finished")) },
		teatest.WithDuration(10*time.Second))
	if err := tm.Quit(); err != nil {
		t.Fatal(err)
	}
	got := tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(*InventoryModel).render()
	want := "milink: 1 of 3 pair(s) finished\nsql-a  queued\nsql-b  testing: waiting for job\nsql-c  done: stopped\n"
	if got != want {
		t.Errorf("render:\n%s\nwant\n%s", got, want)
	}
}

// TestInventoryProgressPrint: a message printed while the view runs (a signal's
// "stopping") comes after a finished frame with the cursor given back, on a line of
// its own, and the next update draws every pair's line again below it, each after
// its own name: nothing is written into a frame.
func TestInventoryProgressPrint(t *testing.T) {
	var out syncBuf
	p := StartInventoryProgress(&out, []string{"sql-a", "sql-b"})
	p.Update(steps.PairUpdate{Index: 0, Name: "sql-a", State: steps.PairTesting, Message: "waiting for job"})
	p.Update(steps.PairUpdate{Index: 1, Name: "sql-b", State: steps.PairConnecting, Message: "connecting"})
	const note = "milink: SIGINT: stopping; cleaning up (press Ctrl-C again to abandon cleanup)\n"
	p.Print(note)
	before := out.String()
	if !strings.HasSuffix(before, "\r"+note) {
		t.Fatalf("the message is not written as a line of its own:\n%q", before)
	}
	frame := strings.TrimSuffix(before, "\r"+note)
	for _, want := range []string{"sql-a  testing: waiting for job\n", "sql-b  connecting: connecting\n"} {
		if !strings.Contains(frame, want) {
			t.Errorf("the frame before the message lacks %q:\n%q", want, frame)
		}
	}
	if !strings.HasSuffix(frame, "\x1b[?25h") && !strings.Contains(frame[max(0, len(frame)-16):], "\x1b[?25h") {
		t.Errorf("the view did not end (cursor shown) before the message:\n%q", frame)
	}
	p.Update(steps.PairUpdate{Index: 1, Name: "sql-b", State: steps.PairCleaning, Message: "removing the job"})
	p.Update(steps.PairUpdate{Index: 0, Name: "sql-a", State: steps.PairDone, Message: "interrupted"})
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	after := strings.TrimPrefix(out.String(), before)
	for _, want := range []string{"sql-a  done: interrupted\n", "sql-b  cleaning up: removing the job\n"} {
		if !strings.Contains(after, want) {
			t.Errorf("after the message the view lacks %q:\n%q", want, after)
		}
	}
	if strings.Contains(after, "stopping") {
		t.Errorf("the message was drawn again inside the view:\n%q", after)
	}
	p.Print("after close\n")
	if !strings.HasSuffix(out.String(), "after close\n") {
		t.Errorf("after Close, Print does not write through: %q", out.String())
	}
}

// syncBuf is a bytes.Buffer safe for the program's writer and the test's reader.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }
