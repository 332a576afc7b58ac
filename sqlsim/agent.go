package sqlsim

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/milink/milink/sqlsim/catalog"
)

type jobStep struct {
	id            int
	uid           [16]byte
	name          string
	subsystem     string
	command       string
	database      string
	onSuccess     int
	onFail        int
	onSuccessStep int
	onFailStep    int
	flags         int
}

type job struct {
	id          [16]byte
	name        string
	description string
	enabled     bool
	owner       string
	startStep   int
	steps       []*jobStep
	servers     []string
	categoryID  int // msdb.dbo.syscategories category_id; 0 = [Uncategorized (Local)]
	created     time.Time
	cancel      context.CancelFunc // non-nil while running
	abandoned   bool               // the run died with its Agent (restart): no outcome is written
}

type historyRow struct {
	instanceID  int
	jobID       [16]byte
	stepID      int
	stepName    string
	runStatus   int
	runDate     int
	runTime     int
	runDuration int
	message     string
}

type activityRow struct {
	sessionID int
	jobID     [16]byte
	requested time.Time
	start     *time.Time
	stop      *time.Time
	lastStep  int
}

type stepLog struct {
	log      string
	created  time.Time
	modified time.Time
}

// agent is the simulated SQL Server Agent with msdb's job tables. Its state is guarded
// by the instance's mutex.
type agent struct {
	in         *Instance
	categories []jobCategory // msdb.dbo.syscategories: the built-in ones, then sp_add_category's
	jobs       []*job
	history    []historyRow
	activity   []*activityRow
	logs       map[[16]byte]*stepLog
	sessionID  int
	sessions   []time.Time
	nextInst   int
	running    sync.WaitGroup
}

func newAgent(in *Instance) *agent {
	a := &agent{in: in, logs: map[[16]byte]*stepLog{}, categories: append([]jobCategory(nil), builtinJobCategories...)}
	a.newSessionLocked()
	return a
}

func (a *agent) newSessionLocked() {
	a.sessionID++
	a.sessions = append(a.sessions, time.Now())
}

func (a *agent) wait() { a.running.Wait() }

// restartLocked simulates an Agent (or SQL Server) restart: running jobs die without an
// outcome and a new Agent session starts, so their old activity rows no longer count.
func (a *agent) restartLocked() {
	for _, j := range a.jobs {
		if j.cancel != nil {
			j.abandoned = true
			j.cancel()
		}
	}
	a.newSessionLocked()
}

func (a *agent) jobByNameLocked(name string) *job {
	for _, j := range a.jobs {
		if strings.EqualFold(j.name, name) {
			return j
		}
	}
	return nil
}

func (a *agent) jobByIDLocked(id [16]byte) *job {
	for _, j := range a.jobs {
		if j.id == id {
			return j
		}
	}
	return nil
}

func (a *agent) deleteJobLocked(j *job) {
	if j.cancel != nil {
		j.cancel()
	}
	a.jobs = slices.DeleteFunc(a.jobs, func(x *job) bool { return x == j })
	a.history = slices.DeleteFunc(a.history, func(r historyRow) bool { return r.jobID == j.id })
	a.activity = slices.DeleteFunc(a.activity, func(r *activityRow) bool { return r.jobID == j.id })
	for _, s := range j.steps {
		delete(a.logs, s.uid)
	}
}

// startLocked starts j asynchronously, as sp_start_job does.
func (a *agent) startLocked(j *job, user string) {
	ctx, cancel := context.WithCancel(a.in.ctx)
	j.cancel = cancel
	// sysjobactivity has one row per Agent session and job (its key): a new run in
	// the same session resets that row (msdb's sp_sqlagent_log_jobhistory/sp_start_job).
	var act *activityRow
	for _, r := range a.activity {
		if r.sessionID == a.sessionID && r.jobID == j.id {
			act = r
		}
	}
	if act == nil {
		act = &activityRow{sessionID: a.sessionID, jobID: j.id}
		a.activity = append(a.activity, act)
	}
	act.requested, act.start, act.stop, act.lastStep = time.Now(), nil, nil, 0
	a.running.Add(1)
	go func() {
		defer a.running.Done()
		defer cancel()
		a.run(ctx, j, act, user)
	}()
}

