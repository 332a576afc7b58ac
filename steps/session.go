package steps

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/milink/milink/sqlops"
)

// Step is one step of the flow, in the order of SSMS's Network Checker pages
// (Introduction, Prerequisites, Login, Specify Network Options, Summary, Results).
type Step int

// The steps, in order.
const (
	StepIntroduction Step = iota
	StepPrerequisites
	StepLogin
	StepNetwork
	StepSummary
	StepResults
)

var stepNames = [...]string{"Introduction", "Prerequisites", "Login", "Network Options", "Summary", "Results"}

// String is the step's page title.
func (s Step) String() string {
	if s < StepIntroduction || s > StepResults {
		return fmt.Sprintf("Step(%d)", int(s))
	}
	return stepNames[s]
}

// Steps returns every step in order.
func Steps() []Step {
	return []Step{StepIntroduction, StepPrerequisites, StepLogin, StepNetwork, StepSummary, StepResults}
}

// Errors of the session's step methods.
var (
	// ErrSuperseded: a later attempt at the same step replaced this one while it ran;
	// its outcome was discarded (and its connection closed).
	ErrSuperseded = errors.New("superseded by a later attempt at the same step")
	// ErrBusy: the network test is running; the session cannot go back or re-run a
	// step until it has finished (and cleaned up).
	ErrBusy = errors.New("the network test is running")
)

// StepOrderError says that a step was started before a step it needs.
type StepOrderError struct {
	Step, Needs Step
}

func (e *StepOrderError) Error() string {
	return fmt.Sprintf("%s needs %s first", e.Step, e.Needs)
}

// SessionOptions are what a front-end plugs into a session.
type SessionOptions struct {
	// Prober runs the SQL Server → managed instance probes "from this machine"
	// (ProbeLocal); nil: real TCP connects (NetProber).
	Prober Prober
}

// Session is the one flow of milink, driven by every front-end (the wizard, the
// accessible prompts and milink check): it owns the step order, the state carried
// from step to step (connections, prerequisites, the managed instance, the network
// options, the plan, the results) and what "back", "re-run" and "cancel" mean.
//
// Each step method blocks (front-ends call it off their event loop) and is safe to
// call from several goroutines: a second attempt at a step supersedes the first, and
// re-doing a step discards the outcomes of the steps after it that depended on it.
// Close releases the connections.
type Session struct {
	opts SessionOptions

	mu       sync.Mutex
	cfg      Config
	step     Step   // the furthest step whose outcome is current
	attempts [6]int // attempt counters per step (supersede stale attempts)
	sqlConn  *sqlops.Conn
	miConn   *sqlops.Conn
	pre      *Prerequisites
	mi       *ManagedInstance
	azure    *AzureInfo
	plan     *Plan
	results  *Results
	fatal    error
	fatalRC  int
	running  context.CancelFunc
	runStart time.Time
	runTime  time.Duration
	ranRunID string // the run id of the last test run: the next one needs a new one
	closers  []func() error
	// changes and prereqChanges are what the preparation did (prepare_apply.go).
	changes       []ChangeRecord
	prereqChanges []FindingChange
}

// NewSession starts a session for cfg (defaults filled in; not yet validated: see
// Validate).
func NewSession(cfg Config, o SessionOptions) *Session {
	cfg.Defaults()
	return &Session{opts: o, cfg: cfg}
}

// Config returns the session's configuration as the latest steps left it (the
// connection settings that connected, the network options of the plan).
func (s *Session) Config() Config {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg
}

// Step returns the furthest step whose outcome is current.
func (s *Session) Step() Step {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.step
}

// Validate checks the whole configuration before anything is contacted.
func (s *Session) Validate() error {
	s.mu.Lock()
	cfg := s.cfg
	s.mu.Unlock()
	return cfg.Validate()
}

// Introduction is the first step: what the test creates and removes.
func (s *Session) Introduction() Introduction { return NewIntroduction() }

// begin starts an attempt at step: it supersedes running attempts at the same step.
func (s *Session) begin(step Step) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.attempts[step]++
	return s.attempts[step]
}

// current is the attempt a follow-up call (a check on a fresh connection) belongs to.
func (s *Session) current(step Step) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attempts[step]
}

