package steps

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/milink/milink/sqlops"
)

// Direction statuses.
const (
	StatusPassed = "passed"
	StatusFailed = "failed"  // a probe could not connect
	StatusNotRun = "not run" // the direction could not be tested
	StatusError  = "error"   // milink could not complete the test
)

// ProbeResult is the outcome of one TCP probe.
type ProbeResult struct {
	Direction     Direction           `json:"direction"`
	Step          string              `json:"step"`
	Host          string              `json:"host"`
	Port          int                 `json:"port"`
	Verdict       sqlops.ProbeVerdict `json:"verdict"`
	Succeeded     bool                `json:"succeeded"`
	RemoteAddress string              `json:"remote_address,omitempty"`
	Detail        string              `json:"detail,omitempty"`
	Duration      time.Duration       `json:"duration"`
	Explanation   string              `json:"explanation,omitempty"`
	Fixes         []Fix               `json:"fixes,omitempty"`
	Output        string              `json:"output,omitempty"`
}

// DirectionResult is the outcome of one direction.
type DirectionResult struct {
	Direction     Direction     `json:"direction"`
	Status        string        `json:"status"`
	Reason        string        `json:"reason,omitempty"`
	Job           string        `json:"job,omitempty"`
	Method        string        `json:"method,omitempty"` // how the probes ran
	Probes        []ProbeResult `json:"probes,omitempty"`
	Elapsed       time.Duration `json:"elapsed"`
	ManualCommand string        `json:"manual_command,omitempty"`
}

// CleanupItem is one object cleanup dealt with.
type CleanupItem struct {
	Server  string `json:"server"`
	Kind    string `json:"kind"`
	Name    string `json:"name"`
	Removed bool   `json:"removed"`
	Note    string `json:"note,omitempty"`
	Error   string `json:"error,omitempty"`
}

// Results is the Results step's outcome.
type Results struct {
	Directions  []DirectionResult `json:"directions"`
	Cleanup     []CleanupItem     `json:"cleanup"`
	Interrupted bool              `json:"interrupted,omitempty"`
}

// CleanupOK reports whether cleanup left nothing behind.
func (r *Results) CleanupOK() bool {
	for _, c := range r.Cleanup {
		if c.Error != "" {
			return false
		}
	}
	return true
}

// created records objects this run created (or may have created: registration
// happens before the create is sent, so a lost reply still gets cleaned up).
type created struct {
	mu    sync.Mutex
	items []createdItem
}

type createdItem struct {
	server string
	kind   string // job, endpoint, certificate
	name   string
	job    *sqlops.Job
}

func (c *created) add(it createdItem) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.items = append(c.items, it)
}

func (c *created) setJob(name string, j *sqlops.Job) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range c.items {
		if c.items[i].kind == "job" && c.items[i].name == name {
			c.items[i].job = j
		}
	}
}

// Runner executes a plan. Sink may be nil.
type Runner struct {
	SQL, MI        *sqlops.Conn
	Plan           *Plan
	Prober         Prober // probes from this machine (ProbeLocal); default NetProber
	Sink           Sink
	JobTimeout     time.Duration
	Poll           sqlops.PollPolicy
	CleanupTimeout time.Duration // default 60s
	mu             sync.Mutex
}

func (r *Runner) emit(d Direction, k EventKind, format string, a ...any) {
	if r.Sink == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Sink(Event{Time: time.Now(), Direction: d, Kind: k, Message: fmt.Sprintf(format, a...)})
}

// Execute runs both directions concurrently, then always cleans up, with its own
// context, whether the test passed, failed or ctx was canceled.
func (r *Runner) Execute(ctx context.Context) *Results {
	if r.JobTimeout <= 0 {
		r.JobTimeout = 2 * time.Minute
	}
	if r.CleanupTimeout <= 0 {
		r.CleanupTimeout = time.Minute
	}
	res := &Results{}
	reg := &created{}
	cleanupCtx := context.WithoutCancel(ctx)
	defer func() {
		cctx, cancel := context.WithTimeout(cleanupCtx, r.CleanupTimeout)
		defer cancel()
		res.Cleanup = append(res.Cleanup, r.cleanup(cctx, reg)...)
		res.Interrupted = ctx.Err() != nil
	}()

	r.removeLeftovers(ctx, res)

	var wg sync.WaitGroup
	out := make([]DirectionResult, 2)
	wg.Add(2)
	go func() {
		defer wg.Done()
		out[0] = r.sqlToMI(ctx, reg)
	}()
	go func() {
		defer wg.Done()
		out[1] = r.miToSQL(ctx, reg)
	}()
	wg.Wait()
	res.Directions = out
	return res
}

