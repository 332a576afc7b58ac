package probe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/milink/milink/sqlops"
)

// AgentJob is the Prober that runs the probes as a SQL Server Agent job on a server (SQL
// Server or the managed instance), as Microsoft's TestMILinkConnection and NetHelper
// jobs do
// (https://learn.microsoft.com/azure/azure-sql/managed-instance/managed-instance-link-preparation#test-network-connectivity),
// but with ONE PowerShell step for all of the direction's targets (sqlops.ProbeScript:
// concurrent TcpClient connects within the probe timeout), so a direction pays one
// PowerShell start (and one SQLPS load before SQL Server 2019) and, with every port
// filtered, one probe timeout, whatever the number of targets.
// Probe creates the job, starts it, waits for its outcome and reads the step's output;
// it does not delete the job: the caller's cleanup does, which is why Track must record
// the job before it is created.
type AgentJob struct {
	Conn   *sqlops.Conn // the server the job is created and run on
	Server string       // the server's name in messages: "SQL Server" or "Managed instance"
	// Name is the job's name; Description must carry the run's mark
	// (sqlops.JobDescription with Key.Mark of Conn's key), or the job is not created
	// and, if created, is never recognised as milink's.
	Name, Description string
	// SkipSQLPS starts the step with "#NOSQLPS" (SQL Server 2019 and later, and the
	// managed instance), see sqlops.ProbeScript.
	SkipSQLPS bool
	// Timeout bounds the wait from the start of the job to its outcome (default 2m).
	Timeout time.Duration
	// Poll says how often the job's history is read.
	Poll sqlops.PollPolicy
	// Track registers the job for cleanup: it is called with a nil job before the job
	// is created (so a job whose creation reply is lost is still cleaned up), and again
	// with the job once it exists (its id). nil: not tracked.
	Track func(name string, job *sqlops.Job)
	// Taken, when set, is asked when the job's name turns out to be taken at creation
	// (sqlops.ErrNotOurs: another milink run created a job of that name after the plan
	// was made). It returns the next name to try and its description (marked for that
	// name), or an error saying why the name is not to be moved (not another milink
	// run's job). nil: the collision is an error. Probe then reports the job under
	// the name it was created with (Name is updated).
	Taken func(ctx context.Context, name string) (next, description string, err error)
}

// Where returns "<Server> (Agent job)".
func (a *AgentJob) Where() string { return a.Server + " (Agent job)" }

// stepName is the job step's name (sysname, at most 128 characters): the targets'
// labels joined, e.g. "Test Port 5022, Test HADR Port".
func stepName(targets []sqlops.ProbeTarget) string {
	labels := make([]string, len(targets))
	for i, t := range targets {
		labels[i] = t.Label
	}
	name := strings.Join(labels, ", ")
	if r := []rune(name); len(r) > 128 {
		name = string(r[:125]) + "..."
	}
	return name
}

// Probe creates, starts and waits for the job and returns each target's verdict, read
// from its line of the step's output (sqlops.ParseProbeLines), with the target's own
// elapsed time as Duration (the step's run_duration when the line has none). A target
// without a line is VerdictNotRun when the step did not run or Agent failed it
// without output, else VerdictUnknown. Its errors: an invalid target
// (sqlops.ErrInvalidInput), the job could not be created or started (SQL Server Agent
// not running, Msg 22022), or it gave no outcome within Timeout.
func (a *AgentJob) Probe(ctx context.Context, targets []sqlops.ProbeTarget, notify Notify) ([]Result, error) {
	script, err := sqlops.ProbeScript(targets, a.SkipSQLPS)
	if err != nil {
		return nil, err
	}
	spec := sqlops.JobSpec{Name: a.Name, Description: a.Description,
		Steps: []sqlops.JobStep{{Name: stepName(targets), Subsystem: "PowerShell", Command: script}}}
	run, err := a.run(ctx, spec, targets, notify)
	if err != nil {
		return nil, err
	}
	var step *sqlops.StepResult
	for k := range run.Steps {
		if run.Steps[k].StepID == 1 {
			step = &run.Steps[k]
		}
	}
	var lines []sqlops.ProbeLine
	if step != nil {
		lines = sqlops.ParseProbeLines(step.Output(), targets)
	}
	out := make([]Result, 0, len(targets))
	for i, t := range targets {
		r := Result{Step: t.Label, Host: t.Host, Port: t.Port, Verdict: sqlops.VerdictUnknown, Where: a.Where(),
			Ran: fmt.Sprintf("job %s step 1 (PowerShell): TcpClient connect to %s within %s", a.Name, net.JoinHostPort(t.Host, strconv.Itoa(t.Port)), t.Timeout)}
		if len(targets) > 1 {
			r.Ran += fmt.Sprintf(", at once with the step's %d other connects", len(targets)-1)
		}
		switch {
		case step == nil:
			// The job ended before its step (its outcome message says why).
			r.Verdict, r.Detail = sqlops.VerdictNotRun, "the step did not run: "+agentText(run.Message)
		case lines[i].Found:
			l := lines[i]
			r.Output, r.Duration = l.Text, l.ProbeDuration(step.Duration)
			r.Succeeded, r.Verdict, r.RemoteAddress, r.Detail = l.Succeeded, l.Verdict, l.RemoteAddress, l.Detail
		case step.RunStatus != 1:
			// A step without probe output that Agent marked failed (run_status 0)
			// never ran the probe: carry Agent's own error text.
			r.Output, r.Duration = step.Output(), step.Duration
			r.Verdict, r.Detail = sqlops.VerdictNotRun, agentText(step.Message)
		default:
			r.Output, r.Duration = step.Output(), step.Duration
			r.Detail = "could not read the probe's output: " + agentText(step.Message)
		}
		out = append(out, r)
	}
	return out, nil
}

