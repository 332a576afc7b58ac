package ui

import (
	"bytes"
	"io"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/milink/milink/steps"
)

// syncBuffer is a goroutine-safe buffer; Read consumes what was written so far.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) Read(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.b.Len() == 0 {
		return 0, io.EOF
	}
	return s.b.Read(p)
}

// logWatcher keeps every log line and lets a test wait for one.
type logWatcher struct {
	buf syncBuffer
	mu  sync.Mutex
	all strings.Builder
}

func (l *logWatcher) Write(p []byte) (int, error) {
	l.mu.Lock()
	l.all.Write(p)
	l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logWatcher) text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.all.String()
}

// waitLog waits until the log has a line containing every one of want.
func waitLog(t *testing.T, l *logWatcher, want ...string) {
	t.Helper()
	teatest.WaitFor(t, &l.buf, func(b []byte) bool {
		for _, line := range strings.Split(string(b), "\n") {
			ok := true
			for _, w := range want {
				if !strings.Contains(line, w) {
					ok = false
					break
				}
			}
			if ok {
				return true
			}
		}
		return false
	}, teatest.WithDuration(flowWait), teatest.WithCheckInterval(20*time.Millisecond))
}

// TestRunFullScreen runs the real program through Run with raw key bytes on a pipe,
// following the log (page transitions, connections, plan, events) to know when the
// next key is useful. The text report must land on ReportOut after the program ended,
// and no password may reach the log or the screen.
func TestRunFullScreen(t *testing.T) {
	p := startPair(t, "default", 10*time.Millisecond)
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer inW.Close()
	defer inR.Close()
	var screen, report syncBuffer
	logs := &logWatcher{}
	type result struct {
		code int
		err  error
	}
	done := make(chan result, 1)
	go func() {
		code, err := Run(t.Context(), Options{Config: p.config(), In: inR, Out: &screen, ReportOut: &report, ReportDir: t.TempDir(),
			Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})), Banner: "DEMO · scenario default"})
		done <- result{code, err}
	}()
	press := func(keys string) {
		t.Helper()
		if _, err := inW.WriteString(keys); err != nil {
			t.Fatal(err)
		}
	}
	waitLog(t, logs, "wizard ui started")
	press("\r")
	waitLog(t, logs, `"to":"Prerequisites"`)
	press("\r")
	waitLog(t, logs, "prerequisites checked")
	press("\r")
	waitLog(t, logs, `"to":"Login"`)
	press("\r")
	waitLog(t, logs, "managed instance discovered")
	press("\r")
	waitLog(t, logs, `"to":"Network Options"`)
	press("\r")
	waitLog(t, logs, "plan built")
	press("\r")
	waitLog(t, logs, "test finished")
	press("q")
	var r result
	select {
	case r = <-done:
	case <-time.After(flowWait):
		t.Fatal("Run did not return after q")
	}
	if r.err != nil {
		t.Fatalf("Run: %v", r.err)
	}
	// Scenario "default": the network is open but two prerequisites are not met.
	if r.code != steps.ExitPrereq {
		t.Errorf("exit code = %d, want %d\nreport:\n%s", r.code, steps.ExitPrereq, report.b.String())
	}
	rep := report.b.String()
	for _, want := range []string{"milink network check — run", "[FAIL] SQL Server: Database Inventory uses the SIMPLE recovery model", "Connectivity", "Cleanup", "Result: network OK, but a link prerequisite is not met (exit code 5)"} {
		if !strings.Contains(rep, want) {
			t.Errorf("text report lacks %q:\n%s", want, rep)
		}
	}
	out := screen.b.String()
	if !strings.Contains(out, "\x1b[?1049h") || !strings.Contains(out, "\x1b[?1049l") {
		t.Error("the wizard did not use (and leave) the alternate screen")
	}
	if strings.Contains(out, "Result: network OK") && strings.Index(out, "Result: network OK") > strings.LastIndex(out, "\x1b[?1049l") {
		t.Error("the report was written to the TUI output after the program ended")
	}
	for name, s := range map[string]string{"log": logs.text(), "screen": out, "report": rep} {
		if strings.Contains(s, simPassword) {
			t.Errorf("the password appears in the %s", name)
		}
	}
	for _, want := range []string{`"msg":"page"`, `"msg":"event"`, "creating Agent job"} {
		if !strings.Contains(logs.text(), want) {
			t.Errorf("log lacks %q", want)
		}
	}
	assertNoLeftovers(t, p)
}

// TestRunCtrlCBeforeResults: Ctrl-C + y quits at once with 130 and prints no report.
func TestRunCtrlCBeforeResults(t *testing.T) {
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer inR.Close()
	defer inW.Close()
	var screen, report syncBuffer
	logs := &logWatcher{}
	done := make(chan int, 1)
	go func() {
		code, _ := Run(t.Context(), Options{Config: testConfig(), In: inR, Out: &screen, ReportOut: &report,
			Logger: slog.New(slog.NewJSONHandler(logs, nil))})
		done <- code
	}()
	waitLog(t, logs, "wizard ui started")
	inW.WriteString("\x03")
	waitLog(t, logs, "quit asked")
	inW.WriteString("y")
	select {
	case code := <-done:
		if code != steps.ExitInterrupted {
			t.Errorf("exit code = %d, want 130", code)
		}
	case <-time.After(flowWait):
		t.Fatal("Run did not return after Ctrl-C y")
	}
	if report.b.Len() != 0 {
		t.Errorf("a report was printed: %q", report.b.String())
	}
}

var colorSGR = regexp.MustCompile(`\x1b\[[0-9;]*(3[0-7]|9[0-7]|38;5;[0-9]+)(;[0-9]+)*m`)

// TestColorProfile: colours follow the detected profile. NO_COLOR removes them, a
// 256-colour terminal gets no true-colour sequences.
func TestColorProfile(t *testing.T) {
	for _, tc := range []struct {
		name  string
		env   []string
		color bool
	}{
		{"256 colours", []string{"TTY_FORCE=1", "TERM=xterm-256color"}, true},
		{"NO_COLOR", []string{"TTY_FORCE=1", "TERM=xterm-256color", "NO_COLOR=1"}, false},
		{"not a terminal", []string{"TERM=xterm-256color"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := NewModel(t.Context(), Options{Config: testConfig(), Banner: "DEMO"})
			rec := newRecorder(m)
			tm := teatest.NewTestModel(t, rec, teatest.WithInitialTermSize(80, 24), teatest.WithProgramOptions(tea.WithEnvironment(tc.env)))
			waitScreen(t, rec, flowWait, "What the test creates")
			tm.Send(keyCtrlC)
			tm.Send(keyRune('y'))
			out, err := io.ReadAll(tm.FinalOutput(t, teatest.WithFinalTimeout(flowWait)))
			if err != nil {
				t.Fatal(err)
			}
			if got := colorSGR.Match(out); got != tc.color {
				t.Errorf("colour sequences present = %v, want %v", got, tc.color)
			}
			if bytes.Contains(out, []byte("38;2;")) || bytes.Contains(out, []byte("48;2;")) {
				t.Error("true-colour sequences on a 256-colour terminal")
			}
		})
	}
}
