package sqlops

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	mssql "github.com/microsoft/go-mssqldb"
)

// Agent error numbers milink reacts to.
const (
	ErrNumJobExists       = 14261 // sp_add_job: the name exists
	ErrNumJobMissing      = 14262 // the job does not exist
	ErrNumNoJobServer     = 14256 // sp_start_job: no job server
	ErrNumAgentNotRunning = 22022 // sp_start_job: Agent not running, or job already running
)

// JobCategory is the msdb job category of every job milink creates (created with
// msdb.dbo.sp_add_category when missing: class JOB, type LOCAL; only sysadmin may, see
// https://learn.microsoft.com/sql/relational-databases/system-stored-procedures/sp-add-category-transact-sql).
// A job outside it is never milink's, whatever its name and description say. The
// category itself is left in msdb (empty): removing it could race with another run
// adding a job to it, and sp_delete_category would move such a job to
// [Uncategorized (Local)].
const JobCategory = "milink network test"

// ErrNotOurs is wrapped when an object exists that milink did not create; milink never
// changes such an object.
var ErrNotOurs = errors.New("exists and was not created by milink")

// JobStep is one step of a job milink creates.
type JobStep struct {
	Name      string
	Subsystem string // "PowerShell" or "TSQL"
	Command   string
	// GoToNext makes the step continue to the next step on success and on failure, as
	// the documented TestMILinkConnection script does, so every probe runs.
	GoToNext bool
}

// JobSpec describes a job to create.
type JobSpec struct {
	Name        string
	Description string // must carry the run's mark (JobDescription with Key.Mark)
	Steps       []JobStep
}

// Job is a job that exists on an instance.
type Job struct {
	ID          mssql.UniqueIdentifier
	Name        string
	Description string
	Enabled     bool
	Category    string // msdb.dbo.syscategories name; milink's jobs are in JobCategory
}

// RunID returns the run id of anything that looks like a milink mark in the job's
// description (MarkedRunID); it does not say the job is milink's (Key.Owns does).
func (j Job) RunID() (string, bool) { return MarkedRunID(j.Description) }

// JobByName returns the job called name, or nil when there is none.
func (c *Conn) JobByName(ctx context.Context, name string) (*Job, error) {
	var j Job
	var enabled int
	err := c.DB.QueryRowContext(ctx, Query(TagJobByName), sql.Named("name", name)).Scan(&j.ID, &j.Name, &j.Description, &enabled, &j.Category)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("look up job %q: %w", name, err)
	}
	j.Enabled = enabled == 1
	return &j, nil
}

// CreateJob creates the job described by spec: sp_add_job, one sp_add_jobstep per step
// (output logged to sysjobstepslogs and history, @flags = 40) and sp_add_jobserver. It
// returns the job as soon as sp_add_job succeeded, even when a later call failed, so the
// caller can clean it up.
func (c *Conn) CreateJob(ctx context.Context, spec JobSpec) (*Job, error) {
	// Only the mark's presence is required here: whether the job is milink's is decided
	// when it is found or removed (Key.Owns), never from its creation.
	if _, ok := MarkedRunID(spec.Description); !ok {
		return nil, fmt.Errorf("create job %q: %w: the description carries no milink mark", spec.Name, ErrInvalidInput)
	}
	if len(spec.Name) == 0 || len(spec.Name) > 128 {
		return nil, fmt.Errorf("create job: %w: job name must be 1-128 characters", ErrInvalidInput)
	}
	if err := c.ensureJobCategory(ctx); err != nil {
		return nil, fmt.Errorf("create job %q: %w", spec.Name, err)
	}
	_, err := c.DB.ExecContext(ctx, "msdb.dbo.sp_add_job",
		sql.Named("job_name", spec.Name),
		sql.Named("enabled", 1),
		sql.Named("description", spec.Description),
		sql.Named("category_name", JobCategory),
	)
	if err != nil {
		if SQLError(err) == ErrNumJobExists {
			return nil, fmt.Errorf("create job %q: %w (error 14261)", spec.Name, ErrNotOurs)
		}
		return nil, fmt.Errorf("create job %q: sp_add_job: %w", spec.Name, err)
	}
	job, lerr := c.JobByName(ctx, spec.Name)
	if lerr != nil || job == nil {
		if lerr == nil {
			lerr = fmt.Errorf("job %q not found right after sp_add_job", spec.Name)
		}
		return &Job{Name: spec.Name, Description: spec.Description}, lerr
	}
	for i, st := range spec.Steps {
		onSuccess, onFail := 1, 2 // quit reporting success / failure
		if st.GoToNext && i < len(spec.Steps)-1 {
			onSuccess, onFail = 3, 3
		}
		_, err := c.DB.ExecContext(ctx, "msdb.dbo.sp_add_jobstep",
			sql.Named("job_id", job.ID),
			sql.Named("step_id", i+1),
			sql.Named("step_name", st.Name),
			sql.Named("subsystem", st.Subsystem),
			sql.Named("command", st.Command),
			sql.Named("database_name", "master"),
			sql.Named("on_success_action", onSuccess),
			sql.Named("on_fail_action", onFail),
			sql.Named("flags", 40),
		)
		if err != nil {
			return job, fmt.Errorf("create job %q: sp_add_jobstep %d: %w", spec.Name, i+1, err)
		}
	}
	if _, err := c.DB.ExecContext(ctx, "msdb.dbo.sp_add_jobserver",
		sql.Named("job_id", job.ID), sql.Named("server_name", "(local)")); err != nil {
		return job, fmt.Errorf("create job %q: sp_add_jobserver: %w", spec.Name, err)
	}
	return job, nil
}

