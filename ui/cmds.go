package ui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	tea "charm.land/bubbletea/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/milink/milink/azureops"
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
	gen     int
	cfg     sqlops.ConnConfig
	conn    *sqlops.Conn
	err     error
	method  azureops.AuthMethod    // Entra method ("" = SQL login)
	cred    azcore.TokenCredential // the Entra credential used (built or reused), for the Azure checks
	credKey string
}

// azureCheckedMsg: the Azure checks (steps.NewAzureChecker) finished.
type azureCheckedMsg struct {
	gen     int
	info    steps.AzureInfo
	cred    azcore.TokenCredential // a Resource Manager credential built for the check, or nil
	credKey string
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

// entraLogin is how the managed instance login signs in to Entra ID.
type entraLogin struct {
	method  azureops.AuthMethod
	cloud   azureops.Cloud
	opts    azureops.CredentialOptions
	cred    azcore.TokenCredential // reused credential, or nil: built here
	key     string
	newCred credFactory
}

// entraConnectCmd builds the Entra credential (it does not contact Entra yet) and
// connects with an access token for Azure SQL: the sign-in (and a device code prompt)
// happens when the login asks for the token.
func entraConnectCmd(ctx context.Context, cfg sqlops.ConnConfig, e entraLogin, gen int) tea.Cmd {
	return func() tea.Msg {
		msg := miConnectedMsg{gen: gen, cfg: cfg, method: e.method, credKey: e.key}
		cred := e.cred
		if cred == nil {
			var err error
			if cred, err = e.newCred(e.method, e.cloud, e.opts); err != nil {
				msg.err = fmt.Errorf("Entra ID sign-in (%s): %w", methodName(e.method), err)
				return msg
			}
		}
		msg.cred = cred
		msg.cfg.User, msg.cfg.Password = "", ""
		msg.cfg.Token = azureops.SQLTokenProvider(cred, e.cloud)
		c, err := sqlops.Open(ctx, msg.cfg)
		if err == nil && ctx.Err() != nil {
			c.Close()
			c, err = nil, ctx.Err()
		}
		msg.conn, msg.err = c, err
		return msg
	}
}

// azureCheck is one run of the Azure checks.
type azureCheck struct {
	cloud    azureops.Cloud
	signIn   armSignIn
	ref      *azureops.MIRef
	subs     []string
	fqdn, ip string
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
		msg.info = steps.NewAzureChecker(a.cloud, cred, a.ref, a.subs)(ctx, a.fqdn, a.ip)
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