func (r *Runner) removeLeftovers(ctx context.Context, res *Results) {
	for _, side := range []struct {
		server string
		c      *sqlops.Conn
		l      sqlops.Leftovers
	}{{serverSQL, r.SQL, r.Plan.SQLLeftovers}, {serverMI, r.MI, r.Plan.MILeftovers}} {
		if side.l.Empty() {
			continue
		}
		for _, rm := range side.c.RemoveLeftovers(ctx, side.l) {
			it := CleanupItem{Server: side.server, Kind: rm.Kind, Name: rm.Name + " (earlier run)", Removed: rm.Err == nil}
			if rm.Err != nil {
				it.Error = rm.Err.Error()
			}
			res.Cleanup = append(res.Cleanup, it)
			r.emit("", EventCleanup, "%s: removed %s %s left by an earlier milink run", side.server, rm.Kind, rm.Name)
		}
	}
}

func (r *Runner) sqlToMI(ctx context.Context, reg *created) (d DirectionResult) {
	p := r.Plan
	d = DirectionResult{Direction: SQLToMI, Job: p.SQLJobName}
	start := time.Now()
	defer func() { d.Elapsed = time.Since(start) }()
	targets := p.Options.SQLToMITargets()
	if !p.RunSQLToMI {
		d.Status, d.Reason = StatusNotRun, p.SQLToMISkipReason
		d.ManualCommand = ManualProbeCommand(targets)
		r.emit(SQLToMI, EventDone, "not run: %s", d.Reason)
		return d
	}
	if p.SQLToMIMode == ProbeLocal || p.SQLToMIMode == ProbeSSH {
		d.Job, d.Method = "", "TCP connects from this machine (the SQL Server host)"
		where := "this host"
		prober := r.Prober
		if p.SQLToMIMode == ProbeSSH {
			d.Method, where = "TCP connects from the SQL Server host over SSH", "SQL Server host (ssh)"
			if prober == nil {
				d.Status, d.Reason, d.ManualCommand = StatusError, "no SSH connection to the SQL Server host was configured", ManualProbeCommand(targets)
				return d
			}
			if c, ok := prober.(interface{ Check(context.Context) error }); ok {
				r.emit(SQLToMI, EventStep, "connecting over SSH to the SQL Server host")
				if err := c.Check(ctx); err != nil {
					d.Status, d.Reason, d.ManualCommand = StatusError, err.Error(), ManualProbeCommand(targets)
					return d
				}
			}
		}
		if prober == nil {
			prober = NetProber{}
		}
		var probes []ProbeResult
		for _, t := range targets {
			r.emit(SQLToMI, EventStep, "%s: probing %s:%d", where, t.Host, t.Port)
			pr := prober.Probe(ctx, t)
			pr.Direction, pr.Step = SQLToMI, t.Label
			pr.Explanation, pr.Fixes = Explain(SQLToMI, t, pr.Verdict, p.Options)
			r.emit(SQLToMI, EventProbe, "%s:%d: %s", t.Host, t.Port, pr.Verdict)
			probes = append(probes, pr)
		}
		if ctx.Err() != nil {
			return finishDirection(d, probes, ctx.Err())
		}
		r.emit(SQLToMI, EventDone, "%s", summarize(probes))
		return finishDirection(d, probes, nil)
	}
	d.Method = "Agent job on SQL Server"
	var steps []sqlops.JobStep
	for _, t := range targets {
		script, err := sqlops.ProbeScript(t, p.SkipSQLPS)
		if err != nil {
			d.Status, d.Reason = StatusError, err.Error()
			return d
		}
		steps = append(steps, sqlops.JobStep{Name: t.Label, Subsystem: "PowerShell", Command: script, GoToNext: true})
	}
	spec := sqlops.JobSpec{Name: p.SQLJobName, Description: sqlops.JobDescription("Tests network connectivity from SQL Server to the managed instance on 5022 and the HADR port.", p.RunID), Steps: steps}
	probes, err := r.runJob(ctx, SQLToMI, r.SQL, serverSQL, spec, targets, reg)
	return finishDirection(d, probes, err)
}

