package ui

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/milink/milink/steps"
)

const flowWait = 8 * time.Second

// driveToResults presses through the wizard with a pre-filled config, waiting for
// each page to be ready before the next key, exactly as a user (or tmux) would.
func driveToResults(t *testing.T, tm teatest.Program, rec *recorder) {
	t.Helper()
	dump := os.Getenv("MILINK_UI_DUMP") != ""
	show := func(name string) {
		if dump {
			t.Logf("--- %s ---\n%s", name, rec.screen())
		}
	}
	waitScreen(t, rec, flowWait, "What the test creates", "1 Introduction")
	show("intro")
	tm.Send(keyEnter)
	waitScreen(t, rec, flowWait, "Trust server certificate", "enter validate")
	show("prerequisites form")
	tm.Send(keyEnter)
	waitScreen(t, rec, flowWait, "Connected:", "Prerequisites:")
	show("prerequisites checked")
	tm.Send(keyEnter)
	waitScreen(t, rec, flowWait, "Managed instance: milink connects", "enter validate")
	tm.Send(keyEnter)
	waitScreen(t, rec, flowWait, "Connected:", "Current node", "HADR port")
	show("login checked")
	tm.Send(keyEnter)
	waitScreen(t, rec, flowWait, "SQL Server → MI probes", "Probes:")
	show("network options")
	tm.Send(keyEnter)
	waitScreen(t, rec, flowWait, "Actions, in order")
	show("summary")
	tm.Send(keyEnter)
}

