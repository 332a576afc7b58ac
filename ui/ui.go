// Package ui is milink's terminal wizard: a Bubble Tea v2 state machine over the
// pages Introduction › Prerequisites › Login › Network Options › Summary › Results,
// driving one steps.Session: every step's work runs as a Session call inside a tea.Cmd
// and comes back as a typed message; the pages only ask for input and render. The
// root model owns the frame (header, body, footer) and the session. Accessible mode
// (plain prompts and progress lines) is in accessible.go.
package ui

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/milink/milink/steps"
)

// Options configure the wizard.
type Options struct {
	Config     steps.Config // pre-filled values: hosts, ports, users, passwords (demo pre-fills everything), TLS options, SQLServerIP, ProbeTimeout, JobTimeout
	Accessible bool         // plain line-by-line prompts (huh accessible mode) and plain progress lines instead of the full-screen TUI; also used when TERM=dumb
	In         io.Reader    // keyboard (os.Stdin)
	Out        io.Writer    // where the TUI is drawn: os.Stderr, so stdout stays free for the report
	ReportOut  io.Writer    // after the program exits the final text report is printed here (os.Stdout) so it stays in scrollback
	ReportDir  string       // where "save report" writes milink-report-<runid>.md / .json (0600); default current directory
	Logger     *slog.Logger // never log passwords
	Banner     string       // e.g. "DEMO · simulated instances · scenario default" shown in the header
	Prober     steps.Prober // probes run from this machine (SQL Server on Linux); nil: real TCP connects
	Azure      AzureOptions // cloud, Entra ID sign-in of the managed instance login and of the Azure checks (see AzureOptions)
}

type page int

const (
	pageIntro page = iota
	pagePrereq
	pageLogin
	pageNetwork
	pageSummary
	pageResults
)

var (
	pageNames = []string{"Introduction", "Prerequisites", "Login", "Network Options", "Summary", "Results"}
	pageShort = []string{"Intro", "Prereqs", "Login", "Network", "Summary", "Results"}
)

func (p page) String() string { return pageNames[p] }

// Model is the wizard's root model. It implements tea.Model; the pages are plain
// structs whose view methods return strings.
type Model struct {
	sess      *steps.Session // the flow: every step's work and state; closed on exit
	cancelRun func()         // stops the running test (sess.Cancel; tests observe it)
	ctx       context.Context
	cancel    context.CancelFunc
	opts      Options
	cfg       steps.Config
	log       *slog.Logger
	keys      keyMap
	help      help.Model

	width, height int
	page          page

	intro   introModel
	prereq  prereqModel
	login   loginModel
	network networkModel
	summary summaryModel
	results resultsModel

	run      *runHandle
	report   *steps.Report
	runStart time.Time

	az           azureSetup                                                     // Options.Azure, parsed
	prompts      chan deviceCodeMsg                                             // device code prompts of every credential
	promptFn     func(ctx context.Context, message, userCode, url string) error // the DeviceCodePrompt of every credential
	armCred      steps.Credential                                               // credential built for the Azure checks (AzureAuth differs from the login)
	armKey       string
	azurePending bool // the report waits for the running Azure check

	confirmQuit bool // the "Quit?" prompt is shown
	quitting    bool // quit confirmed while the test runs: waiting for cleanup
	quit        bool // tea.Quit has been returned
	exitCode    int
}

// NewModel returns the root model (used by teatest).
func NewModel(ctx context.Context, o Options) *Model {
	if ctx == nil {
		ctx = context.Background()
	}
	cfg := o.Config
	cfg.Defaults()
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	mctx, cancel := context.WithCancel(ctx)
	az, azErr := parseAzureOptions(o.Azure)
	prompts := make(chan deviceCodeMsg, promptBuffer)
	m := &Model{
		sess: steps.NewSession(cfg, steps.SessionOptions{Prober: o.Prober}),
		ctx:  mctx, cancel: cancel, opts: o, cfg: cfg, log: log,
		keys: newKeyMap(), help: newHelp(),
		intro:    newIntroModel(),
		prereq:   newPrereqModel(cfg),
		network:  newNetworkModel(cfg),
		summary:  newSummaryModel(),
		results:  newResultsModel(o.ReportDir),
		exitCode: steps.ExitInterrupted,
		az:       az, prompts: prompts, promptFn: newPromptFunc(prompts),
	}
	m.cancelRun = m.sess.Cancel
	m.prereq.host, _ = o.Prober.(steps.HostRunner)
	m.login = newLoginModel(cfg, az, m.promptFn)
	if azErr != nil {
		log.Warn("Azure options", "error", azErr.Error())
		m.login.err = azErr
	}
	m.login.form.blur()
	m.network.form.blur()
	return m
}

