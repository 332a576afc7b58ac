package sqlsim

import (
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/milink/milink/sqlsim/tds"
)

func guidString(g [16]byte) string { return strings.ToUpper(uuid.UUID(g).String()) }

// requireAgentRights allows sysadmin and members of msdb's SQL Server Agent roles
// (https://learn.microsoft.com/sql/ssms/agent/sql-server-agent-fixed-database-roles);
// others get Msg 229 as SQL Server gives for EXECUTE on msdb's procedures.
func (s *session) requireAgentRights(proc string) *tds.Error {
	in := s.in
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.isSysadminLocked(s.loginName) {
		return nil
	}
	if d := in.dbByNameLocked("msdb"); d != nil {
		for _, r := range []string{"SQLAgentUserRole", "SQLAgentReaderRole", "SQLAgentOperatorRole"} {
			if d.isRoleMemberLocked(r, s.loginName) {
				return in.miAgentXPGrantsLocked(s.loginName)
			}
		}
	}
	return &tds.Error{Number: 229, State: 5, Class: 14, Message: fmt.Sprintf("The EXECUTE permission was denied on the object '%s', database 'msdb', schema 'dbo'.", proc)}
}

// findJobLocked resolves @job_id / @job_name.
func (s *session) findJobLocked(p params) (*job, *tds.Error) {
	a := s.in.agent
	if id, ok := p.guid("job_id"); ok {
		if j := a.jobByIDLocked(id); j != nil {
			return j, nil
		}
		return nil, errSim(14262, "The specified @job_id ('%s') does not exist.", guidString(id))
	}
	if name, ok := p.str("job_name"); ok {
		if j := a.jobByNameLocked(name); j != nil {
			return j, nil
		}
		return nil, errSim(14262, "The specified @job_name ('%s') does not exist.", name)
	}
	return nil, errSim(14294, "Supply either @job_id or @job_name to identify the job.")
}

func spAddJob(s *session, p params, w writer) (int32, *tds.Error) {
	if e := s.requireAgentRights("sp_add_job"); e != nil {
		return 1, e
	}
	name, ok := p.str("job_name")
	if !ok || strings.TrimSpace(name) == "" {
		return 1, errSim(14234, "The specified '@job_name' is invalid.")
	}
	if v, present := p["job_id"]; present && v != nil {
		{
			return 1, errSim(14284, "Cannot specify a job ID for a new job. An ID will be assigned by the procedure.")
		}
	}
	in := s.in
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.agent.jobByNameLocked(name) != nil {
		return 1, errSim(14261, "The specified @job_name ('%s') already exists.", name)
	}
	categoryID := 0
	if cat, ok := p.str("category_name"); ok {
		c := in.agent.categoryLocked(1, cat)
		if c == nil {
			return 1, errSim(14262, "The specified @category_name ('%s') does not exist.", cat)
		}
		categoryID = c.id
	}
	desc, _ := p.str("description")
	owner, ok := p.str("owner_login_name")
	if !ok {
		owner = s.loginName
	} else if l := in.loginByNameLocked(owner); l == nil {
		return 1, errSim(14262, "The specified @owner_login_name ('%s') does not exist.", owner)
	} else {
		owner = l.name
	}
	j := &job{id: newGUID(), name: name, description: desc, enabled: p.int("enabled", 1) == 1, owner: owner, startStep: 1, categoryID: categoryID, created: time.Now()}
	in.agent.jobs = append(in.agent.jobs, j)
	s.setOutput("job_id", j.id)
	return 0, nil
}

var validSubsystems = map[string]bool{"tsql": true, "powershell": true, "cmdexec": true, "ssis": true, "snapshot": true,
	"logreader": true, "distribution": true, "merge": true, "queuereader": true, "analysisquery": true, "analysiscommand": true}

