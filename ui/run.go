package ui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/term"

	"github.com/milink/milink/steps"
)

// Run runs the wizard (full-screen on Out, or accessible mode) until the user closes
// it, prints the report to ReportOut, and returns the exit code.
//
// Interruptions: in the full-screen wizard Ctrl-C is a key (it asks first). A canceled
// ctx (the caller's SIGTERM/SIGHUP handling) is handled like a confirmed Ctrl-C: a
// running test is stopped, its cleanup runs to the end, then the wizard closes with 130.
// Bubble Tea's own SIGINT/SIGTERM handler ends the program at once; Run then still
// stops a running test and waits for its cleanup before it returns 130.
func Run(ctx context.Context, o Options) (int, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	if o.In == nil {
		o.In = os.Stdin
	}
	if o.Out == nil {
		o.Out = os.Stderr
	}
	if o.ReportOut == nil {
		o.ReportOut = os.Stdout
	}
	if o.Accessible || os.Getenv("TERM") == "dumb" {
		return runAccessible(ctx, o)
	}

	m := NewModel(ctx, o)
	// No tea.WithContext: canceling ctx must not kill the program before cleanup ends.
	// The colour profile is detected from Out and the environment (NO_COLOR, TERM, …).
	opts := []tea.ProgramOption{tea.WithInput(o.In), tea.WithOutput(o.Out)}
	if !isTerminal(o.Out) {
		// No size to query (output redirected, tests): assume the minimum frame, or
		// COLUMNS×LINES.
		opts = append(opts, tea.WithWindowSize(envInt("COLUMNS", minWidth), envInt("LINES", minHeight)))
	}
	p := tea.NewProgram(m, opts...)
	final, err := p.Run()
	if fm, ok := final.(*Model); ok && fm != nil {
		m = fm
	}
	m.afterExit(o.Out)
	if rep := m.Report(); rep != nil {
		if werr := rep.WriteText(o.ReportOut); werr != nil && err == nil {
			err = werr
		}
	}
	if err != nil {
		if errors.Is(err, tea.ErrProgramKilled) || errors.Is(err, tea.ErrInterrupted) {
			return m.ExitCode(), nil
		}
		if m.Report() == nil && m.ExitCode() == steps.ExitInterrupted {
			return steps.ExitError, err
		}
		return m.ExitCode(), err
	}
	return m.ExitCode(), nil
}

func isTerminal(w any) bool {
	f, ok := w.(interface{ Fd() uintptr })
	return ok && term.IsTerminal(f.Fd())
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// afterExit finishes what the program left: a test still running (the program was
// killed) is canceled and waited for, so that its cleanup completes; connections are
// closed.
func (m *Model) afterExit(out io.Writer) {
	if m.run != nil && m.results.running {
		fmt.Fprintln(out, "milink: stopping the test and cleaning up …")
		m.log.Info("program ended while the test was running: cleaning up")
		m.cancelRun()
		<-m.run.done
		m.finishRun(m.run.rep, time.Now())
		m.exitCode = steps.ExitInterrupted
	}
	m.closeAll()
}