// ExitCode is the code the program should exit with after the model quit (steps.Exit*
// constants; 130 after Ctrl-C).
func (m *Model) ExitCode() int { return m.exitCode }

// Report returns the final report, or nil if the run never got to Results.
func (m *Model) Report() *steps.Report { return m.report }

// Init implements tea.Model.
func (m *Model) Init() tea.Cmd {
	m.log.Info("wizard ui started", "page", m.page.String(), "run_id", m.cfg.RunID,
		"sql_server", m.cfg.SQLServer.Address(), "managed_instance", m.cfg.MI.Address(), "cloud", m.az.cloud, "mi_auth", authLabel(m.az.miMethod))
	return tea.Batch(waitCtxCmd(m.ctx), waitPromptCmd(m.ctx, m.prompts))
}

// Update implements tea.Model.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if m.quit {
		return m, nil
	}
	cmd := m.update(msg)
	m.layout()
	return m, cmd
}

func (m *Model) update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.help.SetWidth(max(0, msg.Width-2))
		return nil

	case ctxDoneMsg:
		return m.interrupt("canceled")

	case sqlConnectedMsg:
		if msg.gen != m.prereq.gen {
			return nil
		}
		if msg.err != nil {
			m.log.Warn("SQL Server connection failed", "address", msg.cfg.Address(), "user", msg.cfg.User, "error", msg.err.Error())
		} else {
			m.log.Info("connected to SQL Server", "address", msg.cfg.Address(), "user", msg.cfg.User, "encrypt", msg.cfg.Encrypt)
		}
		return m.prereq.connected(m.ctx, m.sess, msg)

	case prereqDoneMsg:
		if msg.gen != m.prereq.gen {
			return nil
		}
		if msg.err != nil {
			m.log.Warn("prerequisite check failed", "error", msg.err.Error())
		} else {
			m.log.Info("prerequisites checked", "findings", len(msg.pre.Findings), "worst", string(steps.Worst(msg.pre.Findings)), "platform", msg.pre.Platform())
		}
		return m.prereq.checked(msg)

	case fixPlannedMsg:
		return m.prereq.fixPlanned(msg)

	case restartAskMsg:
		m.log.Info("restart asked", "instance", msg.instance, "sessions", msg.sessions)
		m.prereq.restartAsked(msg)
		return nil

	case fixAppliedMsg:
		m.prereq.fixApplied(msg)
		if msg.out != nil {
			for _, r := range msg.out.Records {
				m.log.Info("prepare change", "id", r.ID, "status", r.Status, "by", r.By, "statements", strings.Join(r.Statements, " "), "error", r.Error)
			}
		}
		return nil

	case miConnectedMsg:
		if msg.gen != m.login.gen {
			return nil
		}
		if msg.err != nil {
			m.log.Warn("managed instance connection failed", "address", msg.cfg.Address(), "auth", authLabel(msg.method), "user", msg.cfg.User, "error", msg.err.Error())
		} else {
			m.log.Info("connected to the managed instance", "address", msg.cfg.Address(), "auth", authLabel(msg.method), "user", msg.cfg.User, "encrypt", msg.cfg.Encrypt)
		}
		return m.login.connected(m.ctx, m.sess, msg)

	case miDiscoveredMsg:
		if msg.gen != m.login.gen {
			return nil
		}
		if msg.err != nil {
			m.log.Warn("managed instance discovery failed", "error", msg.err.Error())
		} else {
			m.log.Info("managed instance discovered", "fqdn", msg.mi.Params.FQDN, "node", msg.mi.Params.Node, "hadr_port", msg.mi.Params.HadrPort)
		}
		return m.login.discovered(msg)

	case deviceCodeMsg:
		// The code is short-lived and useless without the user's own sign-in; it is
		// not logged all the same.
		m.log.Info("Entra device code sign-in requested", "url", msg.url, "for", msg.tag.purpose.String())
		switch msg.tag.purpose {
		case promptLogin:
			m.login.showDeviceCode(msg)
		case promptAzure:
			m.network.showDeviceCode(msg)
		default:
			m.login.showDeviceCode(msg)
			m.network.showDeviceCode(msg)
		}
		return waitPromptCmd(m.ctx, m.prompts)

	case azureCheckedMsg:
		if msg.cred != nil {
			m.armCred, m.armKey = msg.cred, msg.credKey
		}
		if msg.gen != m.network.azGen {
			return nil
		}
		m.log.Info("Azure checked", "cloud", msg.info.Cloud, "findings", len(msg.info.Findings), "worst", string(steps.Worst(msg.info.Findings)))
		m.network.azureDone(msg.info)
		m.sess.SetAzure(msg.info)
		if m.report != nil && m.azurePending {
			// The report was started before the check ended: it gets the outcome now.
			m.azurePending, m.results.azureWait = false, false
			m.report = m.sess.Report()
			m.results.rep = m.report
			if m.results.finished {
				m.exitCode = m.report.ExitCode
			}
		}
		return nil

	case planBuiltMsg:
		if msg.err != nil {
			m.log.Warn("plan failed", "error", msg.err.Error())
		} else if msg.gen == m.summary.gen {
			m.log.Info("plan built", "actions", len(msg.plan.Actions), "sql_job", msg.plan.SQLJobName, "mi_job", msg.plan.MIJobName)
		}
		m.summary.built(msg)
		return nil

	case runEventMsg:
		m.log.Info("event", "kind", string(msg.ev.Kind), "direction", string(msg.ev.Direction), "message", msg.ev.Message)
		m.results.event(msg.ev)
		return waitRunCmd(m.run)

	case runDoneMsg:
		return m.runDone(msg.rep)

	case watchTickMsg:
		return m.watchTicked(msg)

	case reportSavedMsg:
		if msg.err != nil {
			m.log.Warn("report not saved", "error", msg.err.Error())
		} else {
			m.log.Info("report saved", "paths", strings.Join(msg.paths, ", "))
		}
		m.results.savedReport(msg)
		return nil

	case tea.KeyPressMsg:
		return m.handleKey(msg)
	}
	// Spinner ticks, cursor blinks, pastes: the active page.
	return m.updatePage(msg)
}

