package steps

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/milink/milink/sqlops"
	"github.com/milink/milink/steps/probe"
)

// Direction statuses.
const (
	StatusPassed = "passed"
	StatusFailed = "failed"  // a probe could not connect
	StatusNotRun = "not run" // the direction could not be tested
	StatusError  = "error"   // milink could not complete the test
)

// DirectionResult is the outcome of one direction.
type DirectionResult struct {
	Direction     Direction     `json:"direction"`
	Status        string        `json:"status"`
	Reason        string        `json:"reason,omitempty"`
	Job           string        `json:"job,omitempty"`
	Method        string        `json:"method,omitempty"` // how the probes ran
	Probes        []ProbeResult `json:"probes,omitempty"`
	Elapsed       time.Duration `json:"-"` // "elapsed_s" in JSON
	ManualCommand string        `json:"manual_command,omitempty"`
}

// WaitsForPaste reports whether the direction's probes can come from its
// ManualCommand run by hand and pasted back (Session.ApplyPastedProbes): the command
// is offered (manual mode, or after the prober failed, e.g. over SSH) and the
// direction was not run or ended in an error (a paste gives it passed or failed).
func (d DirectionResult) WaitsForPaste() bool {
	return d.ManualCommand != "" && (d.Status == StatusNotRun || d.Status == StatusError)
}

// CleanupItem is one object cleanup dealt with. Removed is true only when the catalog,
// read back after the removal, no longer has the object; Remains is true when the
// object may still exist (its removal failed, was cut short, or could not be verified).
type CleanupItem struct {
	Server  string `json:"server"`
	Kind    string `json:"kind"`
	Name    string `json:"name"`
	Removed bool   `json:"removed"`
	Remains bool   `json:"remains,omitempty"`
	Note    string `json:"note,omitempty"`
	Error   string `json:"error,omitempty"`
	// gone says why the item remains when its server was lost and did not come back
	// within the reconnect window ("SQL Server did not come back within 60s"), for the
	// report's outcome.
	gone string
}

// Results is the Results step's outcome.
type Results struct {
	Directions  []DirectionResult `json:"directions"`
	Cleanup     []CleanupItem     `json:"cleanup"`
	Interrupted bool              `json:"interrupted,omitempty"`
}

// CleanupOK reports whether cleanup verified that nothing of the run remains.
func (r *Results) CleanupOK() bool { return len(r.Remaining()) == 0 }