// agentText is Agent's message as one trimmed line ("(no message)" when empty).
func agentText(msg string) string {
	msg = strings.Join(strings.Fields(msg), " ")
	if msg == "" {
		return "(no message)"
	}
	return msg
}

// createOnce returns one attempt at creating the job of *spec, for RetryWithin: an
// attempt after the first deletes what a lost reply may have left of this run's job
// before creating it afresh; the job goes to *job and to Track.
func (a *AgentJob) createOnce(ctx context.Context, spec *sqlops.JobSpec, job **sqlops.Job, attempt *int) func() error {
	return func() (err error) {
		if *attempt++; *attempt > 1 {
			if run, ours := a.Conn.Owns(sqlops.KindJob, spec.Name, spec.Description); ours {
				if _, err := a.Conn.DeleteJob(ctx, &sqlops.Job{Name: spec.Name}, run); err != nil {
					return err
				}
			}
		}
		*job, err = a.Conn.CreateJob(ctx, *spec)
		if *job != nil && a.Track != nil {
			a.Track(spec.Name, *job)
		}
		return err
	}
}

// run creates, starts and waits for the job.
func (a *AgentJob) run(ctx context.Context, spec sqlops.JobSpec, targets []sqlops.ProbeTarget, notify Notify) (sqlops.JobRun, error) {
	timeout := a.Timeout
	if timeout <= 0 {
		timeout = 2 * time.Minute
	}
	server := a.Server // "SQL Server" keeps its capitals; "Managed instance" reads "the managed instance"
	if !strings.HasPrefix(server, "SQL Server") {
		server = strings.ToLower(server)
	}
	notify.note(NoteStep, "%s: creating Agent job %s", a.Server, spec.Name)
	if a.Track != nil {
		a.Track(spec.Name, nil)
	}
	// A lost connection is ridden out within the connection's reconnect window. A
	// creation whose reply was lost may have left a partial job of this run: it is
	// deleted (only if it is milink's of this run) and created afresh.
	window := a.Conn.Cfg.ReconnectWindowOrDefault()
	var job *sqlops.Job
	attempt := 0
	create := func() error {
		attempt = 0
		return sqlops.RetryWithin(ctx, window, a.createOnce(ctx, &spec, &job, &attempt))
	}
	err := create()
	// Another milink run may have created a job of this name since the plan was made
	// (two runs started together): Taken gives the next name to try.
	for renames := 0; renames < 3 && a.Taken != nil && errors.Is(err, sqlops.ErrNotOurs); renames++ {
		next, desc, terr := a.Taken(ctx, spec.Name)
		if terr != nil {
			err = terr
			break
		}
		notify.note(NoteStep, "%s: job %s belongs to another milink run; creating %s instead", a.Server, spec.Name, next)
		spec.Name, spec.Description, a.Name = next, desc, next
		if a.Track != nil {
			a.Track(spec.Name, nil)
		}
		err = create()
	}
	if err != nil {
		return sqlops.JobRun{}, err
	}
	notify.note(NoteStep, "%s: starting job %s", a.Server, spec.Name)
	attempt = 0
	err = sqlops.RetryWithin(ctx, window, func() error {
		attempt++
		err := a.Conn.StartJob(ctx, job)
		if attempt > 1 && sqlops.SQLError(err) == sqlops.ErrNumAgentNotRunning {
			return nil // the lost attempt started it ("already running"); a dead Agent shows as no outcome
		}
		return err
	})
	if err != nil {
		if sqlops.SQLError(err) == sqlops.ErrNumAgentNotRunning {
			return sqlops.JobRun{}, fmt.Errorf("SQL Server Agent on the %s is not running or the job is busy: %w", server, err)
		}
		return sqlops.JobRun{}, err
	}
	notify.note(NoteStep, "%s: waiting for job %s", a.Server, spec.Name)
	run, err := a.Conn.WaitJob(ctx, job, time.Now().Add(timeout), a.Poll, func(s sqlops.StepResult) {
		for i, l := range sqlops.ParseProbeLines(s.Output(), targets) {
			if l.Found {
				notify.note(NoteVerdict, "%s: %s", targets[i].Endpoint(), l.Verdict)
			}
		}
	})
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			return sqlops.JobRun{}, fmt.Errorf("job %s gave no outcome within %s: is SQL Server Agent on the %s healthy? %w", spec.Name, timeout, server, err)
		}
		return sqlops.JobRun{}, err
	}
	return run, nil
}