func (m *Model) handleKey(km tea.KeyPressMsg) tea.Cmd {
	if m.quitting {
		return nil // cleanup is running; it must finish
	}
	if m.confirmQuit {
		switch {
		case key.Matches(km, m.keys.Yes), key.Matches(km, m.keys.Quit):
			m.confirmQuit = false
			return m.interrupt("ctrl+c")
		case key.Matches(km, m.keys.No):
			m.confirmQuit = false
			m.log.Info("quit canceled", "page", m.page.String())
		}
		return nil
	}
	if key.Matches(km, m.keys.Quit) {
		m.confirmQuit = true
		m.log.Info("quit asked", "page", m.page.String())
		return nil
	}
	if m.tooSmall() {
		return nil
	}
	if m.page == pageResults && m.results.running && m.results.watch.on && key.Matches(km, m.keys.Watch) {
		return m.toggleWatch() // the running round ends as usual
	}
	return m.updatePage(km)
}

// interrupt quits after Ctrl-C (confirmed) or when the context is canceled: a running
// test is canceled and milink waits for its cleanup; otherwise it quits at once.
func (m *Model) interrupt(reason string) tea.Cmd {
	if m.quit || m.quitting {
		return nil
	}
	m.log.Info("quitting", "reason", reason, "page", m.page.String(), "test_running", m.results.running)
	switch {
	case m.results.running:
		m.quitting = true
		m.results.cleaningUp = true
		m.cancelRun()
		return nil // runDoneMsg quits
	case m.results.finished && m.page == pageResults:
		// Nothing was interrupted: the test had finished and cleaned up.
		m.exitCode = m.report.ExitCode
	default:
		m.exitCode = steps.ExitInterrupted
	}
	return m.quitCmd()
}