// Remaining lists the cleanup items that may still exist on an instance (Remains).
func (r *Results) Remaining() []CleanupItem {
	var out []CleanupItem
	for _, c := range r.Cleanup {
		if c.Remains {
			out = append(out, c)
		}
	}
	return out
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

// forget drops the registration of the object of kind called name on server: its
// creation failed because another run's object has that name.
func (c *created) forget(server, kind, name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.items = slices.DeleteFunc(c.items, func(it createdItem) bool {
		return it.server == server && it.kind == kind && it.name == name
	})
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

// runner executes a plan (the Results step; only Session.Run starts it). Sink may be nil.
type runner struct {
	SQL, MI        *sqlops.Conn
	Plan           *Plan
	Prober         Prober // the SQL Server → MI prober for ProbeLocal (default probe.Local) and ProbeSSH (required)
	Sink           Sink
	JobTimeout     time.Duration
	Poll           sqlops.PollPolicy
	CleanupTimeout time.Duration // default 60s
	mu             sync.Mutex

	lostMu    sync.Mutex
	lostUntil time.Time // the end of the reconnect window the last notice announced
}

// reconnectNotice warns (an EventWarn, which milink check prints even with -q) that a
// server was lost and milink waits for it to come back, and until when: without it the
// reconnect window, kept long enough to ride out a failover, passes in silence. One
// notice per window: the other waits of the same outage say nothing new.
func (r *runner) reconnectNotice(err error, window time.Duration, until time.Time) {
	r.lostMu.Lock()
	if time.Now().Before(r.lostUntil) {
		r.lostMu.Unlock()
		return
	}
	r.lostUntil = until
	r.lostMu.Unlock()
	r.emit("", EventWarn, "connection lost (%v); waiting up to %s, until %s, for the server to come back (the time a failover may take), then giving up",
		err, wholeSeconds(window), until.Format("15:04:05"))
}

// wholeSeconds is d in whole seconds, as "60s" (not "1m0s").
func wholeSeconds(d time.Duration) string {
	return fmt.Sprintf("%ds", int64(d.Round(time.Second)/time.Second))
}

func (r *runner) emit(d Direction, k EventKind, format string, a ...any) {
	if r.Sink == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Sink(Event{Time: time.Now(), Direction: d, Kind: k, Message: fmt.Sprintf(format, a...)})
}

// Execute runs both directions concurrently, then always cleans up, with its own
// context, whether the test passed, failed or ctx was canceled.
func (r *runner) Execute(ctx context.Context) *Results {
	if r.JobTimeout <= 0 {
		r.JobTimeout = 2 * time.Minute
	}
	if r.CleanupTimeout <= 0 {
		r.CleanupTimeout = time.Minute
	}
	res := &Results{}
	reg := &created{}
	ctx = sqlops.WithReconnectNotice(ctx, r.reconnectNotice)
	cleanupCtx := context.WithoutCancel(ctx)
	var locks []*sqlops.RunLock
	defer func() {
		cctx, cancel := context.WithTimeout(cleanupCtx, r.CleanupTimeout)
		defer cancel()
		res.Cleanup = append(res.Cleanup, r.cleanup(cctx, reg)...)
		res.Interrupted = ctx.Err() != nil
		for _, l := range locks { // held through cleanup: the objects are not leftovers yet
			l.Release()
		}
	}()

	// The key marks every object (sqlops.Key), and the run's lock on each instance tells
	// every other milink that this run is alive (sqlops.RunLock): nothing is created
	// without both.
	for _, side := range []struct {
		server string
		c      *sqlops.Conn
	}{{serverSQL, r.SQL}, {serverMI, r.MI}} {
		_, err := side.c.OwnerKey()
		var lock *sqlops.RunLock
		if err == nil {
			lock, err = side.c.HoldRun(ctx, r.Plan.RunID, 0)
		}
		if err != nil {
			res.Directions = []DirectionResult{
				{Direction: SQLToMI, Status: StatusError, Reason: fmt.Sprintf("%s: %v", side.server, err)},
				{Direction: MIToSQL, Status: StatusError, Reason: fmt.Sprintf("%s: %v", side.server, err)}}
			return res
		}
		locks = append(locks, lock)
	}

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

func (r *runner) removeLeftovers(ctx context.Context, res *Results) {
	for _, side := range []struct {
		server string
		c      *sqlops.Conn
		l      sqlops.Leftovers
	}{{serverSQL, r.SQL, r.Plan.SQLLeftovers}, {serverMI, r.MI, r.Plan.MILeftovers}} {
		if side.l.Empty() {
			continue
		}
		side.c.RemoveLeftoversEach(ctx, side.l, func(rm sqlops.Removed) {
			it := CleanupItem{Server: side.server, Kind: rm.Kind, Name: rm.Name + " (earlier run)", Removed: rm.Removed}
			switch {
			case rm.Err != nil:
				it.Error, it.Remains = rm.Err.Error(), true
				r.emit("", EventWarn, "%s: %s %s left by an earlier milink run was not removed: %v", side.server, rm.Kind, rm.Name, rm.Err)
			case rm.Removed:
				r.emit("", EventCleanup, "%s: removed %s %s left by an earlier milink run", side.server, rm.Kind, rm.Name)
			}
			res.Cleanup = append(res.Cleanup, it)
		})
	}
}

func (r *runner) sqlToMI(ctx context.Context, reg *created) (d DirectionResult) {
	p := r.Plan
	d = DirectionResult{Direction: SQLToMI, Job: p.SQLJobName}
	start := time.Now()
	defer func() { d.Elapsed = time.Since(start) }()
	targets := p.Options.SQLToMITargets()
	if !p.RunSQLToMI {
		d.Status, d.Reason = StatusNotRun, p.SQLToMISkipReason
		d.ManualCommand = ManualProbeCommandFor(r.Plan.Platform, targets)
		r.emit(SQLToMI, EventDone, "not run: %s", d.Reason)
		return d
	}
	var prober Prober
	switch p.SQLToMIMode {
	case ProbeLocal:
		d.Job, d.Method = "", "TCP connects from this machine (the SQL Server host)"
		prober = r.Prober
		if prober == nil {
			prober = probe.Local{}
		}
	case ProbeSSH:
		d.Job, d.Method = "", "TCP connects from the SQL Server host over SSH"
		if r.Prober == nil {
			d.Status, d.Reason, d.ManualCommand = StatusError, "no SSH connection to the SQL Server host was configured", ManualProbeCommandFor(r.Plan.Platform, targets)
			return d
		}
		prober = r.Prober
	default:
		d.Method = "Agent job on SQL Server"
		prober = r.agentJob(r.SQL, serverSQL, p.SQLJobName,
			"Tests network connectivity from SQL Server to the managed instance on 5022 and the HADR port.", p.SkipSQLPS, reg)
	}
	return r.runProber(ctx, d, prober, targets)
}

func (r *runner) miToSQL(ctx context.Context, reg *created) (d DirectionResult) {
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
		spec := sqlops.TestEndpointSpec{EndpointName: p.EndpointName, CertName: p.CertName, Port: p.Options.EndpointPort, RunID: p.RunID}
		r.emit(MIToSQL, EventStep, "SQL Server: creating certificate %s", p.CertName)
		reg.add(createdItem{server: serverSQL, kind: "certificate", name: p.CertName})
		window := r.SQL.Cfg.ReconnectWindowOrDefault()
		err := sqlops.RetryWithin(ctx, window, func() error { return r.SQL.CreateTestCertificate(ctx, spec) })
		// Another milink run started together may have taken the name since the plan.
		for renames := 0; renames < 3 && r.takenByOtherRun(ctx, &err, spec.CertName); renames++ {
			reg.forget(serverSQL, "certificate", spec.CertName) // the other run's
			spec.CertName = bumpName(spec.CertName, nameSuffix(p.RunID))
			r.emit(MIToSQL, EventStep, "SQL Server: TEST_CERT belongs to another milink run; creating certificate %s", spec.CertName)
			reg.add(createdItem{server: serverSQL, kind: "certificate", name: spec.CertName})
			err = sqlops.RetryWithin(ctx, window, func() error { return r.SQL.CreateTestCertificate(ctx, spec) })
		}
		if err != nil {
			d.Status, d.Reason = StatusError, err.Error()
			return d
		}
		r.emit(MIToSQL, EventStep, "SQL Server: creating endpoint %s on port %d", p.EndpointName, p.Options.EndpointPort)
		reg.add(createdItem{server: serverSQL, kind: "endpoint", name: p.EndpointName})
		if err := sqlops.RetryWithin(ctx, window, func() error { return r.SQL.CreateTestEndpoint(ctx, spec) }); err != nil {
			d.Status, d.Reason = StatusError, explainEndpointError(err, p.Options.EndpointPort)
			if reason := r.endpointOfLiveRun(ctx, err); reason != "" {
				d.Status, d.Reason = StatusNotRun, reason
			}
			return d
		}
	}
	job := r.agentJob(r.MI, serverMI, p.MIJobName, "Test SQL Managed Instance to SQL Server network connectivity on port 5022.", true, reg)
	return r.runProber(ctx, d, job, []sqlops.ProbeTarget{p.Options.MIToSQLTarget()})
}

// agentJob is the Agent-job prober for one side; every job it creates is registered
// in reg before it is created.
func (r *runner) agentJob(c *sqlops.Conn, server, name, purpose string, skipSQLPS bool, reg *created) *probe.AgentJob {
	desc := sqlops.JobDescription(purpose, "") // no mark: CreateJob refuses it
	if k, err := c.OwnerKey(); err == nil {    // loaded before anything is created (Execute)
		desc = sqlops.JobDescription(purpose, k.Mark(sqlops.KindJob, name, r.Plan.RunID))
	}
	return &probe.AgentJob{Conn: c, Server: server, Name: name, Description: desc,
		SkipSQLPS: skipSQLPS, Timeout: r.JobTimeout, Poll: r.Poll,
		Taken: func(ctx context.Context, taken string) (string, string, error) {
			next, desc, err := r.nextJobName(ctx, c, purpose, taken)
			if err == nil { // the job called taken is the other run's: not ours to clean up
				reg.forget(server, "job", taken)
			}
			return next, desc, err
		},
		Track: func(name string, j *sqlops.Job) {
			if j == nil {
				reg.add(createdItem{server: server, kind: "job", name: name})
				return
			}
			reg.setJob(name, j)
		}}
}

// runProber runs prober on targets for d's direction, relaying its notes as events, and
// fills in d. When a prober other than an Agent job fails, d offers the manual command.
func (r *runner) runProber(ctx context.Context, d DirectionResult, prober Prober, targets []sqlops.ProbeTarget) DirectionResult {
	dir := d.Direction
	rs, err := prober.Probe(ctx, targets, func(n probe.Note) {
		k := EventStep
		if n.Kind == probe.NoteVerdict {
			k = EventProbe
		}
		r.emit(dir, k, "%s", n.Message)
	})
	if _, job := prober.(*probe.AgentJob); err != nil && !job {
		d.ManualCommand = ManualProbeCommandFor(r.Plan.Platform, targets)
	}
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	if job, ok := prober.(*probe.AgentJob); ok {
		d.Job = job.Name // the name it was created under (nextJobName)
	}
	probes := explainResults(dir, targets, rs, r.Plan.Options)
	if err == nil {
		r.emit(dir, EventDone, "%s", summarize(probes))
	}
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
	if why := probesNotRun(probes); why != "" {
		d.Status, d.Reason = StatusNotRun, why
	}
	return d
}

func summarize(ps []ProbeResult) string {
	var parts []string
	for _, p := range ps {
		parts = append(parts, hostPort(p.Host, p.Port)+" "+string(p.Verdict))
	}
	return strings.Join(parts, ", ")
}

// cleanup removes everything this run registered, in reverse order of creation, each
// only if it is milink's of this run (sqlops.Key.Owns), reconnecting within the
// connection's ReconnectWindow; an item is Removed only when read back as gone and
// Remains when its removal failed or ctx ended first.
func (r *runner) cleanup(ctx context.Context, reg *created) []CleanupItem {
	reg.mu.Lock()
	items := append([]createdItem(nil), reg.items...)
	reg.mu.Unlock()
	var out []CleanupItem
	// One reconnect window for the whole cleanup, not one per object: a server that
	// stays unreachable costs the window once.
	var window time.Duration
	for _, c := range []*sqlops.Conn{r.SQL, r.MI} {
		if c != nil {
			window = max(window, c.Cfg.ReconnectWindowOrDefault())
		}
	}
	end := time.Now().Add(window)
	// A server still unreachable when the window is over is not tried again for the
	// next objects: they are reported as remaining at once.
	unreachable := map[string]error{}
	// lost is the last connection error seen for a server during cleanup: an object
	// not removed then remains because its server did not come back, and says so
	// (not a bare "context deadline exceeded" when the cleanup's own deadline ends the
	// wait).
	lost := map[string]error{}
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
			err := ctx.Err()
			attempted := err == nil && unreachable[it.server] == nil
			if err == nil && !attempted {
				err = unreachable[it.server]
			}
			if attempted {
				err = sqlops.RetryWithin(ctx, time.Until(end), func() (err error) {
					defer func() {
						if sqlops.Transient(err) {
							lost[it.server] = err
						}
					}()
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
				if lost[it.server] != nil && (sqlops.Transient(err) || ctx.Err() != nil) {
					unreachable[it.server] = lost[it.server]
				}
			}
			ci := CleanupItem{Server: it.server, Kind: it.kind, Name: it.name, Removed: removed && err == nil}
			if errors.Is(err, sqlops.ErrNotOurs) {
				ci.Note = "left alone: not created by this run"
			} else if err != nil {
				ci.Error, ci.Remains = err.Error(), true
				if last := lost[it.server]; last != nil && (sqlops.Transient(err) || ctx.Err() != nil) {
					ci.gone = fmt.Sprintf("%s did not come back within %s", it.server, wholeSeconds(window))
					ci.Error = ci.gone + " (" + last.Error() + ")"
					if !attempted {
						ci.Error = "not attempted: " + ci.Error
					}
				} else if ctx.Err() != nil {
					ci.Error = fmt.Sprintf("not removed: the cleanup's %s were over before %s answered", wholeSeconds(r.CleanupTimeout), it.server)
				}
				r.emit("", EventWarn, "cleanup: %s %s on %s: %s", it.kind, it.name, it.server, ci.Error)
			} else if removed {
				r.emit("", EventCleanup, "%s: removed %s %s", it.server, it.kind, it.name)
			}
			out = append(out, ci)
		}
	}
	return out
}