// reached records that step's outcome is current and drops the plan and results,
// which were built on an older outcome. Called with s.mu held.
func (s *Session) reached(step Step) {
	s.step = step
	if step < StepSummary {
		s.plan = nil
	}
	if step < StepResults {
		s.results, s.runTime = nil, 0
	}
}

// ConnectSQLServer is the Prerequisites step's connection: it opens a connection to
// SQL Server with cc and keeps it (closing the previous one). Errors wrap
// sqlops.ErrAuth, ErrConnect, ErrTLS or ErrInvalidInput.
func (s *Session) ConnectSQLServer(ctx context.Context, cc sqlops.ConnConfig) error {
	return s.connect(ctx, StepPrerequisites, cc, func(c *sqlops.Conn) *sqlops.Conn {
		old := s.sqlConn
		s.sqlConn, s.cfg.SQLServer, s.pre = c, c.Cfg, nil // c.Cfg: with the port SQL Browser gave
		s.reached(StepIntroduction)
		return old
	})
}

// connect opens a connection for step's attempt and, unless a later attempt
// superseded it, lets keep store it (with s.mu held; keep returns the connection it
// replaced, closed here).
func (s *Session) connect(ctx context.Context, step Step, cc sqlops.ConnConfig, keep func(*sqlops.Conn) *sqlops.Conn) error {
	if err := s.idle(); err != nil {
		return err
	}
	att := s.begin(step)
	c, err := sqlops.Open(ctx, cc)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.attempts[step] != att || ctx.Err() != nil {
		_ = c.Close()
		return ErrSuperseded
	}
	if old := keep(c); old != nil {
		go old.Close()
	}
	return nil
}

// CheckPrerequisites is the Prerequisites step: it checks SQL Server's link
// prerequisites on the open connection (ConnectSQLServer first).
func (s *Session) CheckPrerequisites(ctx context.Context) (*Prerequisites, error) {
	att := s.current(StepPrerequisites)
	s.mu.Lock()
	c, dbs := s.sqlConn, s.cfg.Databases
	s.mu.Unlock()
	if c == nil {
		return nil, &StepOrderError{Step: StepPrerequisites, Needs: StepPrerequisites}
	}
	pre, err := checkPrerequisites(ctx, c, dbs)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.attempts[StepPrerequisites] != att {
		return nil, ErrSuperseded
	}
	s.pre = pre
	s.reached(StepPrerequisites) // the plan and results depended on the old outcome
	if s.mi != nil {
		s.step = StepLogin
	}
	return pre, nil
}

// ConnectMI is the Login step's connection: it opens a connection to the managed
// instance with cc (a SQL login, or cc.Token for Entra ID: see ConnectMIEntra) and
// keeps it (closing the previous one).
func (s *Session) ConnectMI(ctx context.Context, cc sqlops.ConnConfig) error {
	return s.connect(ctx, StepLogin, cc, func(c *sqlops.Conn) *sqlops.Conn {
		old := s.miConn
		s.miConn, s.cfg.MI, s.mi, s.azure = c, c.Cfg, nil, nil
		if s.step > StepPrerequisites {
			s.reached(StepPrerequisites)
		}
		return old
	})
}

// DiscoverMI is the Login step: it reads the managed instance's identity and current
// HADR parameters on the open connection (ConnectMI first).
func (s *Session) DiscoverMI(ctx context.Context) (*ManagedInstance, error) {
	att := s.current(StepLogin)
	s.mu.Lock()
	c := s.miConn
	s.mu.Unlock()
	if c == nil {
		return nil, &StepOrderError{Step: StepLogin, Needs: StepLogin}
	}
	mi, err := discoverMI(ctx, c)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.attempts[StepLogin] != att {
		return nil, ErrSuperseded
	}
	s.mi = mi
	if s.pre != nil {
		s.reached(StepLogin)
	}
	return mi, nil
}

// NetworkDefaults is the Network Options step's starting point (see
// DefaultNetworkOptions) for the session's prerequisites and managed instance.
func (s *Session) NetworkDefaults() (NetworkOptions, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pre == nil {
		return NetworkOptions{}, &StepOrderError{Step: StepNetwork, Needs: StepPrerequisites}
	}
	if s.mi == nil {
		return NetworkOptions{}, &StepOrderError{Step: StepNetwork, Needs: StepLogin}
	}
	return DefaultNetworkOptions(s.cfg, s.pre, s.mi), nil
}