// quitCmd closes the connections and quits.
func (m *Model) quitCmd() tea.Cmd {
	m.quit = true
	closing := closeCmd(m.sess)
	m.cancel()
	m.log.Info("wizard closed", "exit_code", m.exitCode)
	return tea.Sequence(closing, tea.Quit)
}

func (m *Model) updatePage(msg tea.Msg) tea.Cmd {
	var cmd tea.Cmd
	var n nav
	switch m.page {
	case pageIntro:
		cmd, n = m.intro.update(msg, m.keys)
	case pagePrereq:
		cmd, n = m.prereq.update(m.ctx, m.sess, msg, m.keys)
	case pageLogin:
		cmd, n = m.login.update(m.ctx, m.sess, msg, m.keys)
	case pageNetwork:
		cmd, n = m.network.update(msg, m.keys)
	case pageSummary:
		cmd, n = m.summary.update(msg, m.keys)
	case pageResults:
		c, act := m.results.update(msg, m.keys)
		switch act {
		case resultsSave:
			return saveReportCmd(m.report, m.results.saveTo, m.opts.ReportDir)
		case resultsRerun:
			return m.startRun(true)
		case resultsWatch:
			return m.toggleWatch()
		case resultsRecheck:
			if m.results.watch.on {
				m.toggleWatch()
			}
			m.log.Info("page", "from", m.page.String(), "to", pagePrereq.String(), "recheck", true)
			m.page = pagePrereq
			return m.prereq.recheck(m.ctx, m.sess)
		case resultsPaste:
			rep, err := m.sess.ApplyPastedProbes(m.results.pasted)
			m.results.pasteApplied(rep, err)
			if err == nil {
				m.report, m.exitCode = rep, rep.ExitCode
				m.log.Info("pasted probe output applied", "outcome", rep.Outcome)
			}
			return c
		case resultsClose:
			m.exitCode = m.report.ExitCode
			return m.quitCmd()
		}
		return c
	}
	switch n {
	case navNext:
		return tea.Batch(cmd, m.goTo(m.page+1))
	case navBack:
		if m.page > pageIntro {
			return tea.Batch(cmd, m.goTo(m.page-1))
		}
	}
	return cmd
}

// goTo shows page p and runs what entering it needs.
func (m *Model) goTo(p page) tea.Cmd {
	m.log.Info("page", "from", m.page.String(), "to", p.String())
	m.page = p
	switch p {
	case pagePrereq:
		if !m.prereq.reviewing && m.prereq.busy == "" {
			return m.prereq.form.focusOn(m.prereq.form.focus)
		}
	case pageLogin:
		if !m.login.reviewing && m.login.busy == "" {
			return m.login.form.focusOn(m.login.form.focus)
		}
	case pageNetwork:
		// The outcomes shown on Prerequisites and Login are the session's.
		defaults := steps.DefaultNetworkOptions(m.cfg, m.prereq.pre, m.login.mi)
		m.network.sqlHost = m.prereq.used.Host
		return tea.Batch(m.network.enter(defaults, m.login.form.cloud()), m.startAzureCheck())
	case pageSummary:
		opts, err := m.network.options()
		gen := m.summary.begin()
		if err != nil { // cannot happen: Network refuses Next while invalid
			m.summary.built(planBuiltMsg{gen: gen, err: err})
			return nil
		}
		if opts.ProbeFrom == steps.ProbeSSH {
			ssh, _ := m.network.sshConfig() // valid: options checked it
			m.sess.SetSSH(ssh)
		}
		// The SQL Server address may have changed: the Azure checks run again (in the
		// background) for the NSG rules of the new one.
		return tea.Batch(buildPlanCmd(m.ctx, m.sess, opts, gen), m.startAzureCheck())
	case pageResults:
		return m.startRun(false)
	}
	return nil
}

