package sqlsim

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/milink/milink/sqlsim/tds"
)

type procHandler func(s *session, p params, w *tds.ResponseWriter) (int32, *tds.Error)

// procHandlers implements msdb's Agent procedures with their real error numbers.
var procHandlers = map[string]procHandler{
	"sp_add_job":       spAddJob,
	"sp_add_jobstep":   jobProc("sp_add_jobstep", spAddJobStep),
	"sp_add_jobserver": jobProc("sp_add_jobserver", spAddJobServer),
	"sp_update_job":    jobProc("sp_update_job", spUpdateJob),
	"sp_start_job":     jobProc("sp_start_job", spStartJob),
	"sp_stop_job":      jobProc("sp_stop_job", spStopJob),
	"sp_delete_job":    jobProc("sp_delete_job", spDeleteJob),
}

func guidString(g [16]byte) string { return strings.ToUpper(uuid.UUID(g).String()) }

func (s *session) requireAgentRights(proc string) *tds.Error {
	if s.login.Sysadmin || s.login.AgentOperator {
		return nil
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

func spAddJob(s *session, p params, w *tds.ResponseWriter) (int32, *tds.Error) {
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
	desc, _ := p.str("description")
	owner, ok := p.str("owner_login_name")
	if !ok {
		owner = s.login.Name
	}
	j := &job{id: newGUID(), name: name, description: desc, enabled: p.int("enabled", 1) == 1, owner: owner, startStep: 1, created: time.Now()}
	in.agent.jobs = append(in.agent.jobs, j)
	return 0, nil
}

var validSubsystems = map[string]bool{"tsql": true, "powershell": true, "cmdexec": true, "ssis": true, "snapshot": true,
	"logreader": true, "distribution": true, "merge": true, "queuereader": true, "analysisquery": true, "analysiscommand": true}

// jobProc wraps a procedure that acts on an existing job: it checks the caller's
// rights, locks the instance and resolves @job_id / @job_name.
func jobProc(name string, f func(s *session, p params, w *tds.ResponseWriter, j *job) (int32, *tds.Error)) procHandler {
	return func(s *session, p params, w *tds.ResponseWriter) (int32, *tds.Error) {
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

func spAddJobStep(s *session, p params, w *tds.ResponseWriter, j *job) (int32, *tds.Error) {
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

func spAddJobServer(s *session, p params, w *tds.ResponseWriter, j *job) (int32, *tds.Error) {
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

func spUpdateJob(s *session, p params, w *tds.ResponseWriter, j *job) (int32, *tds.Error) {
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

func spStartJob(s *session, p params, w *tds.ResponseWriter, j *job) (int32, *tds.Error) {
	in := s.in
	if !in.agentOn {
		return 1, errSim(22022, "SQLServerAgent is not currently running so it cannot be notified of this action.")
	}
	if len(j.servers) == 0 {
		return 1, errSim(14256, "Cannot start job '%s' (ID %s) because it does not have any job server or servers defined. Associate the job with a job server by calling sp_add_jobserver.", j.name, guidString(j.id))
	}
	if j.cancel != nil {
		return 1, errSim(22022, "SQLServerAgent Error: Request to run job %s (from User %s) refused because the job is already running from a request by User %s.", j.name, s.login.Name, s.login.Name)
	}
	in.agent.startLocked(j, s.login.Name)
	w.Info(14243, 1, 0, fmt.Sprintf("Job '%s' started successfully.", j.name))
	return 0, nil
}

func spStopJob(s *session, p params, w *tds.ResponseWriter, j *job) (int32, *tds.Error) {
	if j.cancel == nil {
		return 1, errSim(22022, "SQLServerAgent Error: Request to stop job %s (from User %s) refused because the job is not currently running.", j.name, s.login.Name)
	}
	j.cancel()
	w.Info(0, 1, 0, fmt.Sprintf("Job '%s' stopped successfully.", j.name))
	return 0, nil
}

func spDeleteJob(s *session, p params, w *tds.ResponseWriter, j *job) (int32, *tds.Error) {
	in := s.in
	in.agent.deleteJobLocked(j)
	return 0, nil
}

// execDDL runs a parsed DDL statement against the model.
func (s *session) execDDL(d ddl) *tds.Error {
	if !s.login.Sysadmin {
		return &tds.Error{Number: 15247, State: 1, Class: 16, Message: "User does not have permission to perform this action."}
	}
	in := s.in
	in.mu.Lock()
	defer in.mu.Unlock()
	switch d.verb + " " + d.object {
	case "CREATE MASTER KEY":
		if in.masterKey {
			return errSim(15578, "There is already a master key in the database. Please drop it before performing this statement.")
		}
		in.masterKey = true
	case "CREATE CERTIFICATE":
		if in.certByNameLocked(d.name) != nil {
			return errSim(15232, "A certificate with name '%s' already exists or this certificate already has been added to the database.", d.name)
		}
		if d.password == "" && !in.masterKey {
			return errSim(15581, "Please create a master key in the database or open the master key in the session before performing this operation.")
		}
		if d.expiry != "" {
			if _, err := parseSQLDate(d.expiry); err != nil {
				return errSim(241, "Conversion failed when converting date and/or time from character string.")
			}
		}
		in.certs = append(in.certs, &certificate{id: in.newID(), name: d.name, subject: d.subject})
	case "DROP CERTIFICATE":
		c := in.certByNameLocked(d.name)
		if c == nil {
			return errSim(15151, "Cannot drop the certificate '%s', because it does not exist or you do not have permission.", d.name)
		}
		for _, e := range in.endpoints {
			if e.certID == c.id {
				return errSim(15352, "The certificate cannot be dropped because one or more entities are either signed or encrypted using it. To continue, correct the problem and retry.")
			}
		}
		in.certs = slices.DeleteFunc(in.certs, func(x *certificate) bool { return x == c })
	case "CREATE ENDPOINT":
		return in.createEndpointLocked(d)
	case "DROP ENDPOINT":
		e := in.endpointByNameLocked(d.name)
		if e == nil {
			return errSim(15151, "Cannot drop the endpoint '%s', because it does not exist or you do not have permission.", d.name)
		}
		if e.listener != nil {
			e.listener.Close()
		}
		in.endpoints = slices.DeleteFunc(in.endpoints, func(x *endpoint) bool { return x == e })
	default:
		return errSim(50000, "sqlsim: %s %s is not supported by the simulator", d.verb, d.object)
	}
	return nil
}

func parseSQLDate(s string) (time.Time, error) {
	for _, layout := range []string{"20060102", "2006-01-02", "1/2/2006", "01/02/2006"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errors.New("bad date")
}

func (in *Instance) createEndpointLocked(d ddl) *tds.Error {
	if in.endpointByNameLocked(d.name) != nil {
		return errSim(7856, "Endpoint '%s' already exists.", d.name)
	}
	if d.protocolFor == "DATABASE_MIRRORING" {
		for _, e := range in.endpoints {
			if e.typ == "DATABASE_MIRRORING" {
				return errSim(7862, "An endpoint of the requested type already exists.  Only one endpoint of this type is supported.  Use ALTER ENDPOINT or DROP the existing endpoint and execute the CREATE ENDPOINT statement.")
			}
		}
	}
	e := &endpoint{id: in.newID(), name: d.name, typ: d.protocolFor, state: d.state, port: d.port,
		auth: d.auth, encryption: d.algorithm, role: strings.ToUpper(d.role)}
	if d.encryption == "DISABLED" {
		e.encryption = "NONE"
	}
	if e.role == "" {
		e.role = "ALL"
	}
	if d.auth == "CERTIFICATE" {
		c := in.certByNameLocked(d.certName)
		if c == nil {
			return errSim(15151, "Cannot find the certificate '%s', because it does not exist or you do not have permission.", d.certName)
		}
		e.certID = c.id
	}
	if e.state == "STARTED" {
		l, err := in.net.Listen(in.opts.IP, d.port)
		if err != nil {
			return errSim(7890, "An error occurred while attempting to register the endpoint '%s'. One or more of the ports specified in the CREATE ENDPOINT statement may be bound to another process. Attempt the statement again with a different port or use netstat to find the application currently using the port and resolve the conflict.", d.name)
		}
		e.listener = l
		go acceptAndClose(l)
	}
	in.endpoints = append(in.endpoints, e)
	return nil
}