func (a *agent) addHistoryLocked(r historyRow) {
	a.nextInst++
	r.instanceID = a.nextInst
	a.history = append(a.history, r)
}

func hhmmss(d time.Duration) int {
	s := int(d.Round(time.Second) / time.Second)
	return (s/3600)*10000 + ((s/60)%60)*100 + s%60
}

func dateInt(t time.Time) int { return t.Year()*10000 + int(t.Month())*100 + t.Day() }
func timeInt(t time.Time) int { return t.Hour()*10000 + t.Minute()*100 + t.Second() }

func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func (a *agent) run(ctx context.Context, j *job, act *activityRow, user string) {
	in := a.in
	jobStart := time.Now()
	if !sleepCtx(ctx, in.opts.JobStartLatency) {
		a.finishCanceled(j, act, user, jobStart, 0, "")
		return
	}
	in.mu.Lock()
	now := time.Now()
	act.start = &now
	steps := append([]*jobStep(nil), j.steps...)
	startStep := j.startStep
	in.mu.Unlock()

	byID := map[int]*jobStep{}
	for _, s := range steps {
		byID[s.id] = s
	}
	cur := byID[startStep]
	succeeded := true
	lastStep, lastName := 0, ""
	for cur != nil {
		lastStep, lastName = cur.id, cur.name
		in.mu.Lock()
		act.lastStep = cur.id
		in.mu.Unlock()
		stepStart := time.Now()
		ok, output, canceled := a.runStep(ctx, cur, j.owner)
		if canceled {
			a.finishCanceled(j, act, user, jobStart, lastStep, lastName)
			return
		}
		msg := a.stepMessage(cur, ok, output)
		in.mu.Lock()
		status := 0
		if ok {
			status = 1
		}
		a.addHistoryLocked(historyRow{jobID: j.id, stepID: cur.id, stepName: cur.name, runStatus: status,
			runDate: dateInt(stepStart), runTime: timeInt(stepStart), runDuration: hhmmss(time.Since(stepStart)), message: truncate(msg, 4000)})
		if cur.flags&(8|16) != 0 {
			l := a.logs[cur.uid]
			if l == nil || cur.flags&16 == 0 {
				l = &stepLog{created: time.Now()}
				a.logs[cur.uid] = l
			}
			l.log += output
			l.modified = time.Now()
		}
		in.mu.Unlock()
		action, target := cur.onSuccess, cur.onSuccessStep
		if !ok {
			action, target = cur.onFail, cur.onFailStep
		}
		switch action {
		case 1:
			succeeded, cur = true, nil
		case 2:
			succeeded, cur = false, nil
		case 3:
			next := byID[cur.id+1]
			if next == nil {
				succeeded = ok
			}
			cur = next
		case 4:
			cur = byID[target]
		default:
			succeeded, cur = ok, nil
		}
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	status, verb := 1, "succeeded"
	if !succeeded {
		status, verb = 0, "failed"
	}
	msg := fmt.Sprintf("The job %s.  The Job was invoked by User %s.  The last step to run was step %d (%s).", verb, user, lastStep, lastName)
	a.addHistoryLocked(historyRow{jobID: j.id, stepID: 0, stepName: "(Job outcome)", runStatus: status,
		runDate: dateInt(jobStart), runTime: timeInt(jobStart), runDuration: hhmmss(time.Since(jobStart)), message: msg})
	stop := time.Now()
	act.stop = &stop
	j.cancel = nil
}

func (a *agent) finishCanceled(j *job, act *activityRow, user string, jobStart time.Time, lastStep int, lastName string) {
	in := a.in
	if in.ctx.Err() != nil {
		return // the instance is shutting down: the job simply never finishes
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if j.abandoned {
		j.abandoned, j.cancel = false, nil
		return // Agent restarted under the job: like a crash, no outcome is recorded
	}
	msg := fmt.Sprintf("The job was stopped prior to completion by User %s.  The Job was invoked by User %s.  The last step to run was step %d (%s).", user, user, lastStep, lastName)
	a.addHistoryLocked(historyRow{jobID: j.id, stepID: 0, stepName: "(Job outcome)", runStatus: 3,
		runDate: dateInt(jobStart), runTime: timeInt(jobStart), runDuration: hhmmss(time.Since(jobStart)), message: msg})
	stop := time.Now()
	act.stop = &stop
	j.cancel = nil
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n])
}