// startRun starts the network test (Session.Run), or re-runs it from the Results
// page on the same connections (Session.RerunNetwork); the page shows the plan's
// report until the final one arrives.
func (m *Model) startRun(rerun bool) tea.Cmd {
	m.azurePending = false
	if info := m.network.azureResult(); info == nil && m.network.azBusy {
		m.azurePending = true // added when the check ends; the test does not wait for it
	}
	m.report = m.sess.Report()
	plan := m.summary.plan
	h := newRunHandle()
	m.run = h
	m.runStart = time.Now()
	if rerun { // RerunNetwork builds its own plan, under this run id
		m.log.Info("test started", "run_id", m.sess.NextRunID(), "sql_server_ip", plan.Options.SQLServerIP, "rerun", true)
	} else {
		m.log.Info("test started", "run_id", plan.RunID, "sql_job", plan.SQLJobName, "mi_job", plan.MIJobName, "sql_server_ip", plan.Options.SQLServerIP, "rerun", false)
	}
	spin := m.results.start(m.runStart, m.report, m.prereq.pre.Platform())
	m.results.azureWait = m.azurePending
	return tea.Batch(startRunCmd(m.ctx, m.sess, rerun, h), waitRunCmd(h), spin)
}

// startAzureCheck starts the Azure checks (steps.NewAzureChecker, in a Cmd) for the
// discovered managed instance, the current SQL Server address, the cloud chosen on the
// Login page and the Azure sign-in, unless they already ran or run for exactly these
// values, or the address is invalid.
func (m *Model) startAzureCheck() tea.Cmd {
	if m.login.mi == nil {
		return nil
	}
	o, err := m.network.options()
	if err != nil {
		return nil
	}
	cloud := m.login.form.cloud()
	si := m.armSignIn(cloud)
	fqdn := m.login.mi.Params.FQDN
	key := strings.Join([]string{fqdn, o.SQLServerIP, cloud.Name, si.key}, "\x00")
	if key == m.network.azKey {
		return nil
	}
	gen, ctx := m.network.beginAzure(m.ctx, key, si.method)
	m.log.Info("Azure check started", "cloud", cloud.Name, "fqdn", fqdn, "sql_server_ip", o.SQLServerIP, "signed_in", si.method != "")
	a := azureCheck{sess: m.sess, cloud: cloud, signIn: si, ref: m.az.ref, subs: m.az.subs, opts: o}
	return azureCheckCmd(withPromptTag(ctx, promptTag{purpose: promptAzure, gen: gen}), a, gen)
}

// armSignIn decides how the Azure checks sign in to Resource Manager: with the managed
// instance login's Entra credential when AzureAuth is empty (or names the same
// method); with a credential of their own when AzureAuth names another method; not at
// all for "none" or a SQL login (the checker then still checks the cloud and returns
// the allowlist).
func (m *Model) armSignIn(cloud steps.Cloud) armSignIn {
	miMethod, miCred, miKey := m.login.entraUsed()
	switch m.az.armAuth {
	case armNone:
		return armSignIn{}
	case armFollow:
		if miMethod == "" || miCred == nil {
			return armSignIn{}
		}
		return armSignIn{cred: miCred, key: miKey, method: miMethod}
	}
	method, tenant, clientID := m.az.armMethod, m.login.form.tenant(), m.az.clientID
	key := credKey(method, cloud.Name, tenant, clientID)
	switch {
	case miCred != nil && key == miKey:
		return armSignIn{cred: miCred, key: key, method: method}
	case m.armCred != nil && key == m.armKey:
		return armSignIn{cred: m.armCred, key: key, method: method}
	}
	newCred := m.az.newCred
	opts := steps.CredentialOptions{TenantID: tenant, ClientID: clientID, DeviceCodePrompt: m.promptFn}
	return armSignIn{key: key, method: method, build: func() (steps.Credential, error) { return newCred(method, cloud, opts) }}
}

// runDone shows the final report; after a confirmed quit it quits with 130.
func (m *Model) runDone(rep *steps.Report) tea.Cmd {
	if m.report == nil || !m.results.running {
		return nil
	}
	m.finishRun(rep, time.Now())
	if m.quitting {
		m.exitCode = steps.ExitInterrupted
		return m.quitCmd()
	}
	return m.watchDone(time.Now())
}

func (m *Model) finishRun(rep *steps.Report, now time.Time) {
	if rep != nil {
		m.report = rep
	}
	m.exitCode = m.report.ExitCode
	m.results.rep = m.report
	m.results.finish(now)
	m.log.Info("test finished", "outcome", m.report.Outcome, "exit_code", m.report.ExitCode, "dropped_events", m.run.dropped)
}

// closeAll closes the session's connections (after the program ended).
func (m *Model) closeAll() {
	_ = m.sess.Close()
	m.cancel()
}