func TestFlowPass(t *testing.T) {
	p := startPair(t, "pass", 10*time.Millisecond)
	dir := t.TempDir()
	m := NewModel(t.Context(), Options{Config: p.config(), ReportDir: dir, Banner: "DEMO · simulated instances · scenario pass"})
	rec := newRecorder(m)
	tm := teatest.NewTestModel(t, rec, teatest.WithInitialTermSize(80, 24))
	driveToResults(t, tm, rec)

	// Five SQL Server → MI probes (5022, the node's port, 3 more of 11000-11999) push
	// Cleanup below the fold at 80×24: read the page, then page down to Cleanup.
	waitScreen(t, rec, flowWait, "Result: all checks passed (exit code 0)")
	screen := rec.screen()
	tm.Send(pgdown)
	waitScreen(t, rec, flowWait, "Cleanup")
	screen += rec.screen()
	if os.Getenv("MILINK_UI_DUMP") != "" {
		t.Logf("--- results ---\n%s", screen)
	}
	for _, want := range []string{
		"✓ passed SQL Server → managed instance",
		"✓ passed managed instance → SQL Server",
		"connected",
		"removed job TestMILinkConnection",
		"removed job NetHelper",
	} {
		if !strings.Contains(screen, want) {
			t.Errorf("results screen lacks %q:\n%s", want, screen)
		}
	}
	if strings.Contains(screen, "timeout") {
		t.Errorf("a passing run shows a timeout:\n%s", screen)
	}

	tm.Send(keyRune('s'))
	waitScreen(t, rec, flowWait, "Save the report", "enter save")
	tm.Send(keyEnter)
	waitScreen(t, rec, flowWait, "Report saved:")
	tm.Send(keyRune('q'))
	fm := tm.FinalModel(t, teatest.WithFinalTimeout(flowWait)).(*recorder).m

	if got := fm.ExitCode(); got != steps.ExitOK {
		t.Errorf("exit code = %d, want %d", got, steps.ExitOK)
	}
	rep := fm.Report()
	if rep == nil {
		t.Fatal("Report() = nil after Results")
	}
	if len(rep.Directions) != 2 {
		t.Fatalf("report has %d directions, want 2", len(rep.Directions))
	}
	for _, d := range rep.Directions {
		if d.Status != steps.StatusPassed {
			t.Errorf("%s: status %s (%s)", d.Direction, d.Status, d.Reason)
		}
	}
	if len(rep.Cleanup) == 0 || !(&steps.Results{Cleanup: rep.Cleanup}).CleanupOK() {
		t.Errorf("cleanup = %+v", rep.Cleanup)
	}
	for _, ext := range []string{".md", ".json"} {
		fi, err := os.Stat(filepath.Join(dir, "milink-report-"+rep.RunID+ext))
		if err != nil {
			t.Fatalf("saved report: %v", err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode = %v, want 0600", fi.Name(), fi.Mode().Perm())
		}
	}
	if sql, mi := fm.sess.Connected(); sql || mi {
		t.Error("connections not closed on exit")
	}
	assertNoLeftovers(t, p)
}

// startFlow starts a simulated pair for scenario and drives the wizard to Results at
// 80×24.
func startFlow(t *testing.T, scenario string, setup ...func(*Model)) (*simPair, *Model, *recorder, *teatest.TestModel) {
	t.Helper()
	p := startPair(t, scenario, 10*time.Millisecond)
	m := NewModel(t.Context(), Options{Config: p.config(), ReportDir: t.TempDir()})
	for _, f := range setup {
		f(m)
	}
	rec := newRecorder(m)
	tm := teatest.NewTestModel(t, rec, teatest.WithInitialTermSize(80, 24))
	driveToResults(t, tm, rec)
	return p, m, rec, tm
}

func TestFlowBlocked5022(t *testing.T) {
	p, _, rec, tm := startFlow(t, "blocked-5022")

	waitScreen(t, rec, flowWait, "Result: a connectivity check failed or could not run (exit code 3)", "timeout")
	screen := rec.screen()
	tm.Send(pgdown) // the probe details are below the five SQL Server → MI rows
	waitScreen(t, rec, flowWait, "FAIL  SQL Server → MI")
	screen += rec.screen()
	if os.Getenv("MILINK_UI_DUMP") != "" {
		t.Logf("--- results ---\n%s", screen)
	}
	for _, want := range []string{"✗ failed SQL Server → managed instance", "✓ passed managed instance → SQL Server", "FAIL  SQL Server → MI"} {
		if !strings.Contains(screen, want) {
			t.Errorf("results screen lacks %q:\n%s", want, screen)
		}
	}
	tm.Send(keyRune('q'))
	fm := tm.FinalModel(t, teatest.WithFinalTimeout(flowWait)).(*recorder).m
	if got := fm.ExitCode(); got != steps.ExitConnectivity {
		t.Errorf("exit code = %d, want %d", got, steps.ExitConnectivity)
	}
	rep := fm.Report()
	if rep == nil || rep.ExitCode != steps.ExitConnectivity {
		t.Fatalf("report = %+v", rep)
	}
	var timeout bool
	for _, d := range rep.Directions {
		for _, pr := range d.Probes {
			if d.Direction == steps.SQLToMI && pr.Port == 5022 && pr.Verdict == "timeout" {
				timeout = true
			}
		}
	}
	if !timeout {
		t.Errorf("no 5022 timeout in the report: %+v", rep.Directions)
	}
	assertNoLeftovers(t, p)
}

// TestFlowCtrlCDuringResults interrupts a run whose Agent jobs take long: the quit is
// confirmed, milink shows that it cleans up, waits for the cleanup and exits with 130,
// and nothing is left on either instance.
func TestFlowCtrlCDuringResults(t *testing.T) {
	p := startPair(t, "pass", 2*time.Second)
	m := NewModel(t.Context(), Options{Config: p.config(), ReportDir: t.TempDir()})
	rec := newRecorder(m)
	tm := teatest.NewTestModel(t, rec, teatest.WithInitialTermSize(80, 24))
	driveToResults(t, tm, rec)

	waitScreen(t, rec, flowWait, "Testing the network in both directions", "waiting for job")
	if os.Getenv("MILINK_UI_DUMP") != "" {
		t.Logf("--- running ---\n%s", rec.screen())
	}
	tm.Send(keyCtrlC)
	waitScreen(t, rec, flowWait, "Quit? Test objects will be cleaned up. y/n")
	tm.Send(keyRune('y'))
	fm := tm.FinalModel(t, teatest.WithFinalTimeout(flowWait)).(*recorder).m
	// The frame drawn right after "y" (before the runner returned) says it cleans up.
	if !rec.sawFrame("Testing the network in both directions", "Cleaning up…") {
		t.Error("no frame showed \"Cleaning up…\" while the test was being stopped")
	}
	if got := fm.ExitCode(); got != steps.ExitInterrupted {
		t.Errorf("exit code = %d, want 130", got)
	}
	rep := fm.Report()
	if rep == nil || rep.ExitCode != steps.ExitInterrupted {
		t.Fatalf("report = %+v", rep)
	}
	if len(rep.Cleanup) == 0 {
		t.Error("the report shows no cleanup")
	}
	assertNoLeftovers(t, p)
}

// TestFlowContextCanceledDuringResults: the caller cancels the context (SIGTERM/SIGHUP
// in main) while the test runs: the wizard stops the test, waits for the cleanup and
// closes with 130.
func TestFlowContextCanceledDuringResults(t *testing.T) {
	p := startPair(t, "pass", 2*time.Second)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	m := NewModel(ctx, Options{Config: p.config(), ReportDir: t.TempDir()})
	rec := newRecorder(m)
	tm := teatest.NewTestModel(t, rec, teatest.WithInitialTermSize(80, 24))
	driveToResults(t, tm, rec)
	waitScreen(t, rec, flowWait, "Testing the network in both directions", "waiting for job")
	cancel()
	fm := tm.FinalModel(t, teatest.WithFinalTimeout(flowWait)).(*recorder).m
	if fm.ExitCode() != steps.ExitInterrupted || fm.Report() == nil || fm.Report().ExitCode != steps.ExitInterrupted {
		t.Fatalf("exit code %d, report %+v", fm.ExitCode(), fm.Report())
	}
	if !rec.sawFrame("Cleaning up…") {
		t.Error("no frame showed that milink cleans up")
	}
	assertNoLeftovers(t, p)
}

// TestKilledProgramStillCleansUp: when the program ends while the test runs (killed,
// or Bubble Tea's own signal handler), Run's afterExit cancels the test and waits for
// its cleanup.
func TestKilledProgramStillCleansUp(t *testing.T) {
	p := startPair(t, "pass", 2*time.Second)
	m := NewModel(t.Context(), Options{Config: p.config(), ReportDir: t.TempDir()})
	rec := newRecorder(m)
	prog := tea.NewProgram(rec, tea.WithInput(nil), tea.WithOutput(io.Discard), tea.WithWindowSize(80, 24), tea.WithoutSignals())
	ended := make(chan error, 1)
	go func() { _, err := prog.Run(); ended <- err }()
	driveToResults(t, prog, rec)
	waitScreen(t, rec, flowWait, "Testing the network in both directions", "waiting for job")
	prog.Kill()
	select {
	case err := <-ended:
		if !errors.Is(err, tea.ErrProgramKilled) {
			t.Fatalf("Run after Kill: %v", err)
		}
	case <-time.After(flowWait):
		t.Fatal("the program did not end after Kill")
	}
	var out bytes.Buffer
	m.afterExit(&out)
	if !strings.Contains(out.String(), "cleaning up") {
		t.Errorf("no cleanup notice: %q", out.String())
	}
	if m.ExitCode() != steps.ExitInterrupted || m.Report() == nil || len(m.Report().Cleanup) == 0 {
		t.Fatalf("exit code %d, report %+v", m.ExitCode(), m.Report())
	}
	if sql, mi := m.sess.Connected(); sql || mi {
		t.Error("connections left open")
	}
	assertNoLeftovers(t, p)
}

// TestFlowRetestAfterFix is the DBA's loop over SSH: the first run finds 5022 filtered;
// the network admin opens it; 't' on Results runs the test again on the same
// connections (no password asked, a new run id) and it passes; 'r' goes back to
// Prerequisites and checks them again on the open connection.
func TestFlowRetestAfterFix(t *testing.T) {
	p, m, rec, tm := startFlow(t, "blocked-5022")
	waitScreen(t, rec, flowWait, "Result:", "exit code 3", "t re-test")
	firstRun := m.Report().RunID
	assertNoLeftovers(t, p)

	p.Network.ClearRules() // the firewall rule is fixed
	tm.Send(keyRune('t'))
	waitScreen(t, rec, flowWait, "Result: all checks passed (exit code 0)")
	if got := m.Report().RunID; got == firstRun {
		t.Errorf("the re-test kept run id %s", got)
	}
	if strings.Contains(rec.screen(), "Password") {
		t.Error("the re-test asked for a password")
	}
	assertNoLeftovers(t, p)

	tm.Send(keyRune('r'))
	waitScreen(t, rec, flowWait, "Connected:", "Prerequisites:", "enter next")
	if m.page != pagePrereq {
		t.Fatalf("page %v after r, want Prerequisites", m.page)
	}
	if sql, _ := m.sess.Connected(); !sql {
		t.Error("re-checking dropped the SQL Server connection")
	}
	tm.Send(keyCtrlC)
	tm.Send(keyRune('y'))
	fm := tm.FinalModel(t, teatest.WithFinalTimeout(flowWait)).(*recorder).m
	if fm.ExitCode() != steps.ExitInterrupted {
		t.Errorf("exit code %d after quitting, want %d", fm.ExitCode(), steps.ExitInterrupted)
	}
}