func (a *agent) serviceAccount() string {
	if a.in.opts.Platform == "Linux" {
		return "mssql"
	}
	return `NT Service\SQLSERVERAGENT`
}

// stepMessage builds the sysjobhistory message as SQL Server Agent does for the step.
func (a *agent) stepMessage(s *jobStep, ok bool, output string) string {
	joined := strings.Join(strings.Fields(strings.ReplaceAll(output, "\r\n", "\n")), " ")
	switch {
	case strings.EqualFold(s.subsystem, "PowerShell") && ok:
		return fmt.Sprintf("Executed as user: %s. %s  Process Exit Code 0.  The step succeeded.", a.serviceAccount(), joined)
	case strings.EqualFold(s.subsystem, "PowerShell"):
		return fmt.Sprintf("Executed as user: %s. %s  Process Exit Code -1.  The step failed.", a.serviceAccount(), joined)
	case ok:
		return fmt.Sprintf("Executed as user: %s. %s  The step succeeded.", a.serviceAccount(), joined)
	default:
		return fmt.Sprintf("Executed as user: %s. %s  The step failed.", a.serviceAccount(), joined)
	}
}

// runStep runs one step; it returns whether the step succeeded, its output, and whether
// it was canceled.
func (a *agent) runStep(ctx context.Context, s *jobStep, owner string) (bool, string, bool) {
	in := a.in
	switch strings.ToLower(s.subsystem) {
	case "tsql":
		return a.runTSQLStep(ctx, s, owner)
	case "powershell":
	default:
		return false, fmt.Sprintf("Subsystem %s is not supported by the simulator.", s.subsystem), false
	}
	if _, ok := catalog.SubsystemOn(in.pers, s.subsystem); !ok {
		// The personality's Agent has no such subsystem (PowerShell on Linux: "Executing
		// PowerShell scripts by the SQL Server Agent on SQL Server on Linux is not
		// currently supported", the link preparation page). The text follows Agent's
		// "Unable to start execution of step" messages.
		return false, fmt.Sprintf("Unable to start execution of step %d (reason: The %s subsystem is not supported on SQL Server on Linux).", s.id, s.subsystem), false
	}
	in.mu.Lock()
	ownerIsSysadmin := in.isSysadminLocked(owner)
	in.mu.Unlock()
	if !ownerIsSysadmin {
		// Steps other than T-SQL run as the Agent service account only for sysadmin
		// owners; others need a proxy, and the simulator has none
		// (https://learn.microsoft.com/ssms/agent/configure-a-user-to-create-and-manage-sql-server-agent-jobs;
		// the text is SQL Server Agent's message for this case).
		return false, "Non-SysAdmins have been denied permission to run PowerShell job steps without a proxy account.", false
	}
	return a.runPowerShell(ctx, s)
}

// runTSQLStep runs a T-SQL job step through the evaluator, as the job owner in the
// step's database; an error fails the step with Agent's "[SQLSTATE …] (Error n)" text.
func (a *agent) runTSQLStep(ctx context.Context, s *jobStep, owner string) (bool, string, bool) {
	in := a.in
	db := s.database
	if db == "" {
		db = "master"
	}
	rec := &recorder{}
	sess := &session{in: in, loginName: owner, db: db, spid: 0, traceFlags: map[int]bool{}}
	sess.runBatch(ctx, s.command, rec, nil)
	sess.Close()
	if ctx.Err() != nil {
		return false, "", true
	}
	var b strings.Builder
	for _, m := range rec.infos {
		fmt.Fprintf(&b, "%s [SQLSTATE 01000] ", m)
	}
	if len(rec.errs) > 0 {
		for _, e := range rec.errs {
			fmt.Fprintf(&b, "%s [SQLSTATE 42000] (Error %d) ", e.Message, e.Number)
		}
		return false, strings.TrimSpace(b.String()), false
	}
	return true, strings.TrimSpace(b.String()), false
}