// ensureJobCategory creates JobCategory in msdb unless it exists. Two runs may both
// find it missing: the second sp_add_category fails with 14261 (it exists), which is
// what was wanted.
func (c *Conn) ensureJobCategory(ctx context.Context) error {
	_, err := c.DB.ExecContext(ctx, `IF NOT EXISTS (SELECT 1 FROM msdb.dbo.syscategories WHERE category_class = 1 AND name = @name)
    EXEC msdb.dbo.sp_add_category @class = N'JOB', @type = N'LOCAL', @name = @name;`, sql.Named("name", JobCategory))
	if err != nil && SQLError(err) != ErrNumJobExists {
		return fmt.Errorf("job category %q: %w", JobCategory, err)
	}
	return nil
}

// StartJob asks SQL Server Agent to run the job.
func (c *Conn) StartJob(ctx context.Context, job *Job) error {
	if _, err := c.DB.ExecContext(ctx, "msdb.dbo.sp_start_job", sql.Named("job_id", job.ID)); err != nil {
		return fmt.Errorf("start job %q: %w", job.Name, err)
	}
	return nil
}

// StopJob asks SQL Server Agent to stop the job; a job that is not running is not an error.
func (c *Conn) StopJob(ctx context.Context, job *Job) error {
	if _, err := c.DB.ExecContext(ctx, "msdb.dbo.sp_stop_job", sql.Named("job_id", job.ID)); err != nil {
		if SQLError(err) == ErrNumAgentNotRunning {
			return nil
		}
		return fmt.Errorf("stop job %q: %w", job.Name, err)
	}
	return nil
}

// ErrStillThere is wrapped when an object milink dropped is still in the catalog when
// read back.
var ErrStillThere = errors.New("still there when read back after removing it")

// DeleteJob deletes the job only if it still exists under the same id and is milink's
// by every test (Key.Owns: a milink name and a mark of this machine's key for it); with
// runID non-empty the mark must name that run (the caller's own), with runID empty the
// job's run must not be live right now (ErrLive). A running job is stopped first. It
// reports whether a job was deleted, which is true only when msdb.dbo.sysjobs read back
// afterwards has no job of that id; a job found there again is ErrStillThere.
func (c *Conn) DeleteJob(ctx context.Context, job *Job, runID string) (bool, error) {
	k, err := c.key()
	if err != nil {
		return false, err
	}
	cur, err := c.JobByName(ctx, job.Name)
	if err != nil {
		return false, err
	}
	if cur == nil {
		return false, nil
	}
	if job.ID != (mssql.UniqueIdentifier{}) && cur.ID != job.ID {
		return false, fmt.Errorf("delete job %q: %w (its id changed)", job.Name, ErrNotOurs)
	}
	id, ok := k.Owns(KindJob, cur.Name, cur.Description)
	if !ok || cur.Category != JobCategory || (runID != "" && id != runID) {
		return false, fmt.Errorf("delete job %q: %w", job.Name, ErrNotOurs)
	}
	if err := c.notLive(ctx, runID, id); err != nil {
		return false, fmt.Errorf("delete job %q: %w", job.Name, err)
	}
	_ = c.StopJob(ctx, cur)
	_, err = c.DB.ExecContext(ctx, "msdb.dbo.sp_delete_job",
		sql.Named("job_id", cur.ID), sql.Named("delete_unused_schedule", 1))
	if err != nil && SQLError(err) != ErrNumJobMissing {
		return false, fmt.Errorf("delete job %q: %w", job.Name, err)
	}
	again, err := c.JobByName(ctx, cur.Name)
	if err != nil {
		return false, fmt.Errorf("delete job %q: read back: %w", job.Name, err)
	}
	if again != nil && again.ID == cur.ID {
		return false, fmt.Errorf("delete job %q: %w", job.Name, ErrStillThere)
	}
	return true, nil
}

// StepResult is the outcome of one job step, from sysjobhistory and sysjobstepslogs.
type StepResult struct {
	StepID    int
	Name      string
	RunStatus int // 0 failed, 1 succeeded, 2 retry, 3 canceled, 4 in progress
	Duration  time.Duration
	Message   string // sysjobhistory.message (may be cut at 4000 characters)
	Log       string // sysjobstepslogs.log, the full step output, when logged
}