func (r *Runner) miToSQL(ctx context.Context, reg *created) (d DirectionResult) {
	p := r.Plan
	d = DirectionResult{Direction: MIToSQL, Job: p.MIJobName, Method: "Agent job on the managed instance"}
	start := time.Now()
	defer func() { d.Elapsed = time.Since(start) }()
	if !p.RunMIToSQL {
		d.Status, d.Reason = StatusNotRun, p.MIToSQLSkipReason
		r.emit(MIToSQL, EventDone, "not run: %s", d.Reason)
		return d
	}
	if p.CreateEndpoint {
		spec := sqlops.TestEndpointSpec{EndpointName: p.EndpointName, CertName: p.CertName, Port: p.Options.EndpointPort, RunID: p.RunID, NoMasterKey: true}
		r.emit(MIToSQL, EventStep, "SQL Server: creating certificate %s", p.CertName)
		reg.add(createdItem{server: serverSQL, kind: "certificate", name: p.CertName})
		if err := r.SQL.CreateTestCertificate(ctx, spec); err != nil {
			d.Status, d.Reason = StatusError, err.Error()
			return d
		}
		r.emit(MIToSQL, EventStep, "SQL Server: creating endpoint %s on port %d", p.EndpointName, p.Options.EndpointPort)
		reg.add(createdItem{server: serverSQL, kind: "endpoint", name: p.EndpointName})
		if err := r.SQL.CreateTestEndpoint(ctx, spec); err != nil {
			d.Status, d.Reason = StatusError, explainEndpointError(err, p.Options.EndpointPort)
			return d
		}
	}
	t := p.Options.MIToSQLTarget()
	script, err := sqlops.ProbeScript(t, true)
	if err != nil {
		d.Status, d.Reason = StatusError, err.Error()
		return d
	}
	spec := sqlops.JobSpec{Name: p.MIJobName, Description: sqlops.JobDescription("Test SQL Managed Instance to SQL Server network connectivity on port 5022.", p.RunID),
		Steps: []sqlops.JobStep{{Name: t.Label, Subsystem: "PowerShell", Command: script}}}
	probes, err := r.runJob(ctx, MIToSQL, r.MI, serverMI, spec, []sqlops.ProbeTarget{t}, reg)
	return finishDirection(d, probes, err)
}

func explainEndpointError(err error, port int) string {
	switch sqlops.SQLError(err) {
	case sqlops.ErrNumPortInUse:
		return fmt.Sprintf("port %d is used by another program on the SQL Server host, so the test endpoint could not listen there (Msg 7890). Free the port or give another with --endpoint-port. %v", port, err)
	case sqlops.ErrNumEndpointExists:
		return fmt.Sprintf("a database mirroring endpoint already exists (Msg 7862); milink does not replace it. %v", err)
	}
	return err.Error()
}

func finishDirection(d DirectionResult, probes []ProbeResult, err error) DirectionResult {
	d.Probes = probes
	if err != nil {
		d.Status, d.Reason = StatusError, err.Error()
		return d
	}
	d.Status = StatusPassed
	for _, pr := range probes {
		if !pr.Succeeded {
			d.Status = StatusFailed
		}
	}
	return d
}