// DefaultNetworkOptions are the Network Options a run starts from: the managed
// instance's discovered parameters, the SQL Server address (cfg's, else the one SQL
// Server reported as local_net_address) and cfg's endpoint port, probe timeout and
// prober choice. pre and mi may be nil (their parts stay empty).
func DefaultNetworkOptions(cfg Config, pre *Prerequisites, mi *ManagedInstance) NetworkOptions {
	o := NetworkOptions{SQLServerIP: cfg.SQLServerIP, EndpointPort: cfg.EndpointPort,
		ProbeTimeout: cfg.ProbeTimeout, ProbeFrom: cfg.ProbeFrom, SSHHost: cfg.SSH.Host}
	if mi != nil {
		o.MI = mi.Params
	}
	if o.SQLServerIP == "" && pre != nil {
		o.SQLServerIP = pre.LocalIP
	}
	return o
}

// CheckAzure runs the Azure checks (checker: cloud, allowlist, permissions, NSG rules)
// for the discovered managed instance and the SQL Server address in opts, and keeps
// their outcome for the report. It never fails: problems are findings.
func (s *Session) CheckAzure(ctx context.Context, checker AzureChecker, opts NetworkOptions) (AzureInfo, error) {
	s.mu.Lock()
	mi := s.mi
	s.mu.Unlock()
	if mi == nil {
		return AzureInfo{}, &StepOrderError{Step: StepNetwork, Needs: StepLogin}
	}
	info := checker(ctx, mi.Params.FQDN, opts.SQLServerIP)
	s.SetAzure(info)
	return info, nil
}

// SetAzure records the outcome of Azure checks that ran elsewhere (or late: after the
// test started); the next Report includes it.
func (s *Session) SetAzure(info AzureInfo) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.azure = &info
}

// BuildPlan is the Summary step: with the Network Options step's choices it decides
// object names, reuse of an existing endpoint and which directions can run. It only
// reads from the instances.
func (s *Session) BuildPlan(ctx context.Context, opts NetworkOptions) (*Plan, error) {
	if err := s.idle(); err != nil {
		return nil, err
	}
	att := s.begin(StepSummary)
	s.mu.Lock()
	s.freshRunID()
	sqlc, mic, pre, mi, runID := s.sqlConn, s.miConn, s.pre, s.mi, s.cfg.RunID
	s.mu.Unlock()
	switch {
	case pre == nil || sqlc == nil:
		return nil, &StepOrderError{Step: StepSummary, Needs: StepPrerequisites}
	case mi == nil || mic == nil:
		return nil, &StepOrderError{Step: StepSummary, Needs: StepLogin}
	}
	plan, err := buildPlan(ctx, sqlc, mic, pre, mi, opts, runID)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.attempts[StepSummary] != att {
		return nil, ErrSuperseded
	}
	s.plan = plan
	s.cfg.SQLServerIP, s.cfg.ProbeTimeout = opts.SQLServerIP, opts.ProbeTimeout
	s.cfg.EndpointPort, s.cfg.ProbeFrom = opts.EndpointPort, opts.ProbeFrom
	s.reached(StepSummary)
	return plan, nil
}

// NextRunID returns the run id of the next test run (Run after BuildPlan, or
// RerunNetwork): the current one until a run used it, then a new one. Every run gets
// its own id, so two reports never share one (saving both to one folder).
func (s *Session) NextRunID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.freshRunID()
	return s.cfg.RunID
}

// freshRunID gives the session a new run id when the current one was used by a run.
// Called with s.mu held.
func (s *Session) freshRunID() {
	if s.ranRunID != "" && s.cfg.RunID == s.ranRunID {
		s.cfg.RunID = sqlops.NewRunID()
	}
}

// Plan returns the current plan, or nil.
func (s *Session) Plan() *Plan {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.plan
}