// jobProc wraps a procedure that acts on an existing job: it checks the caller's
// rights, locks the instance and resolves @job_id / @job_name.
func jobProc(name string, f func(s *session, p params, w writer, j *job) (int32, *tds.Error)) procHandler {
	return func(s *session, p params, w writer) (int32, *tds.Error) {
		if e := s.requireAgentRights(name); e != nil {
			return 1, e
		}
		s.in.mu.Lock()
		defer s.in.mu.Unlock()
		j, e := s.findJobLocked(p)
		if e != nil {
			return 1, e
		}
		return f(s, p, w, j)
	}
}

func spAddJobStep(s *session, p params, w writer, j *job) (int32, *tds.Error) {
	stepName, ok := p.str("step_name")
	if !ok || stepName == "" {
		return 1, errSim(14234, "The specified '@step_name' is invalid.")
	}
	for _, st := range j.steps {
		if strings.EqualFold(st.name, stepName) {
			return 1, errSim(14261, "The specified @step_name ('%s') already exists.", stepName)
		}
	}
	id := int(p.int("step_id", int64(len(j.steps)+1)))
	if id < 1 || id > len(j.steps)+1 {
		return 1, errSim(14266, "The specified '@step_id' is invalid (valid values are: 1 through %d).", len(j.steps)+1)
	}
	sub, _ := p.str("subsystem")
	if sub == "" {
		sub = "TSQL"
	}
	if !validSubsystems[strings.ToLower(sub)] {
		return 1, errSim(14234, "The specified '@subsystem' is invalid (valid values are returned by sp_enum_sqlagent_subsystems).")
	}
	cmd, _ := p.str("command")
	db, _ := p.str("database_name")
	st := &jobStep{id: id, uid: newGUID(), name: stepName, subsystem: sub, command: cmd, database: db,
		onSuccess: int(p.int("on_success_action", 1)), onFail: int(p.int("on_fail_action", 2)),
		onSuccessStep: int(p.int("on_success_step_id", 0)), onFailStep: int(p.int("on_fail_step_id", 0)),
		flags: int(p.int("flags", 0))}
	for _, other := range j.steps {
		if other.id >= id {
			other.id++
		}
	}
	j.steps = append(j.steps, st)
	sortSteps(j.steps)
	return 0, nil
}

func sortSteps(steps []*jobStep) {
	for i := 1; i < len(steps); i++ {
		for k := i; k > 0 && steps[k].id < steps[k-1].id; k-- {
			steps[k], steps[k-1] = steps[k-1], steps[k]
		}
	}
}

func spAddJobServer(s *session, p params, w writer, j *job) (int32, *tds.Error) {
	in := s.in
	srv, ok := p.str("server_name")
	if !ok || srv == "" {
		srv = "(local)"
	}
	for _, x := range j.servers {
		if strings.EqualFold(x, srv) {
			return 1, errSim(14269, "Job '%s' is already targeted at server '%s'.", j.name, in.opts.ServerName)
		}
	}
	j.servers = append(j.servers, srv)
	return 0, nil
}

func spUpdateJob(s *session, p params, w writer, j *job) (int32, *tds.Error) {
	if v, ok := p["start_step_id"]; ok && v != nil {
		j.startStep = int(p.int("start_step_id", 1))
	}
	if v, ok := p["enabled"]; ok && v != nil {
		j.enabled = p.int("enabled", 1) == 1
	}
	if d, ok := p.str("description"); ok {
		j.description = d
	}
	return 0, nil
}

func spStartJob(s *session, p params, w writer, j *job) (int32, *tds.Error) {
	in := s.in
	if !in.agentOn {
		return 1, errSim(22022, "SQLServerAgent is not currently running so it cannot be notified of this action.")
	}
	if len(j.servers) == 0 {
		return 1, errSim(14256, "Cannot start job '%s' (ID %s) because it does not have any job server or servers defined. Associate the job with a job server by calling sp_add_jobserver.", j.name, guidString(j.id))
	}
	if j.cancel != nil {
		return 1, errSim(22022, "SQLServerAgent Error: Request to run job %s (from User %s) refused because the job is already running from a request by User %s.", j.name, s.loginName, s.loginName)
	}
	in.agent.startLocked(j, s.loginName)
	w.Info(14243, 1, 0, fmt.Sprintf("Job '%s' started successfully.", j.name))
	return 0, nil
}

