package sqlsim

import (
	"strconv"
	"strings"
	"time"

	"github.com/milink/milink/sqlops"
	"github.com/milink/milink/sqlsim/tds"
)

type queryHandler func(s *session, p params) ([]result, *tds.Error)

func col(name string, t tds.ColType) tds.Column {
	return tds.Column{Name: name, Type: t, Nullable: true}
}

func one(cols []tds.Column, rows ...[]any) []result {
	return []result{{cols: cols, rows: rows}}
}

// queryHandlers answers milink's tagged queries from the instance model.
var queryHandlers = map[string]queryHandler{
	sqlops.TagServerInfo: func(s *session, _ params) ([]result, *tds.Error) {
		o := s.in.opts
		engine, hadr := 3, 0
		if o.Role == RoleMI {
			engine = 8
		}
		if o.HadrEnabled {
			hadr = 1
		}
		return one([]tds.Column{col("product_version", tds.NVarChar), col("edition", tds.NVarChar), col("engine_edition", tds.Int),
			col("is_hadr_enabled", tds.Int), col("server_name", tds.NVarChar), col("version_text", tds.NVarChar),
			col("host_platform", tds.NVarChar), col("host_distribution", tds.NVarChar)},
			[]any{o.ProductVersion, o.Edition, engine, hadr, o.ServerName, s.in.versionText(), o.Platform, o.Distribution}), nil
	},
	sqlops.TagMasterKey: func(s *session, _ params) ([]result, *tds.Error) {
		s.in.mu.Lock()
		n := 0
		if s.in.masterKey {
			n = 1
		}
		s.in.mu.Unlock()
		return one([]tds.Column{col("master_keys", tds.Int)}, []any{n}), nil
	},
	sqlops.TagTraceFlags: func(s *session, _ params) ([]result, *tds.Error) {
		var rows [][]any
		for _, f := range s.in.opts.TraceFlags {
			rows = append(rows, []any{f, 1, 1, 0})
		}
		return one([]tds.Column{col("TraceFlag", tds.Int), col("Status", tds.Int), col("Global", tds.Int), col("Session", tds.Int)}, rows...), nil
	},
	sqlops.TagAgent: func(s *session, _ params) ([]result, *tds.Error) {
		s.in.mu.Lock()
		on := s.in.agentOn
		s.in.mu.Unlock()
		status := any("Stopped")
		if on {
			status = "Running"
		}
		if s.in.opts.Role == RoleMI {
			status = nil // not exposed on a managed instance
		}
		xps := 0
		if s.in.opts.AgentXPs && on {
			xps = 1
		}
		return one([]tds.Column{col("agent_status", tds.NVarChar), col("agent_xps", tds.Int)}, []any{status, xps}), nil
	},
	sqlops.TagDatabases: func(s *session, _ params) ([]result, *tds.Error) {
		var rows [][]any
		for _, d := range s.in.opts.Databases {
			var last any
			if d.LastFullBackup != nil {
				last = *d.LastFullBackup
			}
			rm := d.RecoveryModel
			if rm == "" {
				rm = "FULL"
			}
			rows = append(rows, []any{d.Name, rm, "ONLINE", last, max(d.LogFiles, 1), d.FilestreamFiles, d.EncryptionState})
		}
		return one([]tds.Column{col("name", tds.NVarChar), col("recovery_model_desc", tds.NVarChar), col("state_desc", tds.NVarChar),
			col("last_full_backup", tds.DateTime), col("log_files", tds.Int), col("filestream_files", tds.Int), col("encryption_state", tds.Int)}, rows...), nil
	},
	sqlops.TagPermissions: func(s *session, _ params) ([]result, *tds.Error) {
		sa, op := 0, 0
		if s.login.Sysadmin {
			sa = 1
		}
		if s.login.AgentOperator {
			op = 1
		}
		return one([]tds.Column{col("is_sysadmin", tds.Int), col("agent_operator", tds.Int), col("login_name", tds.NVarChar)}, []any{sa, op, s.login.Name}), nil
	},
	sqlops.TagEndpoints: func(s *session, _ params) ([]result, *tds.Error) {
		in := s.in
		in.mu.Lock()
		defer in.mu.Unlock()
		var rows [][]any
		for _, e := range in.endpoints {
			if e.typ != "DATABASE_MIRRORING" {
				continue
			}
			var cn, cs any
			if c := in.certByIDLocked(e.certID); c != nil {
				cn, cs = c.name, c.subject
			}
			rows = append(rows, []any{e.id, e.name, e.state, e.port, e.role, e.auth, e.encryption, cn, cs})
		}
		return one([]tds.Column{col("endpoint_id", tds.Int), col("name", tds.NVarChar), col("state_desc", tds.NVarChar), col("port", tds.Int),
			col("role_desc", tds.NVarChar), col("connection_auth_desc", tds.NVarChar), col("encryption_algorithm_desc", tds.NVarChar),
			col("certificate_name", tds.NVarChar), col("certificate_subject", tds.NVarChar)}, rows...), nil
	},
	sqlops.TagAddIssuer: func(s *session, _ params) ([]result, *tds.Error) {
		n := 0
		if s.in.opts.AddIssuerProc {
			n = 1
		}
		return one([]tds.Column{col("found", tds.Int)}, []any{n}), nil
	},
	sqlops.TagLocalAddress: func(s *session, _ params) ([]result, *tds.Error) {
		return one([]tds.Column{col("local_net_address", tds.NVarChar)}, []any{s.in.opts.IP}), nil
	},
	sqlops.TagMIParams: func(s *session, _ params) ([]result, *tds.Error) {
		o := s.in.opts
		cols := []tds.Column{col("name", tds.NVarChar), col("value", tds.NVarChar)}
		if o.Role != RoleMI {
			// sys.dm_hadr_fabric_* exist only on Azure SQL.
			return nil, errSim(208, "Invalid object name 'sys.dm_hadr_fabric_config_parameters'.")
		}
		return one(cols,
			[]any{"DnsRecordName", o.FQDN},
			[]any{"HadrPort", itoa(o.HadrPort)},
			[]any{"Node", o.NodeName + "." + o.ClusterName}), nil
	},
	sqlops.TagJobByName: func(s *session, p params) ([]result, *tds.Error) {
		name, _ := p.str("name")
		return s.jobRows(func(j *job) bool { return strings.EqualFold(j.name, name) }, true), nil
	},
	sqlops.TagJobsMarked: func(s *session, p params) ([]result, *tds.Error) {
		pat, _ := p.str("pattern")
		return s.jobRows(func(j *job) bool { return like(j.description, pat) }, false), nil
	},
	sqlops.TagListJobs: func(s *session, _ params) ([]result, *tds.Error) {
		return s.jobRows(func(*job) bool { return true }, false), nil
	},
	sqlops.TagJobActivity: func(s *session, p params) ([]result, *tds.Error) {
		id, _ := p.guid("job_id")
		in := s.in
		in.mu.Lock()
		defer in.mu.Unlock()
		var best *activityRow
		for _, a := range in.agent.activity {
			if a.jobID == id && a.sessionID == in.agent.sessionID && (best == nil || !a.requested.Before(best.requested)) {
				best = a
			}
		}
		cols := []tds.Column{col("start_execution_date", tds.DateTime), col("stop_execution_date", tds.DateTime)}
		if best == nil {
			return one(cols), nil
		}
		return one(cols, []any{timePtr(best.start), timePtr(best.stop)}), nil
	},
	sqlops.TagJobHistory: func(s *session, p params) ([]result, *tds.Error) {
		id, _ := p.guid("job_id")
		in := s.in
		in.mu.Lock()
		defer in.mu.Unlock()
		var rows [][]any
		for _, h := range in.agent.history {
			if h.jobID == id {
				rows = append(rows, []any{h.instanceID, h.stepID, h.stepName, h.runStatus, h.runDate, h.runTime, h.runDuration, h.message})
			}
		}
		return one([]tds.Column{col("instance_id", tds.Int), col("step_id", tds.Int), col("step_name", tds.NVarChar), col("run_status", tds.Int),
			col("run_date", tds.Int), col("run_time", tds.Int), col("run_duration", tds.Int), col("message", tds.NVarChar)}, rows...), nil
	},
	sqlops.TagJobStepLogs: func(s *session, p params) ([]result, *tds.Error) {
		id, _ := p.guid("job_id")
		in := s.in
		in.mu.Lock()
		defer in.mu.Unlock()
		var rows [][]any
		if j := in.agent.jobByIDLocked(id); j != nil {
			for _, st := range j.steps {
				log := ""
				if l := in.agent.logs[st.uid]; l != nil {
					log = l.log
				}
				rows = append(rows, []any{st.id, st.name, log})
			}
		}
		return one([]tds.Column{col("step_id", tds.Int), col("step_name", tds.NVarChar), col("log", tds.NVarChar)}, rows...), nil
	},
	sqlops.TagCertByName: func(s *session, p params) ([]result, *tds.Error) {
		name, _ := p.str("name")
		return s.certRows(func(c *certificate) bool { return strings.EqualFold(c.name, name) }), nil
	},
	sqlops.TagCertsMarked: func(s *session, p params) ([]result, *tds.Error) {
		pat, _ := p.str("pattern")
		return s.certRows(func(c *certificate) bool { return like(c.subject, pat) }), nil
	},
	sqlops.TagListCerts: func(s *session, _ params) ([]result, *tds.Error) {
		return s.certRows(func(*certificate) bool { return true }), nil
	},
	sqlops.TagEndpointByName: func(s *session, p params) ([]result, *tds.Error) {
		name, _ := p.str("name")
		return s.endpointRows(func(e *endpoint, _ *certificate) bool { return strings.EqualFold(e.name, name) }, true), nil
	},
	sqlops.TagEndpointsMarked: func(s *session, p params) ([]result, *tds.Error) {
		pat, _ := p.str("pattern")
		return s.endpointRows(func(e *endpoint, c *certificate) bool {
			return e.typ == "DATABASE_MIRRORING" && c != nil && like(c.subject, pat)
		}, true), nil
	},
	sqlops.TagListEndpoints: func(s *session, _ params) ([]result, *tds.Error) {
		return s.endpointRows(func(*endpoint, *certificate) bool { return true }, false), nil
	},
}

