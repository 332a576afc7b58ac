package ui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	tea "charm.land/bubbletea/v2"

	"github.com/milink/milink/steps"
)

// Every database call, file write and wait of the wizard runs inside one of these
// tea.Cmds and comes back as a typed message; Update and View never do I/O.

// sqlConnectedMsg: the session connected to SQL Server (Prerequisites page).
type sqlConnectedMsg struct {
	gen int
	cfg steps.ConnConfig
	err error
}

// prereqDoneMsg: Session.CheckPrerequisites finished.
type prereqDoneMsg struct {
	gen int
	pre *steps.Prerequisites
	err error
}

// miConnectedMsg: the session connected to the managed instance (Login page).
type miConnectedMsg struct {
	gen     int
	cfg     steps.ConnConfig
	err     error
	method  steps.AuthMethod // Entra method ("" = SQL login)
	cred    steps.Credential // the Entra credential used (built or reused), for the Azure checks
	credKey string
}

// azureCheckedMsg: the Azure checks (steps.NewAzureChecker) finished.
type azureCheckedMsg struct {
	gen     int
	info    steps.AzureInfo
	cred    steps.Credential // a Resource Manager credential built for the check, or nil
	credKey string
}

// miDiscoveredMsg: Session.DiscoverMI finished.
type miDiscoveredMsg struct {
	gen int
	mi  *steps.ManagedInstance
	err error
}

// planBuiltMsg: Session.BuildPlan finished.
type planBuiltMsg struct {
	gen  int
	plan *steps.Plan
	err  error
}

// runEventMsg is one progress event of the running test.
type runEventMsg struct{ ev steps.Event }

// runDoneMsg: Session.Run returned (cleanup included) with the final report.
type runDoneMsg struct{ rep *steps.Report }

// reportSavedMsg: the report files were written.
type reportSavedMsg struct {
	paths []string
	note  string // where it went instead, when not where asked
	err   error
}

// ctxDoneMsg: the wizard's context was canceled (SIGTERM/SIGINT from the caller, or quit).
type ctxDoneMsg struct{}

// sqlConnectCmd connects the session to SQL Server.
func sqlConnectCmd(ctx context.Context, sess *steps.Session, cfg steps.ConnConfig, gen int) tea.Cmd {
	return func() tea.Msg {
		return sqlConnectedMsg{gen: gen, cfg: cfg, err: sess.ConnectSQLServer(ctx, cfg)}
	}
}

// miConnectCmd connects the session to the managed instance with a SQL login.
func miConnectCmd(ctx context.Context, sess *steps.Session, cfg steps.ConnConfig, gen int) tea.Cmd {
	return func() tea.Msg {
		return miConnectedMsg{gen: gen, cfg: cfg, err: sess.ConnectMI(ctx, cfg)}
	}
}

// entraLogin is how the managed instance login signs in to Entra ID.
type entraLogin struct {
	method  steps.AuthMethod
	cloud   steps.Cloud
	opts    steps.CredentialOptions
	cred    steps.Credential // reused credential, or nil: built here
	key     string
	newCred credFactory
}

// entraConnectCmd connects the session to the managed instance with an Entra ID
// access token: the credential is built here (or reused) and the sign-in (and a device
// code prompt) happens when the login asks for the token.
func entraConnectCmd(ctx context.Context, sess *steps.Session, cfg steps.ConnConfig, e entraLogin, gen int) tea.Cmd {
	return func() tea.Msg {
		msg := miConnectedMsg{gen: gen, cfg: cfg, method: e.method, credKey: e.key}
		msg.cfg.User, msg.cfg.Password = "", ""
		msg.cred, msg.err = sess.ConnectMIEntra(ctx, cfg, steps.EntraSignIn{Method: e.method, Cloud: e.cloud, Options: e.opts, Credential: e.cred, New: e.newCred})
		return msg
	}
}

// azureCheck is one run of the Azure checks.
type azureCheck struct {
	sess   *steps.Session
	cloud  steps.Cloud
	signIn armSignIn
	ref    *steps.MIRef
	subs   []string
	opts   steps.NetworkOptions
}