// Run is the Results step: it executes the plan (both directions at once), always
// cleans up, and returns the final report. Cancel (or ctx) stops the test; cleanup
// still runs. sink receives progress events (nil: none).
func (s *Session) Run(ctx context.Context, sink Sink) *Report {
	s.mu.Lock()
	if s.running != nil {
		s.mu.Unlock()
		return s.reportWith(ExitError, ErrBusy)
	}
	plan, sqlc, mic, cfg := s.plan, s.sqlConn, s.miConn, s.cfg
	if plan == nil {
		s.mu.Unlock()
		return s.reportWith(ExitError, &StepOrderError{Step: StepResults, Needs: StepSummary})
	}
	runCtx, cancel := context.WithCancel(ctx)
	s.running = cancel
	s.results, s.runStart, s.runTime = nil, time.Now(), 0
	s.ranRunID = plan.RunID
	prober := s.opts.Prober
	if prober == nil && plan.SQLToMIMode == ProbeSSH {
		sp := cfg.SSH.Prober(cfg.SQLServer.Host)
		s.closers = append(s.closers, sp.Close)
		prober = sp
	}
	s.mu.Unlock()

	r := &runner{SQL: sqlc, MI: mic, Plan: plan, Sink: sink, JobTimeout: cfg.JobTimeout, Poll: cfg.Poll, Prober: prober}
	res := r.Execute(runCtx)

	s.mu.Lock()
	cancel()
	s.running = nil
	s.results, s.runTime = res, time.Since(s.runStart)
	s.step = StepResults
	s.mu.Unlock()
	return s.Report()
}

// Running reports whether the network test is running.
func (s *Session) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.running != nil
}

// Cancel stops a running network test; Run returns once cleanup has finished.
func (s *Session) Cancel() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running != nil {
		s.running()
	}
}

// RerunNetwork re-runs the network test from the Results page with the same network
// options, under a new run id (NextRunID's, when it was asked for), on the open
// connections (no new sign-in): it checks SQL Server's prerequisites again (a master
// key, Agent or 'Agent XPs' fixed since the last run lets a direction run that could
// not), rebuilds the plan (names, reuse, leftovers) and runs it.
func (s *Session) RerunNetwork(ctx context.Context, sink Sink) *Report {
	s.mu.Lock()
	if s.plan == nil {
		s.mu.Unlock()
		return s.reportWith(ExitError, &StepOrderError{Step: StepResults, Needs: StepSummary})
	}
	opts := s.plan.Options
	s.mu.Unlock()
	if _, err := s.CheckPrerequisites(ctx); err != nil {
		return s.reportWith(ExitError, fmt.Errorf("check the prerequisites again: %w", err))
	}
	if _, err := s.BuildPlan(ctx, opts); err != nil {
		return s.reportWith(planExit(err), err)
	}
	return s.Run(ctx, sink)
}

// ManualDirection is the direction whose probes wait for a command run by hand on the
// SQL Server host (DirectionResult.ManualCommand), or "".
func (s *Session) ManualDirection() Direction {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.results == nil {
		return ""
	}
	for _, d := range s.results.Directions {
		if d.WaitsForPaste() {
			return d.Direction
		}
	}
	return ""
}

// ApplyPastedProbes reads the pasted output of the manual probe command (run by hand
// on the SQL Server host) into the results and returns the updated report. An
// unreadable paste changes nothing.
func (s *Session) ApplyPastedProbes(text string) (*Report, error) {
	dir := s.ManualDirection()
	s.mu.Lock()
	if dir == "" || s.plan == nil {
		s.mu.Unlock()
		return nil, errors.New("no direction waits for a command run by hand")
	}
	opts := s.plan.Options
	probes, err := ParsePastedProbeResults(text, opts.SQLToMITargets())
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	applyPastedProbes(s.results.Directions, dir, probes, opts)
	s.mu.Unlock()
	return s.Report(), nil
}

// Back goes back one step and returns the step now current. Outcomes are kept (a
// front-end shows them again); the steps after it are re-done when the user goes
// forward. It fails with ErrBusy while the network test runs.
func (s *Session) Back() (Step, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running != nil {
		return s.step, ErrBusy
	}
	if s.step > StepIntroduction {
		s.step--
	}
	return s.step, nil
}

func (s *Session) idle() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running != nil {
		return ErrBusy
	}
	return nil
}

// Fail records an error that stopped the flow before Results (exit code code); the
// report says so.
func (s *Session) Fail(code int, err error) *Report {
	return s.reportWith(code, err)
}

func (s *Session) reportWith(code int, err error) *Report {
	s.mu.Lock()
	s.fatal, s.fatalRC = err, code
	s.mu.Unlock()
	return s.Report()
}