// runJob creates, starts and waits for a probe job, and reads each step's verdict.
func (r *Runner) runJob(ctx context.Context, dir Direction, c *sqlops.Conn, server string, spec sqlops.JobSpec, targets []sqlops.ProbeTarget, reg *created) ([]ProbeResult, error) {
	r.emit(dir, EventStep, "%s: creating Agent job %s", server, spec.Name)
	reg.add(createdItem{server: server, kind: "job", name: spec.Name})
	job, err := c.CreateJob(ctx, spec)
	if job != nil {
		reg.setJob(spec.Name, job)
	}
	if err != nil {
		return nil, err
	}
	r.emit(dir, EventStep, "%s: starting job %s", server, spec.Name)
	if err := c.StartJob(ctx, job); err != nil {
		if sqlops.SQLError(err) == sqlops.ErrNumAgentNotRunning {
			return nil, fmt.Errorf("SQL Server Agent on the %s is not running or the job is busy: %w", strings.ToLower(server), err)
		}
		return nil, err
	}
	r.emit(dir, EventStep, "%s: waiting for job %s", server, spec.Name)
	deadline := time.Now().Add(r.JobTimeout)
	run, err := c.WaitJob(ctx, job, deadline, r.Poll, func(s sqlops.StepResult) {
		out := sqlops.ParseProbeOutput(s.Output())
		r.emit(dir, EventProbe, "step %d (%s): %s", s.StepID, s.Name, out.Verdict)
	})
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			return nil, fmt.Errorf("job %s gave no outcome within %s: is SQL Server Agent on the %s healthy? (%w)", spec.Name, r.JobTimeout, strings.ToLower(server), err)
		}
		return nil, err
	}
	var out []ProbeResult
	for i, t := range targets {
		pr := ProbeResult{Direction: dir, Step: t.Label, Host: t.Host, Port: t.Port, Verdict: sqlops.VerdictUnknown}
		var step *sqlops.StepResult
		for k := range run.Steps {
			if run.Steps[k].StepID == i+1 {
				step = &run.Steps[k]
			}
		}
		if step == nil {
			pr.Detail = "the step did not run"
		} else {
			po := sqlops.ParseProbeOutput(step.Output())
			pr.Output = step.Output()
			pr.Duration = step.Duration
			pr.Succeeded, pr.Verdict, pr.RemoteAddress, pr.Detail = po.Succeeded, po.Verdict, po.RemoteAddress, po.Detail
			if !po.Known {
				pr.Detail = "could not read the probe's output: " + firstLine(step.Message)
			}
		}
		pr.Explanation, pr.Fixes = Explain(dir, t, pr.Verdict, r.Plan.Options)
		out = append(out, pr)
	}
	r.emit(dir, EventDone, "%s", summarize(out))
	return out, nil
}

func summarize(ps []ProbeResult) string {
	var parts []string
	for _, p := range ps {
		parts = append(parts, fmt.Sprintf("%s:%d %s", p.Host, p.Port, p.Verdict))
	}
	return strings.Join(parts, ", ")
}

// cleanup removes everything this run registered, in reverse order of creation, each
// only if it carries this run's marker.
func (r *Runner) cleanup(ctx context.Context, reg *created) []CleanupItem {
	reg.mu.Lock()
	items := append([]createdItem(nil), reg.items...)
	reg.mu.Unlock()
	var out []CleanupItem
	// Jobs first (a running job is stopped), then endpoints, then certificates.
	order := map[string]int{"job": 0, "endpoint": 1, "certificate": 2}
	for pass := 0; pass < 3; pass++ {
		for i := len(items) - 1; i >= 0; i-- {
			it := items[i]
			if order[it.kind] != pass {
				continue
			}
			c := r.SQL
			if it.server == serverMI {
				c = r.MI
			}
			var removed bool
			err := sqlops.Retry(ctx, 5, func() (err error) {
				switch it.kind {
				case "job":
					j := it.job
					if j == nil {
						j = &sqlops.Job{Name: it.name}
					}
					removed, err = c.DeleteJob(ctx, j, r.Plan.RunID)
				case "endpoint":
					removed, err = c.DropTestEndpoint(ctx, it.name, r.Plan.RunID)
				case "certificate":
					removed, err = c.DropTestCertificate(ctx, it.name, r.Plan.RunID)
				}
				return err
			})
			ci := CleanupItem{Server: it.server, Kind: it.kind, Name: it.name, Removed: removed}
			if errors.Is(err, sqlops.ErrNotOurs) {
				ci.Note = "left alone: not created by this run"
			} else if err != nil {
				ci.Error = err.Error()
				r.emit("", EventWarn, "cleanup: %s %s on %s: %v", it.kind, it.name, it.server, err)
			} else if removed {
				r.emit("", EventCleanup, "%s: removed %s %s", it.server, it.kind, it.name)
			}
			out = append(out, ci)
		}
	}
	return out
}