func itoa(n int) string { return strconv.Itoa(n) }

func timePtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return *t
}

func (s *session) jobRows(match func(*job) bool, withEnabled bool) []result {
	in := s.in
	in.mu.Lock()
	defer in.mu.Unlock()
	cols := []tds.Column{col("job_id", tds.UniqueIdentifier), col("name", tds.NVarChar), col("description", tds.NVarChar)}
	if withEnabled {
		cols = append(cols, col("enabled", tds.Int))
	}
	var rows [][]any
	for _, j := range in.agent.jobs {
		if !match(j) {
			continue
		}
		r := []any{j.id, j.name, j.description}
		if withEnabled {
			en := 0
			if j.enabled {
				en = 1
			}
			r = append(r, en)
		}
		rows = append(rows, r)
	}
	return one(cols, rows...)
}

func (s *session) certRows(match func(*certificate) bool) []result {
	in := s.in
	in.mu.Lock()
	defer in.mu.Unlock()
	var rows [][]any
	for _, c := range in.certs {
		if match(c) {
			rows = append(rows, []any{c.id, c.name, c.subject})
		}
	}
	return one([]tds.Column{col("certificate_id", tds.Int), col("name", tds.NVarChar), col("subject", tds.NVarChar)}, rows...)
}

func (s *session) endpointRows(match func(*endpoint, *certificate) bool, withCert bool) []result {
	in := s.in
	in.mu.Lock()
	defer in.mu.Unlock()
	cols := []tds.Column{col("endpoint_id", tds.Int), col("name", tds.NVarChar), col("type_desc", tds.NVarChar), col("state_desc", tds.NVarChar), col("port", tds.Int)}
	if withCert {
		cols = append(cols, col("certificate_name", tds.NVarChar), col("certificate_subject", tds.NVarChar))
	}
	var rows [][]any
	for _, e := range in.endpoints {
		c := in.certByIDLocked(e.certID)
		if !match(e, c) {
			continue
		}
		r := []any{e.id, e.name, e.typ, e.state, e.port}
		if withCert {
			cn, cs := "", ""
			if c != nil {
				cn, cs = c.name, c.subject
			}
			r = append(r, cn, cs)
		}
		rows = append(rows, r)
	}
	return one(cols, rows...)
}