// Report builds the report from every step's outcome so far (a new value on each
// call; front-ends may keep and read it freely).
func (s *Session) Report() *Report {
	s.mu.Lock()
	defer s.mu.Unlock()
	rep := NewReport(s.cfg)
	if s.pre != nil {
		// The directions and In-Memory OLTP verdicts depend on the managed instance
		// (update policy, service tier): judged again with what is known of it now.
		pre := *s.pre
		pre.Findings = miFit(s.pre, s.mi, s.azure)
		rep.SetPrerequisites(&pre)
	}
	if s.mi != nil {
		rep.SetManagedInstance(s.mi)
	}
	if s.azure != nil {
		rep.SetAzure(*s.azure)
	}
	if s.plan != nil {
		rep.SetPlan(s.plan)
	}
	if s.results != nil || s.running != nil {
		rep.StartedAt = s.runStart.UTC() // when the test started, not when the report was built
	}
	if s.results != nil {
		rep.SetResults(s.results)
		rep.Duration = s.runTime
	}
	rep.Changes, rep.PrerequisiteChanges = slices.Clone(s.changes), slices.Clone(s.prereqChanges)
	if s.fatal != nil {
		rep.Fatal(s.fatalRC, s.fatal)
	}
	return rep
}

// Connected reports which connections the session holds open.
func (s *Session) Connected() (sqlServer, mi bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sqlConn != nil, s.miConn != nil
}

// Close closes the connections and the SSH prober. The session can't be used after.
func (s *Session) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for _, c := range []*sqlops.Conn{s.sqlConn, s.miConn} {
		if c != nil {
			errs = append(errs, c.Close())
		}
	}
	for _, f := range s.closers {
		errs = append(errs, f())
	}
	s.sqlConn, s.miConn, s.closers = nil, nil, nil
	return errors.Join(errs...)
}

// RunAll drives every step without a user (milink check): Prerequisites, Login,
// Network Options (the defaults), the Azure checks when configured, Summary and
// Results. sink receives progress. It never returns a nil report.
func (s *Session) RunAll(ctx context.Context, sink Sink) *Report {
	start := time.Now()
	emit := func(format string, a ...any) {
		if sink != nil {
			sink(Event{Time: time.Now(), Kind: EventStep, Message: fmt.Sprintf(format, a...)})
		}
	}
	cfg := s.Config()
	// Before Results nothing is created: a stop there is an interruption (130) that
	// leaves nothing behind, whatever error the canceled step returned.
	fail := func(code int, err error) *Report {
		if ctx.Err() != nil && code != ExitUsage {
			return s.Fail(ExitInterrupted, fmt.Errorf("interrupted before anything was created (%w)", ctx.Err()))
		}
		return s.Fail(code, err)
	}
	if err := cfg.Validate(); err != nil {
		return fail(ExitUsage, err)
	}
	emit("connecting to SQL Server %s", cfg.SQLServer.Address())
	if err := s.ConnectSQLServer(ctx, cfg.SQLServer); err != nil {
		return fail(connectExit(err), err)
	}
	emit("checking prerequisites on SQL Server")
	if _, err := s.CheckPrerequisites(ctx); err != nil {
		return fail(ExitError, err)
	}
	emit("connecting to the managed instance %s", cfg.MI.Address())
	if err := s.ConnectMI(ctx, cfg.MI); err != nil {
		return fail(connectExit(err), err)
	}
	emit("discovering the managed instance's HADR parameters")
	if _, err := s.DiscoverMI(ctx); err != nil {
		return fail(ExitError, err)
	}
	opts, err := s.NetworkDefaults()
	if err != nil {
		return fail(ExitError, err)
	}
	if cfg.Azure != nil {
		emit("checking the managed instance in Azure")
		_, _ = s.CheckAzure(ctx, cfg.Azure, opts)
	}
	plan, err := s.BuildPlan(ctx, opts)
	if err != nil {
		return fail(planExit(err), err)
	}
	for _, a := range plan.Actions {
		emit("plan: %s: %s", a.Server, a.Description)
	}
	rep := s.Run(ctx, sink)
	rep.Duration = time.Since(start)
	return rep
}

func planExit(err error) int {
	if errors.Is(err, sqlops.ErrInvalidInput) {
		return ExitUsage
	}
	return ExitError
}