// azureCheckCmd runs the Azure checks: the cloud and its allowlist always; with a
// Resource Manager credential the permissions and the NSG. It never fails: problems
// are findings.
func azureCheckCmd(ctx context.Context, a azureCheck, gen int) tea.Cmd {
	return func() tea.Msg {
		msg := azureCheckedMsg{gen: gen}
		cred := a.signIn.cred
		var buildErr error
		if cred == nil && a.signIn.build != nil {
			if cred, buildErr = a.signIn.build(); buildErr == nil {
				msg.cred, msg.credKey = cred, a.signIn.key
			}
		}
		msg.info, _ = a.sess.CheckAzure(ctx, steps.NewAzureChecker(a.cloud, cred, a.ref, a.subs), a.opts)
		if buildErr != nil {
			msg.info.Findings = append(msg.info.Findings, signInFinding(buildErr))
		}
		return msg
	}
}

// waitPromptCmd returns the next device code prompt of any credential the wizard built;
// it is re-armed after every prompt and ends (nil) with the wizard's context.
func waitPromptCmd(ctx context.Context, ch <-chan deviceCodeMsg) tea.Cmd {
	return func() tea.Msg {
		select {
		case d := <-ch:
			return d
		case <-ctx.Done():
			return nil
		}
	}
}

func checkPrereqCmd(ctx context.Context, sess *steps.Session, gen int) tea.Cmd {
	return func() tea.Msg {
		pre, err := sess.CheckPrerequisites(ctx)
		return prereqDoneMsg{gen: gen, pre: pre, err: err}
	}
}

func discoverMICmd(ctx context.Context, sess *steps.Session, gen int) tea.Cmd {
	return func() tea.Msg {
		mi, err := sess.DiscoverMI(ctx)
		return miDiscoveredMsg{gen: gen, mi: mi, err: err}
	}
}

func buildPlanCmd(ctx context.Context, sess *steps.Session, opts steps.NetworkOptions, gen int) tea.Cmd {
	return func() tea.Msg {
		plan, err := sess.BuildPlan(ctx, opts)
		return planBuiltMsg{gen: gen, plan: plan, err: err}
	}
}

// closeCmd closes the session off the event loop.
func closeCmd(sess *steps.Session) tea.Cmd {
	return func() tea.Msg {
		_ = sess.Close()
		return nil
	}
}

func waitCtxCmd(ctx context.Context) tea.Cmd {
	return func() tea.Msg {
		<-ctx.Done()
		return ctxDoneMsg{}
	}
}

// runHandle connects a running test (Session.Run) to the UI: the run's Sink sends
// events into a channel that waitRunCmd reads one message at a time; rep is set before
// done is closed.
type runHandle struct {
	events  chan steps.Event
	done    chan struct{}
	rep     *steps.Report
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

// startRunCmd starts Session.Run (rerun: Session.RerunNetwork) in its own goroutine
// and returns at once.
func startRunCmd(ctx context.Context, sess *steps.Session, rerun bool, h *runHandle) tea.Cmd {
	return func() tea.Msg {
		go func() {
			if rerun {
				h.rep = sess.RerunNetwork(ctx, h.sink)
			} else {
				h.rep = sess.Run(ctx, h.sink)
			}
			close(h.events)
			close(h.done)
		}()
		return nil
	}
}

// waitRunCmd returns the next event, or runDoneMsg once the run has returned. It is
// re-armed after every event.
func waitRunCmd(h *runHandle) tea.Cmd {
	return func() tea.Msg {
		if ev, ok := <-h.events; ok {
			return runEventMsg{ev: ev}
		}
		<-h.done
		return runDoneMsg{rep: h.rep}
	}
}

// saveReportCmd writes the report as Markdown and JSON at target (a directory or a
// file name; "" is def), readable only by the user (0600); see saveReportTo.
func saveReportCmd(rep *steps.Report, target, def string) tea.Cmd {
	return func() tea.Msg {
		paths, note, err := saveReportTo(rep, target, def)
		return reportSavedMsg{paths: paths, note: note, err: err}
	}
}

func saveReport(rep *steps.Report, dir string) ([]string, error) {
	if dir == "" {
		dir = "."
	}
	if rep == nil {
		return nil, errors.New("there is no report yet")
	}
	return saveFiles(rep, filepath.Join(dir, "milink-report-"+rep.RunID))
}

// saveFiles writes base.md and base.json and returns their absolute paths.
func saveFiles(rep *steps.Report, base string) ([]string, error) {
	if rep == nil {
		return nil, errors.New("there is no report yet")
	}
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