// Output returns the most complete output of the step.
func (s StepResult) Output() string {
	if s.Log != "" {
		return s.Log
	}
	return s.Message
}

// JobRun is the outcome of one run of a job.
type JobRun struct {
	Finished  bool
	RunStatus int // job outcome (history step 0)
	Message   string
	Steps     []StepResult
}

// HistoryRow is one row of msdb.dbo.sysjobhistory.
type HistoryRow struct {
	InstanceID  int
	StepID      int
	StepName    string
	RunStatus   int
	RunDate     int // yyyymmdd
	RunTime     int // HHMMSS
	RunDuration int // HHMMSS
	Message     string
}

// JobHistory reads the job's history rows in order.
func (c *Conn) JobHistory(ctx context.Context, job *Job) ([]HistoryRow, error) {
	rows, err := c.DB.QueryContext(ctx, Query(TagJobHistory), sql.Named("job_id", job.ID))
	if err != nil {
		return nil, fmt.Errorf("read history of job %q: %w", job.Name, err)
	}
	defer rows.Close()
	var out []HistoryRow
	for rows.Next() {
		var h HistoryRow
		var msg sql.NullString
		if err := rows.Scan(&h.InstanceID, &h.StepID, &h.StepName, &h.RunStatus, &h.RunDate, &h.RunTime, &h.RunDuration, &msg); err != nil {
			return nil, fmt.Errorf("read history of job %q: %w", job.Name, err)
		}
		h.Message = msg.String
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read history of job %q: %w", job.Name, err)
	}
	return out, nil
}

// StepLogs reads sysjobstepslogs for the job, by step id.
func (c *Conn) StepLogs(ctx context.Context, job *Job) (map[int]string, error) {
	rows, err := c.DB.QueryContext(ctx, Query(TagJobStepLogs), sql.Named("job_id", job.ID))
	if err != nil {
		return nil, fmt.Errorf("read step logs of job %q: %w", job.Name, err)
	}
	defer rows.Close()
	out := map[int]string{}
	for rows.Next() {
		var id int
		var name, log string
		if err := rows.Scan(&id, &name, &log); err != nil {
			return nil, fmt.Errorf("read step logs of job %q: %w", job.Name, err)
		}
		out[id] = log
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read step logs of job %q: %w", job.Name, err)
	}
	return out, nil
}

// DurationFromHHMMSS converts sysjobhistory's run_duration (HHMMSS as an int).
func DurationFromHHMMSS(v int) time.Duration {
	if v < 0 {
		return 0
	}
	h, m, s := v/10000, (v/100)%100, v%100
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(s)*time.Second
}

// PollPolicy controls how WaitJob polls.
type PollPolicy struct {
	First time.Duration // first interval (default 50ms)
	Max   time.Duration // longest interval (default 250ms)
}

// WaitJob polls the job's history until its outcome row (step 0) appears, ctx ends,
// or the deadline passes. progress, if not nil, is called once per step as soon as its
// history row appears. Polling starts sub-second and backs off to at most Max.
func (c *Conn) WaitJob(ctx context.Context, job *Job, deadline time.Time, pol PollPolicy, progress func(StepResult)) (JobRun, error) {
	if pol.First <= 0 {
		pol.First = 50 * time.Millisecond
	}
	if pol.Max <= 0 {
		pol.Max = 250 * time.Millisecond
	}
	interval := pol.First
	seen := map[int]bool{}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return JobRun{}, fmt.Errorf("wait for job %q: %w", job.Name, ctx.Err())
		case <-timer.C:
		}
		var hist []HistoryRow
		err := RetryWithin(ctx, c.Cfg.reconnectWindow(), func() (err error) {
			hist, err = c.JobHistory(ctx, job)
			return err
		})
		if err != nil {
			return JobRun{}, err
		}
		var run JobRun
		for _, h := range hist {
			if h.StepID == 0 {
				run.Finished = true
				run.RunStatus = h.RunStatus
				run.Message = h.Message
				continue
			}
			sr := StepResult{StepID: h.StepID, Name: h.StepName, RunStatus: h.RunStatus, Duration: DurationFromHHMMSS(h.RunDuration), Message: h.Message}
			run.Steps = append(run.Steps, sr)
			if !seen[h.StepID] && progress != nil {
				progress(sr)
			}
			seen[h.StepID] = true
		}
		if run.Finished {
			logs, err := c.StepLogs(ctx, job)
			if err == nil {
				for i := range run.Steps {
					run.Steps[i].Log = logs[run.Steps[i].StepID]
				}
			}
			return run, nil
		}
		if !time.Now().Before(deadline) {
			return run, fmt.Errorf("wait for job %q: %w: no outcome by the deadline", job.Name, context.DeadlineExceeded)
		}
		wait := min(interval, time.Until(deadline))
		timer.Reset(max(wait, time.Millisecond))
		interval = min(pol.Max, interval*3/2)
	}
}
