package ui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	tea "charm.land/bubbletea/v2"

	"github.com/milink/milink/sqlops"
	"github.com/milink/milink/steps"
)

// Every database call, file write and wait of the wizard runs inside one of these
// tea.Cmds and comes back as a typed message; Update and View never do I/O.

// sqlConnectedMsg: the Prerequisites page's connection to SQL Server.
type sqlConnectedMsg struct {
	gen  int
	cfg  sqlops.ConnConfig
	conn *sqlops.Conn
	err  error
}

// prereqDoneMsg: steps.CheckPrerequisites finished.
type prereqDoneMsg struct {
	gen int
	pre *steps.Prerequisites
	err error
}

// miConnectedMsg: the Login page's connection to the managed instance.
type miConnectedMsg struct {
	gen  int
	cfg  sqlops.ConnConfig
	conn *sqlops.Conn
	err  error
}

// miDiscoveredMsg: steps.DiscoverMI finished.
type miDiscoveredMsg struct {
	gen int
	mi  *steps.ManagedInstance
	err error
}

// planBuiltMsg: steps.BuildPlan finished.
type planBuiltMsg struct {
	gen  int
	plan *steps.Plan
	err  error
}

// runEventMsg is one progress event of the running test.
type runEventMsg struct{ ev steps.Event }

// runDoneMsg: Runner.Execute returned (cleanup included).
type runDoneMsg struct{ res *steps.Results }

// reportSavedMsg: the report files were written.
type reportSavedMsg struct {
	paths []string
	err   error
}

// ctxDoneMsg: the wizard's context was canceled (SIGTERM/SIGINT from the caller, or quit).
type ctxDoneMsg struct{}

// connectCmd opens a connection; mk wraps the outcome in the page's message. A
// connection that arrives after the wizard was closed is closed at once.
func connectCmd(ctx context.Context, cfg sqlops.ConnConfig, mk func(*sqlops.Conn, error) tea.Msg) tea.Cmd {
	return func() tea.Msg {
		c, err := sqlops.Open(ctx, cfg)
		if err == nil && ctx.Err() != nil {
			c.Close()
			c, err = nil, ctx.Err()
		}
		return mk(c, err)
	}
}

func checkPrereqCmd(ctx context.Context, c *sqlops.Conn, databases []string, gen int) tea.Cmd {
	return func() tea.Msg {
		pre, err := steps.CheckPrerequisites(ctx, c, databases)
		return prereqDoneMsg{gen: gen, pre: pre, err: err}
	}
}

func discoverMICmd(ctx context.Context, c *sqlops.Conn, gen int) tea.Cmd {
	return func() tea.Msg {
		mi, err := steps.DiscoverMI(ctx, c)
		return miDiscoveredMsg{gen: gen, mi: mi, err: err}
	}
}

func buildPlanCmd(ctx context.Context, sqlc, mic *sqlops.Conn, pre *steps.Prerequisites, mi *steps.ManagedInstance, opts steps.NetworkOptions, runID string, gen int) tea.Cmd {
	return func() tea.Msg {
		plan, err := steps.BuildPlan(ctx, sqlc, mic, pre, mi, opts, runID)
		return planBuiltMsg{gen: gen, plan: plan, err: err}
	}
}

// closeCmd closes connections off the event loop.
func closeCmd(conns ...*sqlops.Conn) tea.Cmd {
	var live []*sqlops.Conn
	for _, c := range conns {
		if c != nil {
			live = append(live, c)
		}
	}
	if len(live) == 0 {
		return nil
	}
	return func() tea.Msg {
		for _, c := range live {
			_ = c.Close()
		}
		return nil
	}
}

func waitCtxCmd(ctx context.Context) tea.Cmd {
	return func() tea.Msg {
		<-ctx.Done()
		return ctxDoneMsg{}
	}
}

// runHandle connects a running steps.Runner to the UI: the runner's Sink sends events
// into a channel that waitRunCmd reads one message at a time; res is set before done
// is closed.
type runHandle struct {
	events  chan steps.Event
	done    chan struct{}
	res     *steps.Results
	cancel  context.CancelFunc
	dropped int
}

const eventBuffer = 4096

func newRunHandle() *runHandle {
	return &runHandle{events: make(chan steps.Event, eventBuffer), done: make(chan struct{})}
}

// sink never blocks the runner: events only report progress (the results carry the
// outcome), so an event that does not fit in the buffer is dropped.
func (h *runHandle) sink(ev steps.Event) {
	select {
	case h.events <- ev:
	default:
		h.dropped++ // Runner serializes Sink calls
	}
}

// startRunCmd starts Runner.Execute in its own goroutine and returns at once.
func startRunCmd(ctx context.Context, r *steps.Runner, h *runHandle) tea.Cmd {
	return func() tea.Msg {
		go func() {
			res := r.Execute(ctx)
			h.res = res
			close(h.events)
			close(h.done)
		}()
		return nil
	}
}

// waitRunCmd returns the next event, or runDoneMsg once Execute has returned. It is
// re-armed after every event.
func waitRunCmd(h *runHandle) tea.Cmd {
	return func() tea.Msg {
		if ev, ok := <-h.events; ok {
			return runEventMsg{ev: ev}
		}
		<-h.done
		return runDoneMsg{res: h.res}
	}
}

// saveReportCmd writes the report as Markdown and JSON into dir, readable only by the
// user (0600).
func saveReportCmd(rep *steps.Report, dir string) tea.Cmd {
	return func() tea.Msg {
		paths, err := saveReport(rep, dir)
		return reportSavedMsg{paths: paths, err: err}
	}
}

func saveReport(rep *steps.Report, dir string) ([]string, error) {
	if dir == "" {
		dir = "."
	}
	if rep == nil {
		return nil, errors.New("there is no report yet")
	}
	base := filepath.Join(dir, "milink-report-"+rep.RunID)
	var paths []string
	for _, f := range []struct {
		ext   string
		write func(io.Writer) error
	}{{".md", rep.WriteMarkdown}, {".json", rep.WriteJSON}} {
		p := base + f.ext
		if err := writeFile0600(p, f.write); err != nil {
			return paths, fmt.Errorf("save report: %w", err)
		}
		if abs, err := filepath.Abs(p); err == nil {
			p = abs
		}
		paths = append(paths, p)
	}
	return paths, nil
}

func writeFile0600(path string, write func(io.Writer) error) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