func spStopJob(s *session, p params, w writer, j *job) (int32, *tds.Error) {
	if j.cancel == nil {
		return 1, errSim(22022, "SQLServerAgent Error: Request to stop job %s (from User %s) refused because the job is not currently running.", j.name, s.loginName)
	}
	j.cancel()
	w.Info(0, 1, 0, fmt.Sprintf("Job '%s' stopped successfully.", j.name))
	return 0, nil
}

func spDeleteJob(s *session, p params, w writer, j *job) (int32, *tds.Error) {
	in := s.in
	in.agent.deleteJobLocked(j)
	return 0, nil
}

// agentXPs are the Agent's extended procedures a managed-instance login that is only
// in an msdb Agent role must be granted EXECUTE on in master
// (https://learn.microsoft.com/azure/azure-sql/managed-instance/job-automation-managed-instance,
// "SQL Agent fixed database role membership"; FACTS.md).
var agentXPs = []string{"xp_sqlagent_enum_jobs", "xp_sqlagent_is_starting", "xp_sqlagent_notify"}

// miAgentXPGrantsLocked returns Msg 229 on a managed instance when login lacks EXECUTE on
// one of agentXPs; nil elsewhere.
func (in *Instance) miAgentXPGrantsLocked(login string) *tds.Error {
	if !in.pers.MI {
		return nil
	}
	m := in.dbByNameLocked("master")
	user := "guest"
	if u := m.userForLoginLocked(login); u != nil {
		user = u.name
	}
	for _, xp := range agentXPs {
		if !m.grants["EXECUTE|"+xp+"|"+strings.ToLower(user)] {
			return &tds.Error{Number: 229, State: 5, Class: 14, Message: fmt.Sprintf("The EXECUTE permission was denied on the object '%s', database 'mssqlsystemresource', schema 'sys'.", xp)}
		}
	}
	return nil
}

// spAddCategory is msdb.dbo.sp_add_category: @class JOB (default), ALERT or OPERATOR,
// @type LOCAL (default), MULTI-SERVER or NONE, and a @name unique within its class;
// only sysadmin may run it
// (https://learn.microsoft.com/sql/relational-databases/system-stored-procedures/sp-add-category-transact-sql).
// As msdb's own procedure does, a duplicate name raises 14261 and user categories are
// numbered from 100.
func spAddCategory(s *session, p params, w writer) (int32, *tds.Error) {
	in := s.in
	in.mu.Lock()
	defer in.mu.Unlock()
	if !in.isSysadminLocked(s.loginName) {
		return 1, &tds.Error{Number: 229, State: 5, Class: 14, Message: "The EXECUTE permission was denied on the object 'sp_add_category', database 'msdb', schema 'dbo'."}
	}
	classes := map[string]int{"JOB": 1, "ALERT": 2, "OPERATOR": 3}
	types := map[string]int{"LOCAL": 1, "MULTI-SERVER": 2, "NONE": 3}
	cls, _ := p.str("class")
	if cls == "" {
		cls = "JOB"
	}
	typ, _ := p.str("type")
	if typ == "" {
		typ = "LOCAL"
	}
	class, ok := classes[strings.ToUpper(cls)]
	if !ok {
		return 1, errSim(14266, "The specified '@class' is invalid (valid values are: JOB, ALERT, OPERATOR).")
	}
	t, ok := types[strings.ToUpper(typ)]
	if !ok {
		return 1, errSim(14266, "The specified '@type' is invalid (valid values are: LOCAL, MULTI-SERVER, NONE).")
	}
	name, _ := p.str("name")
	if strings.TrimSpace(name) == "" {
		return 1, errSim(14234, "The specified '@name' is invalid.")
	}
	if in.agent.categoryLocked(class, name) != nil {
		return 1, errSim(14261, "The specified @name ('%s') already exists.", name)
	}
	id := 99
	for _, c := range in.agent.categories {
		id = max(id, c.id)
	}
	in.agent.categories = append(in.agent.categories, jobCategory{id: id + 1, class: class, typ: t, name: name})
	return 0, nil
}
